"""Stable error codes of electronic supervision."""

from enum import StrEnum


class SupervisionErrorCode(StrEnum):
    BAD_RULE = "supervision.bad_rule"
    ALERT_CLOSED = "supervision.alert_closed"
    NO_REASON = "supervision.no_reason"
    BAD_NOTICE = "supervision.bad_notice"


class ScoringErrorCode(StrEnum):
    BAD_SCHEME = "supervision.bad_scoring_scheme"
    BAD_PERIOD = "supervision.bad_period"
    NOTHING_TO_SCORE = "supervision.nothing_to_score"
