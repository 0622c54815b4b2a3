"""Stable error codes of the directory app."""

from enum import StrEnum


class DirectoryErrorCode(StrEnum):
    INVALID_IDENTIFIER = "directory.invalid_identifier"
    UNKNOWN_DIVISION = "directory.unknown_division"
    DIVISION_EXISTS = "directory.division_exists"
    BAD_DIVISION_PARENT = "directory.bad_division_parent"
    AGENCY_EXISTS = "directory.agency_exists"
    UNKNOWN_AGENCY = "directory.unknown_agency"
    UNKNOWN_POST = "directory.unknown_post"
    USERNAME_TAKEN = "directory.username_taken"
    APPLICANT_EXISTS = "directory.applicant_exists"
    UNKNOWN_ROLE = "directory.unknown_role"
