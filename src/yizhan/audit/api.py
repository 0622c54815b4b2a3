"""Audit API: search the log (supervision officers, administrators)."""

import datetime

from ninja import Query, Router, Schema

from yizhan.audit import selectors
from yizhan.core.api import AUTH, ListPage, actor_of

router = Router(tags=["audit"])


class RecordOut(Schema):
    id: int
    shard: int
    seq: int
    at: datetime.datetime
    actor_label: str
    agency_id: int | None
    post_id: int | None
    action: str
    object_type: str
    object_id: str
    object_repr: str
    reason: str
    request_id: str
    digest: str
    hash: str


@router.get("/records", response=list[RecordOut], auth=AUTH)
def search_records(
    request,
    page: Query[ListPage],
    actor: str = "",
    object: str = "",
    action: str = "",
    since: datetime.datetime | None = None,
    until: datetime.datetime | None = None,
):
    """Audit records visible to the caller, newest first, a page at a time."""
    qs = selectors.audit_search(actor=actor_of(request), actor_query=actor, object_query=object,
                                action=action, since=since, until=until)
    return page.of(qs)
