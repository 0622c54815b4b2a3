"""Read-only admin of the audit log for platform administrators."""

from django.contrib import admin

from yizhan.audit.models import AuditRecord, SigningKey
from yizhan.directory.authz import scope_of
from yizhan.directory.roles import Role
from yizhan.portal.admin_site import ScopedAdmin


@admin.register(AuditRecord)
class AuditRecordAdmin(ScopedAdmin):
    agency_field = "agency_id"
    list_display = ("at", "actor_label", "action", "object_repr", "reason", "shard", "seq")
    list_filter = ("action",)
    search_fields = ("actor_label", "object_repr", "object_id", "request_id")
    date_hierarchy = "at"

    def has_view_permission(self, request, obj=None):
        return scope_of(request.user).has_any_division(Role.SYSADMIN)

    def has_module_permission(self, request):
        return scope_of(request.user).has_any_division(Role.SYSADMIN)


@admin.register(SigningKey)
class SigningKeyAdmin(ScopedAdmin):
    agency_field = "agency_id"
    list_display = ("agency", "algorithm", "fingerprint", "created_at", "retired_at")
    exclude = ("private_key_enc",)
