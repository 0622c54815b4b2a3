"""Clearing alerts (核销): by the officer watching the agency, with a reason, once; kept."""

import pytest

from tests.cases.helpers import submitted
from tests.supervision.helpers import district_officer, nothing_written
from yizhan.audit.models import AuditRecord
from yizhan.cases import events
from yizhan.cases.models import EventType
from yizhan.core.errors import Conflict, InvalidInput, PermissionDenied
from yizhan.directory.roles import Role
from yizhan.supervision import services
from yizhan.supervision.actions import SupervisionAction
from yizhan.supervision.error_codes import SupervisionErrorCode
from yizhan.supervision.models import Alert

REASON = "经核实，延期决定已于当日作出，系补录"


@pytest.fixture
def alert(world, promised):
    """A red CX-01 on agency A: a decision appended on a case never accepted."""
    case, _code = submitted(world, promised)
    events.append(case=case, type=EventType.APPROVED, actor=world.user("a", Role.AGENCY_HEAD))
    return Alert.objects.get()


def test_an_officer_clears_an_alert_with_a_reason_on_the_record(world, officer, alert):
    """核销: status cleared, who, when and why kept; the alert stays; an audit record on A."""
    cleared = services.alert_clear(actor=officer, alert=alert, reason=f"  {REASON} ")
    alert.refresh_from_db()
    assert cleared.pk == alert.pk
    assert (alert.status, alert.cleared_by, alert.cleared_reason) == ("cleared", officer, REASON)
    assert alert.cleared_at is not None
    assert (alert.level, alert.rule.code) == ("red", "CX-01")
    record = AuditRecord.objects.get(action=SupervisionAction.ALERT_CLEARED)
    assert (record.actor, record.object_id, record.agency_id) == (officer, str(alert.pk),
                                                                  world.agency_a.pk)
    assert (record.reason, record.changes) == (REASON, {"rule": "CX-01", "level": "red"})


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_clearing_needs_a_reason(world, officer, alert, reason):
    """No reason: InvalidInput supervision.no_reason, and the alert stays open."""
    with nothing_written(), pytest.raises(InvalidInput) as exc:
        services.alert_clear(actor=officer, alert=alert, reason=reason)
    assert exc.value.code == SupervisionErrorCode.NO_REASON
    alert.refresh_from_db()
    assert alert.status == "open"


def test_a_cleared_alert_is_not_cleared_again(world, officer, alert):
    """A second 核销 (a stale page, a retried call) is a Conflict and changes nothing."""
    services.alert_clear(actor=officer, alert=alert, reason=REASON)
    with nothing_written(), pytest.raises(Conflict) as exc:
        services.alert_clear(actor=officer, alert=alert, reason="再次核销")
    assert exc.value.code == SupervisionErrorCode.ALERT_CLOSED
    alert.refresh_from_db()
    assert alert.cleared_reason == REASON


@pytest.mark.parametrize("who", ["head_a", "reviewer_a", "officer_a", "officer_b",
                                 "district_officer", "superuser", "citizen"])
def test_only_an_officer_watching_the_agency_clears(world, alert, who):
    """Anyone but an office's officer whose scope covers A gets PermissionDenied: an
    officer posted in A itself watches A but does not clear its own alerts."""
    actor = {"head_a": lambda: world.user("a", Role.AGENCY_HEAD),
             "officer_a": lambda: world.user("a", Role.SUPERVISION_OFFICER),
             "reviewer_a": lambda: world.user("a", Role.REVIEWER),
             "officer_b": lambda: world.user("b", Role.SUPERVISION_OFFICER),
             # Granted the district only: A and B are city agencies, outside it.
             "district_officer": lambda: district_officer(world)[0],
             "superuser": lambda: world.admin,
             "citizen": lambda: world.citizen}[who]()
    with nothing_written(), pytest.raises(PermissionDenied):
        services.alert_clear(actor=actor, alert=alert, reason=REASON)


def test_the_permission_is_checked_before_anything_is_said_about_the_alert(world, officer,
                                                                           alert):
    """Someone not allowed learns nothing: a cleared alert is PermissionDenied, not Conflict."""
    services.alert_clear(actor=officer, alert=alert, reason=REASON)
    with pytest.raises(PermissionDenied):
        services.alert_clear(actor=world.citizen, alert=alert, reason="")


def test_an_alert_is_never_deleted(world, alert):
    """Alert.delete() raises TypeError; the alert is still there."""
    with pytest.raises(TypeError):
        alert.delete()
    assert Alert.objects.filter(pk=alert.pk).exists()


def test_alerts_are_not_deleted_in_bulk_either(world, alert):
    """A bulk delete of alerts raises TypeError, as for case events."""
    with pytest.raises(TypeError):
        Alert.objects.filter(pk=alert.pk).delete()
    assert Alert.objects.filter(pk=alert.pk).exists()
