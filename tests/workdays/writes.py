"""``nothing_written()``: fail if a block changed the calendar or the audit log."""

from contextlib import contextmanager

from yizhan.audit.models import AuditChainHead, AuditRecord
from yizhan.workdays.models import CalendarDay, CalendarVersion, CalendarYear

_WATCHED = (CalendarYear, CalendarDay, CalendarVersion, AuditRecord, AuditChainHead)


def snapshot() -> dict[str, list[tuple]]:
    return {
        model._meta.label: sorted(
            (tuple(sorted(row.items())) for row in model.objects.values()), key=repr
        )
        for model in _WATCHED
    }


@contextmanager
def nothing_written():
    before = snapshot()
    yield
    after = snapshot()
    changed = [label for label in before if before[label] != after[label]]
    assert not changed, f"a refused call wrote to {changed}"
