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
    # The sweep has planned every accepted case's next look.
    assert not Case.objects.filter(status="in_progress", next_check_at__isnull=True).exists()
