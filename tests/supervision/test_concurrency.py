"""Two sweeps at once (two workers, two nodes): each alert is written once, announced once.

Each sweep runs in its own thread and connection.  A third connection holds
a SHARE lock on the alert table, which lets both sweeps read (and find no
alert raised yet) but not write; once both wait, the lock goes and they
write at the same moment: the worst interleaving, every time, whatever the
sweep does inside.
"""

import datetime as dt

from django.utils import timezone

from tests.markers import postgres_only
from tests.supervision.helpers import accepted, run_released_together
from yizhan.accounts.models import User
from yizhan.cases.models import Case
from yizhan.core.notify import MemorySmsBackend
from yizhan.directory.roles import Role
from yizhan.supervision.detection import SweepResult, sweep
from yizhan.supervision.models import Alert

LINES = ["SX-01", "SX-02", "SX-03", "SX-04", "SX-05"]


def _sweep_together(now):
    """Two sweeps at ``now`` in two threads, released to write at the same moment."""
    results, both_held = run_released_together(
        lambda cursor: cursor.execute(f"LOCK TABLE {Alert._meta.db_table} IN SHARE MODE"),
        lambda: sweep(now=now), lambda: sweep(now=now))
    assert all(isinstance(r, SweepResult) for r in results), results
    assert both_held, "the two sweeps never waited to write together"
    return results


def _late_cases(world, promised, n=3):
    return [accepted(world, promised) for _ in range(n)]


@postgres_only
def test_two_sweeps_at_once_write_each_alert_once(committed, world, promised):
    """Both sweeps find the same crossed lines: every alert is in the table exactly once."""
    cases = _late_cases(world, promised)
    results = _sweep_together(timezone.now() + dt.timedelta(days=400))
    keys = list(Alert.objects.values_list("key", flat=True))
    assert len(keys) == len(set(keys)) == len(LINES) * len(cases)
    assert sum(r.alerts for r in results) == len(keys)   # each counted by the sweep that won
    for case in cases:
        assert sorted(Alert.objects.filter(case=case).values_list("rule__code", flat=True)) \
            == LINES
    assert list(Case.objects.filter(pk__in=[c.pk for c in cases])
                .values_list("next_check_at", flat=True)) == [None] * len(cases)


@postgres_only
def test_two_sweeps_at_once_notify_each_alert_once(committed, world, promised):
    """The head of A gets one message for the alerts two sweeps found together."""
    head = world.user("a", Role.AGENCY_HEAD)
    User.objects.filter(pk=head.pk).update(phone="13900000002")
    _late_cases(world, promised)
    MemorySmsBackend.outbox.clear()
    _sweep_together(timezone.now() + dt.timedelta(days=400))
    assert Alert.objects.count() == len(LINES) * 3
    assert len([m for m in MemorySmsBackend.outbox if m.phone == "13900000002"]) == 1
