"""Configuration of the supervision app."""

from django.apps import AppConfig


class SupervisionConfig(AppConfig):
    name = "yizhan.supervision"
    label = "supervision"
    verbose_name = "电子监察"

    def ready(self):
        from yizhan.audit.registry import register_actions
        from yizhan.cases import events
        from yizhan.supervision import detection, tasks  # noqa: F401  (registers tasks)
        from yizhan.supervision.actions import SupervisionAction

        register_actions(SupervisionAction)
        events.subscribe(detection.on_event)
