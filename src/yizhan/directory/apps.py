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
        from yizhan.audit.registry import set_post_resolver
        from yizhan.directory.authz import acting_post

        set_post_resolver(acting_post)
