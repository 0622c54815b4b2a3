"""Stable error codes of electronic supervision."""

from enum import StrEnum


class SupervisionErrorCode(StrEnum):
    BAD_RULE = "supervision.bad_rule"
    ALERT_CLOSED = "supervision.alert_closed"
    NO_REASON = "supervision.no_reason"
