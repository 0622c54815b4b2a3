"""Permission predicates of the catalog app, one per service.

Each agency keeps its own items: its head, or the data officers and system
administrators whose scope covers it, edit them.  Publishing is the
review step of the data administration: a data officer or system
administrator whose scope covers the agency, who is not the editor.
"""

from yizhan.accounts.models import person_of
from yizhan.directory.authz import scope_of
from yizhan.directory.roles import Role

EDITORS = (Role.AGENCY_HEAD, Role.DATA_OFFICER, Role.SYSADMIN)
REVIEWERS = (Role.DATA_OFFICER, Role.SYSADMIN)


def item_create(actor, *, agency) -> bool:
    return scope_of(actor).has_any(EDITORS, agency.id)


def item_version_edit(actor, *, version) -> bool:
    return scope_of(actor).has_any(EDITORS, version.item.agency_id)


def item_file_attach(actor, *, version) -> bool:
    """A blank form or sample is part of the draft's content: its editors attach it."""
    return item_version_edit(actor, version=version)


def item_file_detach(actor, *, version) -> bool:
    return item_version_edit(actor, version=version)


def item_version_draft(actor, *, item) -> bool:
    return scope_of(actor).has_any(EDITORS, item.agency_id)


def item_version_submit(actor, *, version) -> bool:
    return scope_of(actor).has_any(EDITORS, version.item.agency_id)


def item_version_publish(actor, *, version) -> bool:
    return scope_of(actor).has_any(REVIEWERS, version.item.agency_id)


def item_version_return(actor, *, version) -> bool:
    # Returning is the review's other outcome: a second person's judgement,
    # which a token (no person) may not give, as it may not publish.
    if person_of(actor) is None:
        return False
    return scope_of(actor).has_any(REVIEWERS, version.item.agency_id)


def item_withdraw(actor, *, item) -> bool:
    """Cancelling or suspending an item records a government decision: the
    reviewers who publish the item's versions do it, as persons (a token is
    no one to answer for it, as it may not publish)."""
    if person_of(actor) is None:
        return False
    return scope_of(actor).has_any(REVIEWERS, item.agency_id)


def item_restore(actor, *, item) -> bool:
    """Restoring a suspended item is the same reviewers' act."""
    return item_withdraw(actor, item=item)


def catalog_import(actor) -> bool:
    """Anyone who edits some agency's items; each row is checked again."""
    scope = scope_of(actor)
    return any(scope.has_role(role) for role in EDITORS)


def catalog_edit_any(actor) -> bool:
    scope = scope_of(actor)
    return any(scope.has_role(role) for role in EDITORS)
