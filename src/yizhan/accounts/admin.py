"""Read-only admin of accounts and API tokens (changes go through services)."""

from django.contrib import admin

from yizhan.accounts.models import ApiToken, User
from yizhan.portal.admin_site import ScopedAdmin


@admin.register(User)
class UserAdmin(ScopedAdmin):
    agency_field = "postings__post__agency_id"   # staff of the administrator's agencies
    list_display = ("username", "full_name", "kind", "is_active", "totp_enabled", "last_login")
    list_filter = ("kind", "is_active")
    search_fields = ("username", "full_name")
    fields = ("username", "full_name", "kind", "email", "phone", "is_active", "totp_enabled",
              "last_login", "date_joined")


@admin.register(ApiToken)
class ApiTokenAdmin(ScopedAdmin):
    agency_field = "agency_id"
    list_display = ("name", "agency", "role", "prefix", "created_at", "expires_at", "revoked_at",
                    "last_used_at")
    exclude = ("digest",)
