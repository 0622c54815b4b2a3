"""Configuration of the audit app."""

from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "yizhan.audit"
    label = "audit"
    verbose_name = "审计日志"

    def ready(self):
        from yizhan.audit.actions import AuditAction
        from yizhan.audit.registry import register_actions

        register_actions(AuditAction)
