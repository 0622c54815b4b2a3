"""Configuration of the accounts app."""

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "yizhan.accounts"
    label = "accounts"
    verbose_name = "账户"

    def ready(self):
        from yizhan.accounts.actions import AccountsAction
        from yizhan.audit.registry import register_actions

        register_actions(AccountsAction)
        from yizhan.accounts import tasks  # noqa: F401  (registers the tasks)
