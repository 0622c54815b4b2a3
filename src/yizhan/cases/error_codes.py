"""Stable error codes of the case engine."""

from enum import StrEnum


class CasesErrorCode(StrEnum):
    NOT_PUBLISHED = "cases.item_not_published"
    NOT_ONLINE = "cases.item_not_online"
    ITEM_WITHDRAWN = "cases.item_withdrawn"  # cancelled, suspended, or its agency closed
    BAD_STATE = "cases.bad_state"
    TASK_TAKEN = "cases.task_taken"
    TASK_CLOSED = "cases.task_closed"
    # The step changed since the page acting on it was shown (a stale page).
    TASK_CHANGED = "cases.task_changed"
    BAD_DECISION = "cases.bad_decision"
    CANNOT_RETURN = "cases.cannot_return"
    MISSING_MATERIALS = "cases.missing_materials"
    NOT_IN_NOTICE = "cases.material_not_in_notice"
    UPLOAD_TOO_BIG = "cases.upload_too_big"
    UPLOAD_TYPE = "cases.upload_type"
    UPLOAD_TRUNCATED = "cases.upload_truncated"
    CORRECTION_ONCE = "cases.correction_once"
    # More than five working days since the materials were received
    # (《行政许可法》第三十二条): the application is accepted in law.
    CORRECTION_TOO_LATE = "cases.correction_too_late"
    EXTENSION_ONCE = "cases.extension_once"
    # Another extension request of the case waits for the head.
    EXTENSION_PENDING = "cases.extension_pending"
    NO_REASON = "cases.no_reason"
    BAD_QUERY = "cases.bad_query"
    APPLICANT = "cases.bad_applicant"
    KEY_REUSED = "cases.idempotency_key_reused"
    # A certificate would be drawn without characters no installed font has.
    CERTIFICATE_GLYPHS = "cases.certificate_glyphs"
