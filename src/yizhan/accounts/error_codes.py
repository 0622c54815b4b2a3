"""Stable error codes of the accounts app."""

from enum import StrEnum


class AccountsErrorCode(StrEnum):
    BAD_CREDENTIALS = "accounts.bad_credentials"
    LOCKED_OUT = "accounts.locked_out"
    INACTIVE = "accounts.inactive"
    TOTP_REQUIRED = "accounts.totp_required"
    BAD_TOTP = "accounts.bad_totp"
    WEAK_PASSWORD = "accounts.weak_password"
    WRONG_PASSWORD = "accounts.wrong_password"
    BAD_RESET_LINK = "accounts.bad_reset_link"
    BAD_TOKEN = "accounts.bad_token"
    USERNAME_TAKEN = "accounts.username_taken"
