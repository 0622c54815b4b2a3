"""The demo city starts with supervision at work."""

import pytest

from yizhan import demo
from yizhan.cases.models import Case
from yizhan.supervision.models import Alert

pytestmark = pytest.mark.django_db


def test_the_demo_shows_a_red_card_for_an_overcharged_fee():
    """The demo's identity-card case was charged above the standard: SF-02, red."""
    demo.load(out=lambda *args: None)
    alert = Alert.objects.get(rule__code="SF-02")
    assert alert.level == "red"
    assert alert.case.item_version.name.startswith("居民身份证换领")
    assert alert.responsible.username.endswith(".clerk")
    # The office has issued a correction notice on it, awaiting the agency head's reply.
    assert alert.status == "noticed"
    notice = alert.notice
    assert (notice.kind, notice.status, notice.agency_id) == ("notice", "in_progress",
                                                             alert.agency_id)
    reply = notice.tasks.get()
    assert (reply.name, reply.role, reply.status) == ("reply", "agency_head", "open")
    # The sweep has planned every accepted case's next look.
    assert not Case.objects.filter(status="in_progress", next_check_at__isnull=True).exists()
