"""Helpers of supervision's tests: the officer, rules switched for a test, alerts, lines.

Cases are built through the case engine's services (tests/cases/helpers.py),
so the on-event rules see the events a real case appends.  The sweep is
given a ``now`` of the test's choosing; the lines it must cross are worked
out here from the calendar, not with the code under test.
"""

import datetime as dt
import importlib
import pkgutil
import threading
import time

from django.db import connection, transaction
from django.utils import timezone

from tests.cases.helpers import (  # noqa: F401  (accepted: imported from here too)
    accepted,
    add_agency,
    complete,
    publish_item,
    reload,
    submitted,
)
from tests.writes import watching
from yizhan.audit.models import AuditRecord
from yizhan.cases.models import Case
from yizhan.directory import services as directory_services
from yizhan.directory.roles import Role
from yizhan.supervision.detection import rules_cache_clear
from yizhan.supervision.models import Alert, Rule, RuleRevision, RulesetVersion
from yizhan.workdays.selectors import calendar_current

TZ = timezone.get_default_timezone()
MICRO = dt.timedelta(microseconds=1)

# What a refused rule change or clearing could touch.
nothing_written = watching(Rule, RuleRevision, RulesetVersion, Alert, AuditRecord, Case)


def seed_as_migrations_do(*app_labels: str) -> None:
    """Run every ``seed`` of these apps' migrations, in the migrations' order.

    Committed tests empty the tables afterwards, seeded rows too; this puts
    them back as a fresh installation has them, later seeds (a new scheme
    version, a rule's new reasons) included.  Each seed is idempotent.
    """
    from django.apps import apps

    from yizhan.workdays.selectors import calendar_cache_clear

    for app in app_labels:
        package = importlib.import_module(f"yizhan.{app}.migrations")
        for name in sorted(m.name for m in pkgutil.iter_modules(package.__path__)):
            seed = getattr(importlib.import_module(f"{package.__name__}.{name}"), "seed", None)
            if seed is not None:
                seed(apps, None)
    rules_cache_clear()
    calendar_cache_clear()


def city_officer(world):
    """A 监察员 of a city supervision office, granted the whole city (as the demo does)."""
    _office, staff = add_agency(world, "示范市监察局", credit_seed=909,
                                roles=(Role.SUPERVISION_OFFICER,))
    officer = staff[Role.SUPERVISION_OFFICER]
    directory_services.scope_grant_create(
        actor=world.admin, user=officer, role=Role.SUPERVISION_OFFICER, division=world.city,
        reason="《示范市行政审批电子监察办法》第五条")
    return officer


def district_officer(world):
    """An officer of the 东湖区 office, granted the district, and the district's one
    agency (丙局, with a published item): a scope smaller than the city's.

    Returns ``(officer, agency)``.
    """
    agency, staff = add_agency(world, "东湖区丙局", credit_seed=808, division="449901",
                               roles=(Role.SUPERVISION_OFFICER,))
    officer = staff[Role.SUPERVISION_OFFICER]
    directory_services.scope_grant_create(
        actor=world.admin, user=officer, role=Role.SUPERVISION_OFFICER,
        division=world.district, reason="《示范市行政审批电子监察办法》第五条")
    # Published by another administrator than the one who wrote it (the city's).
    publish_item(world, agency=agency, name="丙局许可", publisher=city_sysadmin(world))
    return officer, agency


def city_sysadmin(world):
    """A system administrator of the city, who is not the platform's superuser."""
    user = world.user("b", Role.SYSADMIN)
    directory_services.scope_grant_create(actor=world.admin, user=user, role=Role.SYSADMIN,
                                          division=world.city, reason="市政务服务数据管理局职责")
    return user


def set_enabled(*, codes=(), exclude=(), kind=None, enabled: bool) -> None:
    """Switch rules on or off directly (test set-up, not the service under test)."""
    rules = Rule.objects.all()
    if codes:
        rules = rules.filter(code__in=codes)
    if kind:
        rules = rules.filter(kind=kind)
    rules.exclude(code__in=exclude).update(enabled=enabled)
    rules_cache_clear()


def codes(case=None) -> list[str]:
    """Codes of the rules whose alerts stand, sorted (of one case if given)."""
    qs = Alert.objects.all() if case is None else Alert.objects.filter(case_id=case.pk)
    return sorted(qs.values_list("rule__code", flat=True))


def fee_item(world, *, agency=None, amount="80", basis="发改价格规〔2016〕2559号"):
    """A published item of A (or ``agency``) with one fee of ``amount`` yuan."""
    return publish_item(world, agency=agency, name="收费许可", fees=[
        {"name": "登记费", "standard": f"每件{amount}元", "amount": amount, "basis": basis}])


def workday(case_or_moment, n: int) -> dt.date:
    """The n-th working day after the local day of acceptance (or of a moment)."""
    moment = case_or_moment.accepted_at if isinstance(case_or_moment, Case) else case_or_moment
    return calendar_current().add_workdays(timezone.localtime(moment, TZ).date(), n).date


def start_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=TZ)


def end_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.max, tzinfo=TZ)


def run_released_together(hold, *calls, wait: float = 20) -> tuple[list, bool]:
    """Run each call in its own thread and connection while this connection
    holds a lock, and release the lock once every call waits on it.

    ``hold(cursor)`` takes the lock.  The calls meet at the worst moment,
    whatever they do before it.  Returns each call's result (or the
    exception it raised) and whether all of them were seen waiting.
    """
    results: list = [None] * len(calls)

    def run(index, call):
        try:
            results[index] = call()
        except Exception as exc:  # the exception is the thread's result
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    with transaction.atomic(), connection.cursor() as cursor:
        hold(cursor)
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + wait
        while _waiting(cursor) < len(calls) and time.monotonic() < deadline:
            time.sleep(0.02)
        all_waited = _waiting(cursor) >= len(calls)
    for thread in threads:
        thread.join(timeout=60)
    return results, all_waited


def _waiting(cursor) -> int:
    """Connections waiting for a lock (pg_locks is live, not a per-transaction snapshot)."""
    cursor.execute("SELECT count(DISTINCT pid) FROM pg_locks WHERE NOT granted")
    return cursor.fetchone()[0]
