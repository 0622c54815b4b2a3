"""Stable error codes of the catalog app."""

from enum import StrEnum


class CatalogErrorCode(StrEnum):
    BAD_BASIC_CODE = "catalog.bad_basic_code"
    BAD_IMPL_CODE = "catalog.bad_impl_code"
    ITEM_EXISTS = "catalog.item_exists"
    NOT_DRAFT = "catalog.not_draft"
    NOT_PENDING = "catalog.not_pending"
    SAME_REVIEWER = "catalog.same_reviewer"
    DRAFT_EXISTS = "catalog.draft_exists"
    BAD_FIELD = "catalog.bad_field"
    IMPORT_FAILED = "catalog.import_failed"
    # Taking items out of service (services.item_withdraw, item_restore).
    NOT_PUBLISHED = "catalog.not_published"      # never published: nothing to withdraw
    ITEM_WITHDRAWN = "catalog.item_withdrawn"    # cancelled or suspended: refused
    ITEM_CANCELLED = "catalog.item_cancelled"    # cancelled for good: no restore, no version
    NOT_WITHDRAWN = "catalog.not_withdrawn"      # in service: nothing to restore
    # An agency no longer at work (Agency.is_active false): none of its items is
    # created or published, and no version names it as joint or upper agency.
    AGENCY_CLOSED = "catalog.agency_closed"
    # A $joint or $upper lane of the version's process has no agency: its copy
    # left out closed ones, and the editor has not named others yet.
    AGENCY_MISSING = "catalog.agency_missing"
    # All 99 business item sequences of one basic code, level and agency are taken.
    IMPL_CODES_EXHAUSTED = "catalog.impl_codes_exhausted"
    # The version changed since it was read: a review of what the reviewer's
    # page showed (edited_at), an edit of what the editor read (base_edited_at).
    STALE_VERSION = "catalog.stale_version"
