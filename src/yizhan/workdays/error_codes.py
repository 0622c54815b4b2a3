"""Stable error codes of the workdays app."""

from enum import StrEnum


class WorkdaysErrorCode(StrEnum):
    YEAR_OUT_OF_RANGE = "workdays.year_out_of_range"
    YEAR_UNKNOWN = "workdays.year_unknown"
    YEAR_EMPTY = "workdays.year_empty"
