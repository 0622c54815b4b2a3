"""Benchmark: deadlines from the working-day index against a day-by-day loop.

Computes 100,000 statutory deadlines (receipt moments spread over
2004–2026, limits of 1 to 60 working days) twice in the same run: with
``WorkdayCalendar.deadline`` (a lookup and a binary search) and with a
naive baseline that walks forward one day at a time over the same
exception table, alternately so machine load affects both alike; then
once per fixed limit (1 to 250 working days) on a fifth of the sample.
Both must give identical answers (exit status 1 otherwise).  Prints one JSON
object; no database or Django settings are needed::

    .venv/bin/python bench/workdays.py [--count 100000] [--repeat 3]
"""

import argparse
import datetime as dt
import json
import platform
import random
import sys
import time
from zoneinfo import ZoneInfo

from yizhan.workdays.arithmetic import Deadline, WorkdayCalendar
from yizhan.workdays.source import calendar_from_package, package_version

TZ = ZoneInfo("Asia/Shanghai")
ONE_DAY = dt.timedelta(days=1)


def naive_deadline(exceptions: dict, received_at: dt.datetime, n: int) -> Deadline:
    """The baseline: the same rule, found by stepping one day at a time."""
    day = received_at.astimezone(TZ).date()
    found = 0
    while found < n:
        day += ONE_DAY
        flag = exceptions.get(day)
        if flag if flag is not None else day.weekday() < 5:
            found += 1
    return Deadline(at=dt.datetime.combine(day, dt.time.max, tzinfo=TZ), date=day,
                    provisional=False)


def inputs(count: int, seed: int) -> list[tuple[dt.datetime, int]]:
    rng = random.Random(seed)
    first = dt.datetime(2004, 1, 1, tzinfo=TZ).timestamp()
    last = dt.datetime(2026, 9, 30, tzinfo=TZ).timestamp()
    return [(dt.datetime.fromtimestamp(rng.uniform(first, last), tz=TZ), rng.randint(1, 60))
            for _ in range(count)]


def race(repeat: int, indexed, naive) -> tuple[float, float, list, list]:
    """Best times of both variants, run alternately so load hits both alike."""
    best = [float("inf"), float("inf")]
    results: list = [None, None]
    for _ in range(repeat):
        for k, func in enumerate((indexed, naive)):
            start = time.perf_counter()
            results[k] = func()
            best[k] = min(best[k], time.perf_counter() - start)
    return best[0], best[1], results[0], results[1]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000,
                        help="number of deadlines to compute (default 100000)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of each variant; the best is reported (default 3)")
    parser.add_argument("--seed", type=int, default=20261001, help="random seed")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    calendar: WorkdayCalendar = calendar_from_package()
    build_seconds = time.perf_counter() - start
    exceptions = calendar.exceptions()
    work = inputs(args.count, args.seed)

    indexed_seconds, naive_seconds, indexed, naive = race(
        args.repeat,
        lambda: [calendar.deadline(at, n, TZ) for at, n in work],
        lambda: [naive_deadline(exceptions, at, n) for at, n in work])
    agree = all(a.at == b.at and a.date == b.date for a, b in zip(indexed, naive, strict=True))

    # The same with one fixed limit at a time: the index costs the same
    # whatever the limit, the loop grows with it.
    by_limit = {}
    sample = work[: max(1, args.count // 5)]
    for limit in (1, 5, 20, 60, 250):
        fast, slow, a, b = race(
            args.repeat,
            lambda limit=limit: [calendar.deadline(at, limit, TZ) for at, _n in sample],
            lambda limit=limit: [naive_deadline(exceptions, at, limit) for at, _n in sample])
        agree = agree and all(x.at == y.at for x, y in zip(a, b, strict=True))
        by_limit[str(limit)] = {
            "indexed_microseconds": round(fast / len(sample) * 1e6, 3),
            "naive_microseconds": round(slow / len(sample) * 1e6, 3),
            "ratio": round(slow / fast, 2),
        }

    print(json.dumps({
        "benchmark": "workdays.deadline",
        "computations": args.count,
        "limit_working_days": "uniform 1..60",
        "received": "uniform 2004-01-01..2026-09-30, Asia/Shanghai",
        "repeat_best_of": args.repeat,
        "index_build_seconds": round(build_seconds, 4),
        "indexed_seconds": round(indexed_seconds, 4),
        "naive_loop_seconds": round(naive_seconds, 4),
        "indexed_microseconds_per_deadline": round(indexed_seconds / args.count * 1e6, 3),
        "naive_microseconds_per_deadline": round(naive_seconds / args.count * 1e6, 3),
        "ratio_naive_over_indexed": round(naive_seconds / indexed_seconds, 2),
        "by_fixed_limit": by_limit,
        "results_agree": agree,
        "chinesecalendar": package_version(),
        "python": platform.python_version(),
    }, indent=2))
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
