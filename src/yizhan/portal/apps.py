"""Configuration of the portal app."""

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class PortalConfig(AppConfig):
    name = "yizhan.portal"
    label = "portal"
    verbose_name = "门户与工作台"


class YizhanAdminConfig(admin_apps.AdminConfig):
    """Django's admin with the platform's scoped admin site."""

    default = False
    default_site = "yizhan.portal.admin_site.YizhanAdminSite"
