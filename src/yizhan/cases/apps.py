"""Configuration of the cases app."""

from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "yizhan.cases"
    label = "cases"
    verbose_name = "办件"

    def ready(self):
        from yizhan.audit.registry import register_actions
        from yizhan.cases.actions import CasesAction

        register_actions(CasesAction)
        from yizhan.cases import certificates, tasks  # noqa: F401  (registers tasks)
        from yizhan.directory.signals import posts_left
        from yizhan.workdays import signals

        signals.calendar_year_published.connect(tasks.on_calendar_year_published,
                                                dispatch_uid="cases.recompute")
        signals.calendar_day_changed.connect(tasks.on_calendar_day_changed,
                                             dispatch_uid="cases.recompute_day")
        posts_left.connect(tasks.on_posts_left, dispatch_uid="cases.release_claims")
