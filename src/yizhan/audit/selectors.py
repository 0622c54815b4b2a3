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
