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
