"""The record of tries behind the public throttles: what counts, and for how long."""

import datetime

import pytest
from django.utils import timezone

from yizhan.core import tasks, throttle
from yizhan.core.models import Attempt

pytestmark = pytest.mark.django_db

WINDOW = datetime.timedelta(minutes=15)
SIGN_UP = Attempt.Kind.SIGN_UP
RESET = Attempt.Kind.PASSWORD_RESET


def counted(kind=SIGN_UP, ip="10.0.0.1", key="", per_address=2, per_key=None):
    return throttle.attempt_counted(kind=kind, ip=ip, window=WINDOW, per_address=per_address,
                                    key=key, per_key=per_key)


def test_tries_count_per_kind_and_client_within_the_window():
    """A kind's tries do not fill another's, another client's or those of a
    client whose earlier tries are older than the window."""
    assert [counted(), counted(), counted()] == [None, None, throttle.Over.ADDRESS]
    assert counted(kind=RESET) is None
    assert counted(ip="10.0.0.2") is None
    Attempt.objects.filter(kind=SIGN_UP, address="10.0.0.1").update(
        at=timezone.now() - WINDOW - datetime.timedelta(seconds=1))
    assert counted() is None


def test_a_try_beyond_a_key_s_limit_still_counts_for_its_client():
    """Past the key's limit the try is kept for its client, not for the key."""
    for i in range(3):
        assert counted(kind=RESET, ip=f"10.0.1.{i}", key="k", per_key=3) is None
    assert counted(kind=RESET, key="k", per_key=3, per_address=5) == throttle.Over.KEY
    assert list(Attempt.objects.filter(address="10.0.0.1").values_list("key", flat=True)) == [""]
    assert Attempt.objects.filter(key="k").count() == 3


def test_a_try_without_an_address_counts_for_its_key_only():
    """A caller with no client address is throttled by key, never by address."""
    assert [counted(kind=RESET, ip=None, key="k", per_key=1) for _ in range(2)] == [
        None, throttle.Over.KEY]


def test_old_tries_are_forgotten_by_the_hourly_job():
    """Tries older than any window are deleted; those still counted stay."""
    counted()
    old = Attempt.objects.create(kind=SIGN_UP, address="10.0.0.9",
                                 at=timezone.now() - throttle.KEPT - datetime.timedelta(minutes=1))
    assert tasks.run_now("core.forget_old_attempts") == 1
    assert not Attempt.objects.filter(pk=old.pk).exists()
    assert Attempt.objects.count() == 1
    assert ("core.forget_old_attempts", 3600) in {(p.name, p.seconds) for p in tasks.periodic()}
