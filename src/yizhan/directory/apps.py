"""Configuration of the directory app."""

from django.apps import AppConfig


class DirectoryConfig(AppConfig):
    name = "yizhan.directory"
    label = "directory"
    verbose_name = "组织与身份"

    def ready(self):
        from yizhan.audit.registry import register_actions
        from yizhan.directory.actions import DirectoryAction

        register_actions(DirectoryAction)
