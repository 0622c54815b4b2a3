"""Configuration of the core app; registers the platform's system checks."""

from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "yizhan.core"
    label = "core"
    verbose_name = "平台基础"

    def ready(self):
        from yizhan.core import checks, notify, throttle  # noqa: F401  (registers checks, tasks)
