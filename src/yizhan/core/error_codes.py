"""Stable machine codes of errors raised by the platform's core.

Codes are part of the API contract: clients branch on them, so a code is
never renamed or reused.  Each app keeps its own ``error_codes.py``.
"""

from enum import StrEnum


class CoreErrorCode(StrEnum):
    INVALID_INPUT = "core.invalid_input"
    MALFORMED_JSON = "core.malformed_json"
    NUMBER_OUT_OF_RANGE = "core.number_out_of_range"
    BODY_TOO_LARGE = "core.body_too_large"
    FILE_NAME_ENCODING = "core.file_name_encoding"
    NOT_FOUND = "core.not_found"
    PERMISSION_DENIED = "core.permission_denied"
    NOT_AUTHENTICATED = "core.not_authenticated"
    CONFLICT = "core.conflict"
    THROTTLED = "core.throttled"
    METHOD_NOT_ALLOWED = "core.method_not_allowed"
    CSRF_FAILED = "core.csrf_failed"
    SERVER_ERROR = "core.server_error"
