"""Configuration of the workdays app."""

from django.apps import AppConfig


class WorkdaysConfig(AppConfig):
    name = "yizhan.workdays"
    label = "workdays"
    verbose_name = "工作日历"

    def ready(self):
        from yizhan.audit.registry import register_actions
        from yizhan.workdays.actions import WorkdaysAction

        register_actions(WorkdaysAction)
