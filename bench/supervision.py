"""Electronic supervision: the timeliness sweep over a large open population.

Builds the world of ``bench/lifecycle.py`` (agencies, staff, a published
parallel item), then bulk-loads N open cases (``INSERT ... SELECT
generate_series``) whose deadlines lie in the coming weeks and whose
``next_check_at`` is in the future, except for K of them, spread evenly over
the table, whose limits have passed or are in the warning window and whose
``next_check_at`` has come; each of those has an open task with its own
limit and an acceptance event.

The sweep (``yizhan.supervision.detection.sweep(now=...)``) meets the K due
cases as the minute sweep does in steady running: an earlier sweep (an hour
before) raised the lines they had crossed then and planned their next look
at the line each crosses now, so each raises one new alert and recognises
the others.  It is timed ``--repeat`` times from that same state (the median
is the figure), with cases read, queries and alerts written; run again at
the same moment it must write nothing and read nothing.  Its peak memory is
taken with tracemalloc in a separate run (tracing slows it down) and as the
growth of the process's resident set.  All of this is measured with N/10
open cases too and the same K: neither time nor memory should follow the
number open.  With N open it is also timed catching up: no earlier sweep,
so every line the due cases have crossed is raised at once.

Finally it runs the worker loop of ``bench/lifecycle.py`` with every
supervision rule enabled and with every rule disabled, alternately, and
reports the transitions per second of both: the cost of the on-event rules.

    DATABASE_URL=postgres://postgres@127.0.0.1/yizhan python bench/supervision.py \\
        [-n 1000000] [--due 10000] [--event-cases 40 -c 2 --event-rounds 2]

PostgreSQL only.  Uses (and recreates) the database named by ``--db``
(default ``yizhan_bench_supervision``) on the configured server.  Prints one
JSON object; progress goes to stderr.  ``--profile`` writes the top of a
cProfile of the steady sweep with N open to stderr.
"""

import argparse
import datetime as dt
import gc
import json
import multiprocessing as mp
import os
import shutil
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from bench import lifecycle  # noqa: E402  (after the path is set)

TARGET_SWEEP_SECONDS = 2.0      # 10,000 due among 1,000,000 open
TARGET_MEMORY_RATIO = 1.25      # peak at N open / peak at N/10 open
TARGET_EVENT_COST = 0.10        # transitions/s lost to the on-event rules
PREFIX = "SV"                   # case numbers of the loaded cases: SV0000000001 ...
BENCH_SPIFF = "Activity_bench_review"
BENCH_CORRELATION = "bench-supervision"

# --- the loaded cases ----------------------------------------------------------------
#
# Every value is a SQL expression of the case's serial ``i`` (and, for the due
# ones, of their index ``j``), so that a case can be put back exactly as it
# was loaded.  ``%(now)s`` is the moment of the sweep.

_NUMBER = f"'{PREFIX}' || lpad(({{i}})::text, 10, '0')"

# Open, not due: accepted up to ten days ago, promised 2 to 42 days ahead,
# statutory two weeks later, next look half-way to the promised deadline.
_AGO = "make_interval(secs => mod(({i})::bigint * 104729, 864000))"
_AHEAD = "make_interval(secs => 172800 + mod(({i})::bigint * 7919, 3456000))"
_OPEN = {
    "accepted_at": f"%(now)s - {_AGO}",
    "promised_due": f"%(now)s + {_AHEAD}",
    "statutory_due": f"%(now)s + {_AHEAD} + interval '14 days'",
    "next_check_at": f"%(now)s + {_AHEAD} / 2",
}

# Due, in four kinds (j mod 4), each crossing one line in the last hour
# (``_LINE``): 0 its promised limit (its warning and its task's limits
# crossed days before); 1 its task's limit (the task's warning crossed
# before); 2 its statutory limit (the promised limit, its warning and the
# task's limits long passed; every fifth task a lower level's first review
# past its twenty working days); 3 its task's limit, the case being in its
# warning window.  Their next look falls due at ``%(look)s`` or up to 50
# minutes before, some cases on the same second (as the case engine leaves
# them), so the sweep's paging has ties to get right.
_LINE = "%(now)s - make_interval(secs => 1 + mod(j, 3000))"
_DUE = {
    "accepted_at": "%(now)s - (CASE mod(j, 4) WHEN 0 THEN interval '16 days' "
                   "WHEN 1 THEN interval '3 days' WHEN 2 THEN interval '40 days' "
                   "ELSE interval '9 days' END) - make_interval(secs => mod(j * 37, 7200))",
    "promised_due": f"CASE mod(j, 4) WHEN 0 THEN {_LINE} "
                    "WHEN 1 THEN %(now)s + interval '12 days' "
                    "WHEN 2 THEN %(now)s - interval '20 days' "
                    "ELSE %(now)s + interval '1 day' END",
    "statutory_due": "CASE mod(j, 4) WHEN 0 THEN %(now)s + interval '10 days' "
                     "WHEN 1 THEN %(now)s + interval '25 days' "
                     f"WHEN 2 THEN {_LINE} ELSE %(now)s + interval '12 days' END",
    "next_check_at": "%(look)s - make_interval(secs => 1 + mod(j, 3000))",
}
_TASK_DUE = ("CASE mod(j, 4) WHEN 0 THEN %(now)s - interval '2 days' "
             f"WHEN 2 THEN %(now)s - interval '10 days' ELSE {_LINE} END")

# The two states a sweep can meet the due cases in:
# * steady: the minute sweep has looked at them before (a sweep at
#   ``now - EARLIER`` raised every line they had crossed then, and planned
#   their next look at the line each crosses now), so each raises one new
#   alert and finds the others already raised;
# * catch_up: nobody has looked since they were accepted (after an outage,
#   or once a rule change has made every open case due): every line they
#   have crossed is raised now.
EARLIER = dt.timedelta(hours=1)


def _due_set(step: int, k: int) -> str:
    """The K due cases: every ``step``-th loaded case, by number (unique index)."""
    number = _NUMBER.format(i="j * " + str(int(step)))
    return f"SELECT j, {number} AS number FROM generate_series(1, {int(k)}) AS j"  # noqa: S608


def load_open(cursor, *, first: int, last: int, world: dict, now: dt.datetime,
              chunk: int = 200_000) -> None:
    """Insert cases ``first`` to ``last`` (serials), open and not due."""
    columns = ("number, kind, item_version_id, applicant_id, submitted_by_id, agency_id, "
               "channel, status, outcome, outcome_reason, data, process_state, "
               "idempotency_key, query_code_hash, corrections, created_at, submitted_at, "
               "accepted_at, decided_at, closed_at, statutory_due, promised_due, "
               "due_provisional, paused_since, pause_reason, paused_workdays, "
               "extension_workdays, next_check_at")
    o = {name: expr.format(i="i") for name, expr in _OPEN.items()}
    sql = (f"INSERT INTO cases_case ({columns}) "  # noqa: S608 (constants and placeholders)
           f"SELECT {_NUMBER.format(i='i')}, 'approval', %(version)s, %(applicant)s, %(user)s, "
           f"%(agency)s, 'online', 'in_progress', '', '', '{{}}'::jsonb, '', '', '', 0, "
           f"{o['accepted_at']} - interval '2 hours', {o['accepted_at']} - interval '1 hour', "
           f"{o['accepted_at']}, NULL, NULL, {o['statutory_due']}, {o['promised_due']}, "
           f"false, NULL, '', 0, 0, {o['next_check_at']} "
           f"FROM generate_series(%(first)s, %(last)s) AS i")
    for start in range(first, last + 1, chunk):
        cursor.execute(sql, {**world, "now": now, "first": start,
                             "last": min(last, start + chunk - 1)})
        _say(f"  loaded cases {start:,}..{min(last, start + chunk - 1):,}")


def mark_due(cursor, *, step: int, k: int, world: dict, now: dt.datetime,
             look: dt.datetime) -> None:
    """Make the K cases of ``_due_set(step, k)`` due at ``look``: limits crossed, a task each."""
    sets = ", ".join(f"{name} = {expr}" for name, expr in _DUE.items())
    cursor.execute(f"UPDATE cases_case AS c SET {sets} "  # noqa: S608
                   f"FROM ({_due_set(step, k)}) AS d WHERE c.number = d.number",
                   {"now": now, "look": look})
    cursor.execute(
        "INSERT INTO cases_task (case_id, spiff_id, name, title, role, agency_id, status, "  # noqa: S608
        "claimed_by_id, decision, opinion, created_at, claimed_at, completed_at, due_at, "
        "version) "
        f"SELECT c.id, '{BENCH_SPIFF}', CASE WHEN mod(d.j, 5) = 0 THEN 'first_review' "
        "ELSE 'review' END, '审查', %(role)s, c.agency_id, 'open', NULL, '', '', "
        f"c.accepted_at, NULL, NULL, {_TASK_DUE}, 0 "
        f"FROM ({_due_set(step, k)}) AS d JOIN cases_case AS c ON c.number = d.number",
        {"now": now, "role": world["role"]})
    cursor.execute(
        "INSERT INTO cases_caseevent (case_id, task_id, type, at, actor_id, actor_label, "  # noqa: S608
        "agency_id, data, correlation_id) "
        "SELECT c.id, NULL, 'cases.accepted', c.accepted_at, %(user)s, '窗口受理员', "
        f"c.agency_id, '{{}}'::jsonb, '{BENCH_CORRELATION}' "
        f"FROM ({_due_set(step, k)}) AS d JOIN cases_case AS c ON c.number = d.number",
        {"user": world["clerk"]})


def unmark_due(cursor, *, step: int, k: int, now: dt.datetime) -> None:
    """Put the due cases back as loaded; drop their tasks, events and every alert."""
    cursor.execute("DELETE FROM supervision_alert")
    cursor.execute("DELETE FROM cases_task WHERE spiff_id = %s", [BENCH_SPIFF])
    cursor.execute("DELETE FROM cases_caseevent WHERE correlation_id = %s", [BENCH_CORRELATION])
    i = f"d.j * {int(step)}"
    sets = ", ".join(f"{name} = {expr.format(i=i)}" for name, expr in _OPEN.items())
    cursor.execute(f"UPDATE cases_case AS c SET {sets} "  # noqa: S608
                   f"FROM ({_due_set(step, k)}) AS d WHERE c.number = d.number",
                   {"now": now})


def vacuum_analyze(tables=("cases_case", "cases_task", "cases_caseevent",
                           "supervision_alert")) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"VACUUM ANALYZE {table}")


# --- measuring a sweep ----------------------------------------------------------------

def _status_kb(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _reset_peak_rss() -> bool:
    """Reset VmHWM (Linux), so the next reading is the peak of what follows."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
        return True
    except OSError:
        return False


class _Queries:
    """Counts the queries run while installed (``connection.execute_wrapper``)."""

    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


NOTICES: list[int] = []   # keys per notice batch the sweeps handed over


def measure_sweep(now: dt.datetime, *, trace: bool = False, profile: bool = False) -> dict:
    from django.db import connection

    from yizhan.supervision.detection import sweep
    from yizhan.supervision.models import Alert

    before = Alert.objects.count()
    notices = len(NOTICES)
    queries = _Queries()
    gc.collect()
    rss_before = _status_kb("VmRSS")
    hwm_reset = _reset_peak_rss()
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
    if trace:
        tracemalloc.start()
    with connection.execute_wrapper(queries):
        if profiler:
            profiler.enable()
        started = time.perf_counter()
        result = sweep(now=now)
        seconds = time.perf_counter() - started
        if profiler:
            profiler.disable()
    report = {"seconds": round(seconds, 3), "cases_read": result.cases,
              "batches": result.batches, "queries": queries.count,
              "alerts_reported": result.alerts}
    if trace:
        current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        report["tracemalloc_peak_mb"] = round(peak / 2**20, 2)
        report["tracemalloc_left_mb"] = round(current / 2**20, 2)
    if hwm_reset:
        # Growth of the resident set's peak over its size before the sweep:
        # 0 when the sweep fits in memory freed by what ran before it.
        report["rss_peak_growth_mb"] = round(max(0, _status_kb("VmHWM") - rss_before) / 1024, 1)
    report["alerts_written"] = Alert.objects.count() - before
    report["notice_batches"] = len(NOTICES) - notices
    if profiler:
        import io
        import pstats

        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(40)
        sys.stderr.write(out.getvalue())
    return report


def sweep_population(*, open_cases: int, due: int, world: dict, now: dt.datetime,
                     loaded: int, repeat: int, profile: bool, catch_up: bool,
                     ) -> tuple[dict, int]:
    """Load up to ``open_cases``, make ``due`` of them due, and measure the sweep.

    The steady sweep is timed ``repeat`` times from the same state (its
    median is the figure); the first run is checked by a second sweep at
    the same moment.  Returns the figures and the number of cases loaded.
    """
    from django.db import connection

    from yizhan.supervision.detection import sweep

    step = max(1, open_cases // due)

    def ready(mix: str) -> int:
        """Put the due cases in the state ``mix`` names; return the alerts raised earlier."""
        with connection.cursor() as cursor:
            unmark_due(cursor, step=step, k=due, now=now)
            mark_due(cursor, step=step, k=due, world=world, now=now,
                     look=now - EARLIER if mix == "steady" else now)
        earlier = sweep(now=now - EARLIER).alerts if mix == "steady" else 0
        vacuum_analyze()
        return earlier

    if open_cases > loaded:
        with connection.cursor() as cursor:
            load_open(cursor, first=loaded + 1, last=open_cases, world=world, now=now)
    _say(f"sweep: {due:,} due among {open_cases:,} open")
    load = os.getloadavg()[0]
    runs = []
    for _run in range(repeat):
        earlier = ready("steady")
        runs.append(measure_sweep(now))
        if len(runs) == 1:
            # Checked after the first sweep, before a second one could plan
            # what the first left due.
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM cases_case WHERE status = 'in_progress'")
                open_count = cursor.fetchone()[0]
                cursor.execute("SELECT count(*) FROM cases_case WHERE number LIKE %s "
                               "AND next_check_at <= %s", [PREFIX + "%", now])
                still_due = cursor.fetchone()[0]
            again = measure_sweep(now)
    first = runs[0]
    seconds = [r["seconds"] for r in runs]
    # The same sweep from the same state, traced for memory (tracing slows
    # it), and profiled if asked.
    ready("steady")
    traced = measure_sweep(now, trace=True)
    if profile:
        ready("steady")
        measure_sweep(now, profile=True)
    figures = {
        "open_cases": open_count,
        "due_cases": due,
        "mix": "steady",
        "load_average_1m": round(load, 2),
        "seconds": statistics.median(seconds),
        "seconds_runs": seconds,
        "cases_read": first["cases_read"],
        "batches": first["batches"],
        "queries": first["queries"],
        "alerts_raised_earlier": earlier,
        "alerts_written": first["alerts_written"],
        "alerts_per_due_case": round(first["alerts_written"] / max(1, due), 2),
        "notice_batches": first["notice_batches"],
        "cases_per_second": round(first["cases_read"] / statistics.median(seconds)),
        "rss_peak_growth_mb": first.get("rss_peak_growth_mb"),
        "tracemalloc_peak_mb": traced.get("tracemalloc_peak_mb"),
        "traced_run": traced,
        "second_sweep": {"seconds": again["seconds"], "cases_read": again["cases_read"],
                         "queries": again["queries"],
                         "alerts_written": again["alerts_written"]},
        "still_due_after": still_due,
    }
    if catch_up:
        ready("catch_up")
        _say(f"sweep: {due:,} due among {open_cases:,} open, catching up")
        load = os.getloadavg()[0]
        caught = measure_sweep(now)
        figures["catch_up"] = {
            "mix": "catch_up", "load_average_1m": round(load, 2),
            "seconds": caught["seconds"], "cases_read": caught["cases_read"],
            "queries": caught["queries"], "alerts_written": caught["alerts_written"],
            "alerts_per_due_case": round(caught["alerts_written"] / max(1, due), 2),
            "notice_batches": caught["notice_batches"],
            "rss_peak_growth_mb": caught.get("rss_peak_growth_mb"),
        }
    with connection.cursor() as cursor:
        unmark_due(cursor, step=step, k=due, now=now)
    return figures, max(loaded, open_cases)


# --- the on-event rules ---------------------------------------------------------------

def set_rules(enabled: bool) -> None:
    """Switch every rule on or off and make every worker reload them."""
    from django.db.models import F

    from yizhan.supervision.detection import rules_cache_clear
    from yizhan.supervision.models import Rule, RulesetVersion

    Rule.objects.update(enabled=enabled)
    if not RulesetVersion.objects.filter(pk=1).update(number=F("number") + 1):
        RulesetVersion.objects.create(pk=1, number=1)
    rules_cache_clear()


def event_cost(*, url: str, media: str, plan: dict, cases: int, workers: int,
               rounds: int) -> dict:
    """The lifecycle loop with every rule on and with every rule off, alternately."""
    from django.db import connections

    from yizhan.supervision.models import Alert

    per_worker = max(1, cases // workers)
    runs = []
    for _round in range(rounds):
        for enabled in (True, False):
            set_rules(enabled)
            alerts_before = Alert.objects.count()
            connections.close_all()
            base = len(runs) * workers   # fresh applicants, so idempotency keys never repeat
            jobs = [(base + i, url, media, plan, per_worker, False) for i in range(workers)]
            load = os.getloadavg()[0]
            with mp.get_context("spawn").Pool(workers) as pool:
                results = pool.map(lifecycle.worker, jobs)
            transitions = sum(r["transitions"] for r in results)
            seconds = max(r["seconds"] for r in results)
            runs.append({"rules": "enabled" if enabled else "disabled",
                         "transitions": transitions, "seconds": round(seconds, 2),
                         "transitions_per_second": round(transitions / seconds, 1),
                         "alerts_raised": Alert.objects.count() - alerts_before,
                         "load_average_1m": round(load, 2)})
            _say(f"events: rules {runs[-1]['rules']}: "
                 f"{runs[-1]['transitions_per_second']} transitions/s")
    set_rules(True)

    def rate(kind):
        chosen = [r for r in runs if r["rules"] == kind]
        return sum(r["transitions"] for r in chosen) / sum(r["seconds"] for r in chosen)

    on, off = rate("enabled"), rate("disabled")
    return {"cases_per_run": per_worker * workers, "concurrency": workers, "rounds": rounds,
            "transitions_per_second_enabled": round(on, 1),
            "transitions_per_second_disabled": round(off, 1),
            "relative_cost": round(1 - on / off, 3), "runs": runs}


# --- the run --------------------------------------------------------------------------

def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _world(plan: dict) -> dict:
    from yizhan.catalog.models import ItemVersion
    from yizhan.directory.models import Posting
    from yizhan.directory.roles import Role

    version = ItemVersion.objects.select_related("item").get(pk=plan["version"])
    agency_id = version.item.agency_id
    user_id, applicant_id = plan["applicants"][0]
    clerk = (Posting.objects.filter(post__agency_id=agency_id, post__role=Role.WINDOW_CLERK)
             .values_list("user_id", flat=True).first())
    return {"version": version.pk, "applicant": applicant_id, "user": user_id,
            "agency": agency_id, "clerk": clerk, "role": Role.REVIEWER.value}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--cases", type=int, default=1_000_000, help="open cases")
    parser.add_argument("--due", type=int, default=10_000, help="cases due for the sweep")
    parser.add_argument("--small", type=int, default=None,
                        help="open cases of the comparison run (default N/10)")
    parser.add_argument("--db", default="yizhan_bench_supervision",
                        help="database to (re)create")
    parser.add_argument("--event-cases", type=int, default=40,
                        help="cases per lifecycle run for the on-event cost (0: skip)")
    parser.add_argument("-c", "--concurrency", type=int, default=2,
                        help="worker processes of the lifecycle runs")
    parser.add_argument("--event-rounds", type=int, default=2,
                        help="pairs of lifecycle runs (rules on, rules off)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="timed runs of each steady sweep (the median is reported)")
    parser.add_argument("--profile", action="store_true",
                        help="cProfile the large sweep to stderr")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    configured = os.environ.get("DATABASE_URL", "")
    if not configured.startswith("postgres"):
        # `make bench` runs every script: say why this one did not run, as JSON.
        print(json.dumps({"benchmark": "supervision", "skipped": (
            "needs PostgreSQL (it bulk-loads with generate_series and measures the sweep's "
            "PostgreSQL path); set DATABASE_URL=postgres://...")}))
        return
    small = args.small if args.small is not None else max(args.due, args.cases // 10)
    if not args.due <= small <= args.cases:
        sys.exit("need --due <= --small <= -n")
    started = time.perf_counter()
    load_start = os.getloadavg()
    tmp = tempfile.mkdtemp(prefix="yizhan-bench-")
    media = os.path.join(tmp, "media")
    url = lifecycle._recreate_pg(configured, args.db)
    lifecycle._env(url, media)
    lifecycle._setup_django()
    _say("migrating and building the world")
    runs = 2 * args.event_rounds if args.event_cases else 0
    plan = lifecycle.prepare(max(1, runs * args.concurrency))
    world = _world(plan)

    from django.db import connection
    from django.utils import timezone

    from yizhan.supervision import detection

    # The notices run elsewhere (Celery, or the embedded runner's thread);
    # the sweep's part is to hand them over: count them, do not send them.
    detection.enqueue = lambda name, **kw: NOTICES.append(len(kw.get("keys", ())))
    now = timezone.now()

    loaded = 0
    sweeps = {}
    for label, open_cases in (("small", small), ("large", args.cases)):
        figures, loaded = sweep_population(open_cases=open_cases, due=args.due, world=world,
                                           now=now, loaded=loaded, repeat=args.repeat,
                                           catch_up=label == "large",
                                           profile=args.profile and label == "large")
        sweeps[label] = figures

    events = None
    if args.event_cases:
        events = event_cost(url=url, media=media, plan=plan, cases=args.event_cases,
                            workers=args.concurrency, rounds=args.event_rounds)

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server = cursor.fetchone()[0]
        cursor.execute("SHOW shared_buffers")
        shared_buffers = cursor.fetchone()[0]
    large, small_run = sweeps["large"], sweeps["small"]
    memory_ratio = (large["tracemalloc_peak_mb"] / small_run["tracemalloc_peak_mb"]
                    if small_run["tracemalloc_peak_mb"] else None)
    standard = args.cases >= 1_000_000 and args.due >= 10_000
    targets = {
        "sweep_seconds": {
            "target": f"< {TARGET_SWEEP_SECONDS} s for 10,000 due among 1,000,000 open",
            "mix": "steady",
            "measured": large["seconds"],
            "at_standard_size": standard,
            "met": large["seconds"] < TARGET_SWEEP_SECONDS,
        },
        "sweep_seconds_catch_up": {
            "target": f"< {TARGET_SWEEP_SECONDS} s, the same due cases raising every line "
                      "they have crossed",
            "mix": "catch_up",
            "informational": True,
            "measured": large["catch_up"]["seconds"],
            "at_standard_size": standard,
            "met": large["catch_up"]["seconds"] < TARGET_SWEEP_SECONDS,
        },
        "memory_independent_of_open": {
            "target": f"tracemalloc peak at N open <= {TARGET_MEMORY_RATIO} x at N/10 open",
            "measured_ratio": round(memory_ratio, 3) if memory_ratio else None,
            "met": memory_ratio is not None and memory_ratio <= TARGET_MEMORY_RATIO,
        },
        "sweep_correct": {
            "target": "every due case read once, none left due, a second sweep at the "
                      "same moment reads and writes nothing",
            "met": all(s["cases_read"] == args.due and s["still_due_after"] == 0
                       and s["second_sweep"]["cases_read"] == 0
                       and s["second_sweep"]["alerts_written"] == 0
                       and s["traced_run"]["alerts_written"] == s["alerts_written"]
                       for s in sweeps.values())
                   and large["catch_up"]["cases_read"] == args.due,
        },
    }
    if events:
        targets["on_event_cost"] = {
            "target": f"< {TARGET_EVENT_COST:.0%} fewer transitions/s with the rules on",
            "measured": events["relative_cost"],
            "met": events["relative_cost"] < TARGET_EVENT_COST,
        }
    report = {
        "benchmark": "supervision",
        "database": "postgresql",
        "server_version": server,
        "shared_buffers": shared_buffers,
        "now": now.isoformat(),
        "sweep_batch": detection.BATCH,
        "mixes": {
            "steady": "each due case crosses one line now; the lines it crossed before "
                      "were raised by an earlier sweep, which planned this look",
            "catch_up": "no earlier sweep: each due case raises every line it has crossed",
        },
        "sweep_small": small_run,
        "sweep_large": large,
        "time_ratio_large_to_small": round(large["seconds"] / small_run["seconds"], 3),
        "on_event": events,
        "targets": targets,
        "all_met": all(t["met"] for t in targets.values() if not t.get("informational")),
        "cpus": os.cpu_count(),
        "load_average_at_start": [round(x, 2) for x in load_start],
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "total_seconds": round(time.perf_counter() - started, 1),
    }
    connection.close()
    print(json.dumps(report, ensure_ascii=False))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
