"""Stable error codes of the audit app."""

from enum import StrEnum


class AuditErrorCode(StrEnum):
    UNREGISTERED_ACTION = "audit.unregistered_action"
    IMMUTABLE = "audit.immutable"
    OUTSIDE_TRANSACTION = "audit.outside_transaction"
