"""Notices of new alerts: the responsible staff and the agency's head, once each, after commit."""

import datetime as dt

from django.core import mail
from django.utils import timezone

from tests.supervision.helpers import accepted, fee_item
from yizhan.accounts.models import User
from yizhan.cases import events
from yizhan.cases import services as case_services
from yizhan.cases.models import EventType
from yizhan.core.notify import MemorySmsBackend
from yizhan.directory.roles import Role
from yizhan.supervision import tasks
from yizhan.supervision.detection import sweep
from yizhan.supervision.models import Alert


def _reachable(world, key, role, phone):
    """Give a staff member a phone and an e-mail address; return them afresh."""
    user = world.user(key, role)
    User.objects.filter(pk=user.pk).update(phone=phone, email=f"{key}.{role}@example.gov.cn")
    return User.objects.get(pk=user.pk)


def _texts_to(phone) -> list[str]:
    return [m.text for m in MemorySmsBackend.outbox if m.phone == phone]


def test_an_alert_tells_the_responsible_clerk_and_the_head(
        world, django_capture_on_commit_callbacks):
    """An overcharge: the clerk and A's head each get one SMS and one e-mail naming the case."""
    clerk = _reachable(world, "a", Role.WINDOW_CLERK, "13900000001")
    head = _reachable(world, "a", Role.AGENCY_HEAD, "13900000002")
    _reachable(world, "b", Role.AGENCY_HEAD, "13900000003")
    version = fee_item(world, amount="80")
    case = accepted(world, version)
    with django_capture_on_commit_callbacks(execute=True):
        case_services.case_fee_charge(actor=clerk, case=case, fee_id=version.fees.get().pk,
                                      amount="100")
    alert = Alert.objects.get()
    for person in (clerk, head):
        texts = _texts_to(person.phone)
        assert len(texts) == 1, texts
        assert f"红牌 {case.number}：{alert.message}" in texts[0]
        emails = [m for m in mail.outbox if m.to == [person.email]]
        assert [m.subject for m in emails] == ["电子监察预警"]
        assert alert.message in emails[0].body
    # B's head has nothing to do with A's alert.
    assert _texts_to("13900000003") == []


def test_nothing_is_sent_before_the_step_commits(world, django_capture_on_commit_callbacks):
    """The notice waits for the commit: a step still open has sent nothing."""
    clerk = _reachable(world, "a", Role.WINDOW_CLERK, "13900000001")
    version = fee_item(world, amount="80")
    case = accepted(world, version)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        case_services.case_fee_charge(actor=clerk, case=case, fee_id=version.fees.get().pk,
                                      amount="100")
    assert MemorySmsBackend.outbox == [] and mail.outbox == []
    assert callbacks   # the notice, scheduled for the commit


def test_a_head_responsible_for_the_alert_gets_it_once(world, promised,
                                                       django_capture_on_commit_callbacks):
    """The head who decided without the steps is both head and responsible: one line, once."""
    from tests.cases.helpers import submitted

    head = _reachable(world, "a", Role.AGENCY_HEAD, "13900000002")
    case, _code = submitted(world, promised)
    with django_capture_on_commit_callbacks(execute=True):
        events.append(case=case, type=EventType.APPROVED, actor=head)
    texts = _texts_to(head.phone)
    assert len(texts) == 1
    assert texts[0].count(case.number) == 1


def test_a_sweep_sends_each_person_one_message_for_all_its_alerts(
        world, promised, django_capture_on_commit_callbacks):
    """Three late cases: A's head gets one SMS listing every case, not one per alert."""
    head = _reachable(world, "a", Role.AGENCY_HEAD, "13900000002")
    cases = [accepted(world, promised) for _ in range(3)]
    with django_capture_on_commit_callbacks(execute=True):
        result = sweep(now=timezone.now() + dt.timedelta(days=90))
    assert result.alerts == Alert.objects.count() > 3
    texts = _texts_to(head.phone)
    assert len(texts) == 1
    for case in cases:
        assert case.number in texts[0]


def test_a_long_batch_is_cut_short_with_a_count(world, promised,
                                                django_capture_on_commit_callbacks):
    """More than twenty alerts for one person: twenty lines and the total."""
    head = _reachable(world, "a", Role.AGENCY_HEAD, "13900000002")
    for _ in range(5):
        accepted(world, promised)
    sweep(now=timezone.now() + dt.timedelta(days=90))
    keys = list(Alert.objects.values_list("key", flat=True))
    assert len(keys) > 20
    with django_capture_on_commit_callbacks(execute=True):
        # Only the head: nobody had claimed the late steps.
        assert tasks.notify_alerts(keys=keys) == 1
    [text] = _texts_to(head.phone)
    assert len(text.splitlines()) == 21
    assert f"共 {len(keys)} 条" in text.splitlines()[-1]


def test_unknown_keys_notify_nobody(db):
    """A notice for alerts that are not there (rolled back meanwhile) sends nothing."""
    assert tasks.notify_alerts(keys=["SF-02:e999999"]) == 0
    assert MemorySmsBackend.outbox == []


def test_staff_switched_off_are_told_nothing(world, django_capture_on_commit_callbacks):
    """A deactivated head or clerk keeps the posting on record but gets no notice."""
    from yizhan.directory.services import staff_deactivate

    clerk = _reachable(world, "a", Role.WINDOW_CLERK, "13900000001")
    head = _reachable(world, "a", Role.AGENCY_HEAD, "13900000002")
    version = fee_item(world, amount="80")
    case = accepted(world, version)
    case_services.case_fee_charge(actor=clerk, case=case, fee_id=version.fees.get().pk,
                                  amount="100")
    for person in (clerk, head):
        staff_deactivate(actor=world.admin, user=person, reason="调离")
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.notify_alerts(keys=[Alert.objects.get().key]) == 0
    assert MemorySmsBackend.outbox == [] and mail.outbox == []
