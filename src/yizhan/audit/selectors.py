"""Searching the audit log, limited to what the actor may read."""

import datetime

from django.db.models import Q, QuerySet

from yizhan.audit import permissions
from yizhan.audit.models import AuditRecord
from yizhan.core.permissions import require


def audit_search(
    *,
    actor,
    actor_query: str = "",
    object_query: str = "",
    action: str = "",
    since: datetime.datetime | None = None,
    until: datetime.datetime | None = None,
) -> QuerySet[AuditRecord]:
    """Records matching the filters, newest first.

    ``actor_query`` matches the actor's label; ``object_query`` matches the
    object's type, id or description.
    """
    require(permissions.audit_search(actor), action="audit_search")
    agency_ids = permissions.visible_agency_ids(actor)
    if agency_ids is None:
        qs = AuditRecord.objects.all()
    else:
        visible = Q(agency_id__in=agency_ids)
        if permissions.sees_unattributed(actor):
            visible |= Q(agency_id__isnull=True)
        qs = AuditRecord.objects.filter(visible)
    if actor_query:
        qs = qs.filter(actor_label__icontains=actor_query.strip())
    if object_query:
        term = object_query.strip()
        qs = qs.filter(
            Q(object_repr__icontains=term) | Q(object_id=term) | Q(object_type__icontains=term)
        )
    if action:
        qs = qs.filter(action=action)
    if since:
        qs = qs.filter(at__gte=since)
    if until:
        qs = qs.filter(at__lt=until)
    return qs.order_by("-at", "-id")


def actors_of(*objects: tuple[str, str, tuple[str, ...]]) -> set[int]:
    """The accounts that did any of the actions on any of the objects.

    ``objects`` are ``(object_type, object_id, actions)``; for the services
    that ask who took part (the editors of a version, which its reviewer
    must not be).  The log keeps every act; a field would keep the last.
    """
    match = Q(pk__in=[])
    for object_type, object_id, actions in objects:
        match |= Q(object_type=object_type, object_id=object_id, action__in=actions)
    return set(AuditRecord.objects.filter(match, actor_id__isnull=False)
               .values_list("actor_id", flat=True))
