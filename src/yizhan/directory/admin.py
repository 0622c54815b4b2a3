"""Admin of master data.

Divisions, agencies and posts are added (and agencies changed) through the
services, so each write is checked and audited; everything else is
read-only here and changed through the workbench or the API.
"""

from django.contrib import admin
from django.db.models import Q

from yizhan.directory import services
from yizhan.directory.authz import scope_of
from yizhan.directory.models import Agency, Applicant, Division, Post, Posting, ScopeGrant
from yizhan.directory.roles import Role
from yizhan.portal.admin_site import ScopedAdmin, ServiceAdmin


@admin.register(Division)
class DivisionAdmin(ServiceAdmin):
    unscoped = True   # the city's divisions: reference data every administrator reads
    list_display = ("code", "name", "level", "parent")
    search_fields = ("code", "name")
    list_filter = ("level",)
    fields = ("code", "name", "parent")
    raw_id_fields = ("parent",)

    def has_add_permission(self, request):
        return scope_of(request.user).has_any_division(Role.SYSADMIN)

    def write(self, request, data, obj):
        parent = data.get("parent")
        return services.division_create(actor=request.user, code=data["code"],
                                        name=data["name"],
                                        parent_code=parent.code if parent else None)


@admin.register(Agency)
class AgencyAdmin(ServiceAdmin):
    agency_field = "pk"
    list_display = ("name", "kind", "division", "credit_code", "parent", "is_active")
    search_fields = ("name", "credit_code")
    list_filter = ("kind", "is_active")
    raw_id_fields = ("division", "parent")

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("name", "short_name", "kind", "division", "credit_code", "parent")
        return ("name", "short_name", "is_active")

    def has_add_permission(self, request):
        return scope_of(request.user).has_any_division(Role.SYSADMIN)

    def has_change_permission(self, request, obj=None):
        scope = scope_of(request.user)
        return scope.has_role(Role.SYSADMIN) if obj is None else scope.has(Role.SYSADMIN, obj.pk)

    def write(self, request, data, obj):
        if obj is not None:
            return services.agency_update(actor=request.user, agency=obj, name=data["name"],
                                          short_name=data["short_name"],
                                          is_active=data["is_active"])
        parent = data.get("parent")
        return services.agency_create(actor=request.user, name=data["name"], kind=data["kind"],
                                      division_code=data["division"].code,
                                      credit_code=data.get("credit_code") or "",
                                      short_name=data.get("short_name") or "",
                                      parent_id=parent.pk if parent else None)


@admin.register(Post)
class PostAdmin(ServiceAdmin):
    agency_field = "agency_id"
    list_display = ("name", "role", "agency")
    list_filter = ("role",)
    search_fields = ("name", "agency__name")
    fields = ("agency", "name", "role")
    raw_id_fields = ("agency",)

    def has_add_permission(self, request):
        return scope_of(request.user).has_role(Role.SYSADMIN)

    def write(self, request, data, obj):
        return services.post_create(actor=request.user, agency=data["agency"],
                                    name=data["name"], role=data["role"])


@admin.register(Posting)
class PostingAdmin(ScopedAdmin):
    agency_field = "post__agency_id"
    list_display = ("user", "post", "since")
    search_fields = ("user__username", "user__full_name", "post__name")


@admin.register(ScopeGrant)
class ScopeGrantAdmin(ScopedAdmin):
    # A grant is over an agency or over a division: narrowed below.
    list_display = ("user", "role", "agency", "division", "granted_at", "expires_at",
                    "revoked_at")
    list_filter = ("role",)

    def has_view_permission(self, request, obj=None):
        return scope_of(request.user).has_any_division(Role.SYSADMIN)

    def has_module_permission(self, request):
        return scope_of(request.user).has_any_division(Role.SYSADMIN)

    def get_queryset(self, request):
        # A district's administrator sees the grants over the district's
        # divisions and agencies, not the city's or another district's.
        qs = admin.ModelAdmin.get_queryset(self, request)
        scope = scope_of(request.user)
        if Role.SYSADMIN in scope.everywhere:
            return qs
        return qs.filter(Q(agency_id__in=scope.agencies(Role.SYSADMIN) or ())
                         | Q(division_id__in=scope.division_roles.get(Role.SYSADMIN, ())))


@admin.register(Applicant)
class ApplicantAdmin(ScopedAdmin):
    # An applicant belongs to no agency: an agency's administrator sees the
    # people and enterprises who applied to it, not the whole city's names
    # and telephone numbers.
    agency_field = "cases__agency_id"
    list_display = ("name", "kind", "id_number_masked", "credit_code", "created_at")
    search_fields = ("name", "credit_code")
    list_filter = ("kind",)
    exclude = ("id_number_enc", "id_number_index")

