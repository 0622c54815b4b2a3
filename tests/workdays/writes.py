"""``nothing_written()``: fail if a block changed the calendar or the audit log."""

from tests.writes import watching
from yizhan.audit.models import AuditChainHead, AuditRecord
from yizhan.workdays.models import CalendarCheckpoint, CalendarDay, CalendarVersion, CalendarYear

_WATCHED = (CalendarYear, CalendarDay, CalendarVersion, CalendarCheckpoint, AuditRecord,
            AuditChainHead)

nothing_written = watching(*_WATCHED)
