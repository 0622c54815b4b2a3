"""Instants written as text that must read back exactly.

The audit chain hashes its records' times, an export names the version it
was read from, an anchor says when it was taken: each as UTC to the
microsecond, one fixed form (``2026-12-05T03:04:05.000006Z``), the same on
every database and in every time zone.
"""

import datetime

UTC_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def utc_text(at: datetime.datetime) -> str:
    return at.astimezone(datetime.UTC).strftime(UTC_FORMAT)
