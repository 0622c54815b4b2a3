"""Throughput of the case engine, from submission to delivered certificate.

Creates N cases of a parallel item (one accepting agency, three reviewing
agencies) and drives each through the service layer — create, upload,
submit, accept, four reviews, joint decision, certificate, delivery — every
step its own committed transaction, as a user's click would be, with C
worker processes at once.  In the same run it measures ``pgbench -c C``
(TPC-B) against the same PostgreSQL server, so the result is a ratio that
means something on a noisy machine.

    DATABASE_URL=postgres://postgres@127.0.0.1/yizhan python bench/lifecycle.py -n 200 -c 4

Uses (and recreates) the database named by ``--db`` (default
``yizhan_bench``) on the configured server; on SQLite, a file in a temporary
directory.  Prints one JSON object.  ``--profile`` writes the top of a
cProfile of worker 0 to stderr.
"""

import argparse
import json
import multiprocessing as mp
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
       b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
       b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
       b"trailer<</Root 1 0 R>>\n%%EOF\n")


def _env(database_url: str, media: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("SECRET_KEY", "bench-secret-key-not-for-production-0123456789")
    os.environ.setdefault("YIZHAN_FIELD_KEY", "000102030405060708090a0b0c0d0e0f")
    os.environ["YIZHAN_MEDIA_ROOT"] = media
    os.environ["YIZHAN_LOG_LEVEL"] = "WARNING"
    os.environ["DJANGO_SETTINGS_MODULE"] = "yizhan.settings"


def _setup_django():
    import django

    django.setup()
    from django.conf import settings

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.YIZHAN_SMS_BACKEND = "yizhan.core.notify.MemorySmsBackend"


def prepare(n_workers: int) -> dict:
    """Migrate and build the world: agencies, staff, citizens, a parallel item."""
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from tests.factories import build_world, item_content, valid_credit_code

    from yizhan.catalog import services as catalog
    from yizhan.directory import services as directory
    from yizhan.directory.models import Applicant
    from yizhan.directory.roles import Role

    world = build_world()
    joint = [world.agency_b]
    for index, name in enumerate(("丙局", "丁局"), start=1):
        agency = directory.agency_create(actor=world.admin, name=name, kind="department",
                                         division_code="449900",
                                         credit_code=valid_credit_code(300 + index, "449900"))
        post = directory.post_create(actor=world.admin, agency=agency, name="审查岗",
                                     role=Role.REVIEWER)
        directory.staff_create(actor=world.admin, post=post, username=f"j{index}.reviewer",
                               full_name=f"{name}审查员", password="Bench-pass-2026!")
        joint.append(agency)
    content = item_content("开办餐饮店“一件事”（基准）", process_template="parallel",
                           joint_agencies=[a.name for a in joint],
                           materials=[{"name": "申请书"}, {"name": "营业执照"}])
    version = catalog.item_create(actor=world.admin, agency=world.agency_a, data=content)
    catalog.item_version_submit(actor=world.admin, version=version)
    catalog.item_version_publish(actor=world.user("a", Role.SYSADMIN), version=version)
    applicants = []
    for worker in range(n_workers):
        user = world.citizen if worker == 0 else None
        if user is None:
            from tests.factories import valid_id_number

            from yizhan.directory.services import person_sign_up

            user = person_sign_up(username=f"bench{worker}", full_name=f"申请人{worker}",
                                  id_number=valid_id_number(seq=100 + worker),
                                  password="Bench-pass-2026!")
        applicants.append((user.pk, Applicant.objects.get(user=user).pk))
    return {"version": version.pk, "applicants": applicants}


def worker(args):
    index, database_url, media, plan, cases, profile = args
    _env(database_url, media)
    _setup_django()
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.db import connection

    from yizhan.accounts.models import User
    from yizhan.cases import services
    from yizhan.cases.models import Task
    from yizhan.catalog.models import ItemVersion
    from yizhan.core import tasks
    from yizhan.directory.models import Applicant, Posting

    queued = []
    tasks.enqueue = lambda name, **kw: queued.append((name, kw))  # run below, timed apart
    import yizhan.cases.services as services_module

    services_module.enqueue = tasks.enqueue
    version = ItemVersion.objects.get(pk=plan["version"])
    user_id, applicant_id = plan["applicants"][index]
    user = User.objects.get(pk=user_id)
    applicant = Applicant.objects.get(pk=applicant_id)
    staff = {}
    for posting in Posting.objects.select_related("user", "post"):
        staff.setdefault((posting.post.agency_id, posting.post.role), posting.user)
    materials = list(version.materials.all())
    by_step: dict[str, list[float]] = {}   # each transition's latency, by kind of step

    def timed(step, fn, *a, **kw):
        start = time.perf_counter()
        result = fn(*a, **kw)
        by_step.setdefault(step, []).append(time.perf_counter() - start)
        return result

    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    started = time.perf_counter()
    for number in range(cases):
        case = timed("create", services.case_create, actor=user, item_version=version,
                     applicant=applicant, idempotency_key=f"bench-{index}-{number}")
        for material in materials:
            timed("upload", services.material_upload, actor=user, case=case,
                  material_id=material.pk,
                  upload=SimpleUploadedFile("m.pdf", PDF, content_type="application/pdf"))
        case, _code = timed("submit", services.case_submit, actor=user, case=case)
        while True:
            open_tasks = list(Task.objects.filter(case=case, status=Task.Status.OPEN)
                              .order_by("id"))
            if not open_tasks:
                break
            for task in open_tasks:
                timed(services.task_kind(task.name), services.task_complete,
                      actor=staff[(task.agency_id, task.role)], task=task, decision="approve")
                while queued:
                    name, kw = queued.pop(0)
                    if name == "cases.issue_certificate":
                        timed("certificate", tasks.run_now, name, **kw)  # a step of its own
                    else:
                        tasks.run_now(name, **kw)  # notifications: not transitions
    elapsed = time.perf_counter() - started
    if profiler is not None:
        import io
        import pstats

        profiler.disable()
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out).sort_stats("cumulative")
        stats.print_stats(35)
        stats.print_callees("certificate_issue_for_case|task_complete|case_submit")
        sys.stderr.write(out.getvalue())
    connection.close()
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"cases": cases, "seconds": elapsed,
            "by_step": by_step,
            "peak_rss_mb": round(peak_kb / 1024, 1)}


def pgbench_tps(url: str, clients: int, seconds: int) -> float | None:
    if shutil.which("pgbench") is None:
        return None
    parsed = urlparse(url)
    env = dict(os.environ, PGPASSWORD=parsed.password or "")
    base = ["-h", parsed.hostname or "127.0.0.1", "-p", str(parsed.port or 5432),
            "-U", parsed.username or "postgres"]
    db = parsed.path.lstrip("/")
    subprocess.run(["pgbench", "-i", "-q", "-s", "1", *base, db], env=env, check=True,
                   capture_output=True)
    result = subprocess.run(["pgbench", "-c", str(clients), "-j", str(clients), "-T",
                             str(seconds), *base, db], env=env, check=True,
                            capture_output=True, text=True)
    match = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", result.stdout)
    return float(match.group(1)) if match else None


def _recreate_pg(url: str, name: str) -> str:
    import psycopg

    parsed = urlparse(url)
    admin = urlunparse(parsed._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlunparse(parsed._replace(path=f"/{name}"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--cases", type=int, default=100, help="cases in all")
    parser.add_argument("-c", "--concurrency", type=int, default=4, help="worker processes")
    parser.add_argument("--db", default="yizhan_bench", help="database to (re)create")
    parser.add_argument("--pgbench-seconds", type=int, default=15)
    parser.add_argument("--profile", action="store_true", help="cProfile worker 0 to stderr")
    args = parser.parse_args()

    configured = os.environ.get("DATABASE_URL", "")
    tmp = tempfile.mkdtemp(prefix="yizhan-bench-")
    media = os.path.join(tmp, "media")
    if configured.startswith("postgres"):
        url = _recreate_pg(configured, args.db)
    else:
        url = f"sqlite:///{tmp}/bench.sqlite3"
    _env(url, media)
    sys.path.insert(0, str(ROOT))
    _setup_django()
    plan = prepare(args.concurrency)
    from django.db import connections

    connections.close_all()
    per_worker = max(1, args.cases // args.concurrency)
    jobs = [(i, url, media, plan, per_worker, args.profile and i == 0)
            for i in range(args.concurrency)]
    started = time.perf_counter()
    with mp.get_context("spawn").Pool(args.concurrency) as pool:
        results = pool.map(worker, jobs)
    wall = time.perf_counter() - started
    latencies = sorted(x for r in results for values in r["by_step"].values() for x in values)
    transitions = len(latencies)
    cases = sum(r["cases"] for r in results)
    # Where the time goes: each kind of step's count, median latency and
    # share of all the time spent in steps.
    spent: dict[str, list[float]] = {}
    for r in results:
        for step, values in r["by_step"].items():
            spent.setdefault(step, []).extend(values)
    total = sum(latencies)
    steps = {step: {"count": len(values),
                    "latency_ms_p50": round(statistics.median(values) * 1000, 2),
                    "share_of_time": round(sum(values) / total, 3)}
             for step, values in sorted(spent.items(), key=lambda kv: -sum(kv[1]))}
    tps = None
    if url.startswith("postgres"):
        tps = pgbench_tps(url, args.concurrency, args.pgbench_seconds)
    report = {
        "benchmark": "lifecycle",
        "database": "postgresql" if url.startswith("postgres") else "sqlite",
        "concurrency": args.concurrency,
        "cases": cases,
        "transitions": transitions,
        "seconds": round(wall, 2),
        "transitions_per_second": round(transitions / wall, 1),
        "cases_per_second": round(cases / wall, 2),
        "latency_ms_p50": round(statistics.median(latencies) * 1000, 2),
        "latency_ms_p99": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 2),
        "steps": steps,
        "peak_worker_rss_mb": max(r["peak_rss_mb"] for r in results),
        "pgbench_tps": tps,
        "ratio_to_pgbench": round(transitions / wall / tps, 3) if tps else None,
        "cpus": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(report, ensure_ascii=False))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
