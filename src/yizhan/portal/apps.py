"""Configuration of the portal app."""

from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "yizhan.portal"
    label = "portal"
    verbose_name = "门户与工作台"
