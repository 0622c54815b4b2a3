"""The admin site for master data, governed by the platform's own scopes.

Django's admin is used for what it is good at (lists, search, forms for
master data), but access follows the directory's scopes rather than
Django's model permissions: a system administrator sees and edits the
agencies they administer, nobody else gets in, and every save goes
through the owning app's service so it is checked and audited like any
other write.
"""

from django.conf import settings
from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from yizhan.core.errors import ApplicationError
from yizhan.directory.authz import scope_of
from yizhan.directory.pages import safe_next
from yizhan.directory.roles import Role


def administers(user) -> bool:
    """Whether ``user`` is a system administrator: of an agency, or of a
    division as a whole (a division grant, as the calendar's administrators
    hold: workdays.permissions).  A district's grant may come before the
    district has any agency; its holder is the one who enters them, and
    the holidays, here."""
    scope = scope_of(user)
    return scope.has_role(Role.SYSADMIN) or scope.has_any_division(Role.SYSADMIN)


class YizhanAdminSite(admin.AdminSite):
    site_header = _("一站 主数据管理")
    site_title = _("一站 主数据管理")
    index_title = _("主数据")

    def has_permission(self, request):
        user = request.user
        return bool(user.is_active and administers(user))

    def login(self, request, extra_context=None):
        """Signing in is the platform's own page, never the admin's form.

        Django's admin form checks the password alone: it would skip the
        sign-in throttle, the record of refused tries and the second factor
        (accounts.services.user_sign_in), and its session then opens every
        page of the platform.  Whoever is signed in but administers nothing
        is refused here, not sent to sign in again.
        """
        next_url = safe_next(request, reverse("admin:index", current_app=self.name))
        if request.user.is_authenticated:
            if self.has_permission(request):
                return redirect(next_url)
            raise PermissionDenied
        return redirect_to_login(next_url, settings.LOGIN_URL)


class ScopedAdmin(admin.ModelAdmin):
    """Read-only unless a subclass routes a write through a service.

    ``agency_field`` names the lookup from the model to its agency id (it
    may run through a relation with many rows, such as an applicant's
    cases); the list is limited to agencies where the user is a system
    administrator.  A model that belongs to no agency lists nothing for
    them unless ``unscoped`` says it is the city's shared reference data
    (divisions, the calendar), or the admin narrows ``get_queryset`` itself:
    forgetting to scope an admin must hide rows, not show every agency's.
    """

    agency_field: str | None = None
    unscoped = False

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        ids = scope_of(request.user).agencies(Role.SYSADMIN)
        if ids is None or self.unscoped:
            return qs
        if self.agency_field is None:
            return qs.none()
        # A subquery, so a lookup through many rows lists each object once.
        return qs.filter(pk__in=qs.model.objects.filter(
            **{f"{self.agency_field}__in": ids}).values("pk"))

    def has_module_permission(self, request):
        return administers(request.user)

    def has_view_permission(self, request, obj=None):
        return administers(request.user)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ServiceAdmin(ScopedAdmin):
    """An admin whose add/change forms write through a service.

    ``write(request, data, obj)`` calls the owning app's service with the
    cleaned form data (``obj`` is None when adding) and returns the saved
    object.  It runs as the last step of form validation, inside the admin
    view's transaction, so an ``ApplicationError`` (refusal, bad input)
    becomes a form error shown in the user's language and nothing is
    written; Django's own ``save()`` is never used.
    """

    def write(self, request, data, obj):
        raise NotImplementedError

    def get_form(self, request, obj=None, change=False, **kwargs):
        base = super().get_form(request, obj, change=change, **kwargs)
        admin_ = self

        class ServiceForm(base):
            def _post_clean(self):
                # After Django's own model validation, so a write happens
                # only when the whole form is otherwise valid.
                super()._post_clean()
                if self.errors:
                    return
                try:
                    self._written = admin_.write(request, self.cleaned_data, obj)
                except ApplicationError as exc:
                    self.add_error(None, exc.render())

        return ServiceForm

    def save_form(self, request, form, change):
        return form._written

    def save_model(self, request, obj, form, change):
        pass  # written by the service in the form's clean()

    def save_related(self, request, form, formsets, change):
        pass
