"""PostgreSQL benchmarks of issue #21 that exist so far, on a database of their own.

    make bench-postgres DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres [SCALE=1000000]

Creates ``<database>_bench_<pid>`` on the server of ``DATABASE_URL`` (or
``BENCH_POSTGRES_URL``), migrates it, measures, and drops it again, also on failure.

1. import: ``leadsieve import-leads`` of ``SCALE`` generated rows into the empty database
   (bench_import's file and mapping), then ``SCALE`` more with the first ones stored;
2. workers: the leads are rescored by ``rescore_leads_task`` tasks of 500 leads, run by 1, 2
   and 4 ``leadsieve worker --batch`` processes; tasks per second from the first task's
   start to the last one's end (the database's own timestamps: process start-up is not
   counted).

The last line is one JSON object with the keys of #21; a key this script does not measure
yet (lists, boards, reports, rescoring at 10M) is null, never estimated.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_import import LEADSIEVE, MAPPING, generate, run, timed_import

TASK_LEADS = 500
WORKER_COUNTS = (1, 2, 4)


def _server_url(url: str, name: str) -> str:
    return url.rsplit("/", 1)[0] + f"/{name}"


def _environment(url: str, folder: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=url,
        SECRET_KEY="bench-only-not-a-secret",
        LEADSIEVE_DATA_DIR=str(folder),
        LEADSIEVE_TASKS_BACKEND="django_tasks_db.DatabaseBackend",
        DJANGO_SETTINGS_MODULE="leadsieve.config.settings",
    )
    env.pop("LEADSIEVE_DEMO", None)
    return env


ENQUEUE = """
import sys, django
django.setup()
from leadsieve.leads.models import Lead
from leadsieve.scoring.tasks import rescore_leads_task
ids = list(Lead.objects.order_by("id").values_list("id", flat=True))
size = int(sys.argv[1])
for start in range(0, len(ids), size):
    chunk = ids[start : start + size]
    rescore_leads_task.enqueue(id_runs=[[chunk[0], chunk[-1]]])
print((len(ids) + size - 1) // size)
"""


def _workers_tasks_per_s(url: str, env: dict[str, str], n_workers: int) -> tuple[float, int]:
    with psycopg.connect(url, autocommit=True) as db:
        db.execute("DELETE FROM django_tasks_database_dbtaskresult")
    n_tasks = int(run([sys.executable, "-c", ENQUEUE, str(TASK_LEADS)], env).strip())
    workers = [
        subprocess.Popen(
            [LEADSIEVE, "worker", "--batch", "--interval", "0.1", "--no-startup-delay"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(n_workers)
    ]
    for worker in workers:
        if worker.wait() != 0:
            raise SystemExit(f"a worker failed (exit {worker.returncode})")
    with psycopg.connect(url) as db:
        row = db.execute(
            "SELECT count(*) FILTER (WHERE status = 'SUCCESSFUL'),"
            " extract(epoch FROM max(finished_at) - min(started_at))"
            " FROM django_tasks_database_dbtaskresult"
        ).fetchone()
    assert row is not None
    n_done, seconds = int(row[0]), float(row[1])
    if n_done != n_tasks:
        raise SystemExit(f"{n_done} of {n_tasks} tasks succeeded with {n_workers} workers")
    return n_tasks / seconds, n_tasks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=int(os.environ.get("SCALE") or 1_000_000))
    parser.add_argument("--seed", type=int, default=20260101)
    options = parser.parse_args()
    base_url = os.environ.get("BENCH_POSTGRES_URL") or os.environ.get("DATABASE_URL") or ""
    if not base_url.startswith(("postgres://", "postgresql://")):
        raise SystemExit(
            "bench-postgres needs DATABASE_URL=postgres://… (a server it may create a database on)"
        )
    # Named after the database of the URL: the server's other databases are left alone.
    name = f"{base_url.rsplit('/', 1)[1].split('?')[0] or 'leadsieve'}_bench_{os.getpid()}"
    url = _server_url(base_url, name)
    admin_url = _server_url(base_url, "postgres")
    folder = Path(tempfile.mkdtemp(prefix="leadsieve-bench-postgres-"))
    mapping = folder / "mapping.toml"
    mapping.write_text(MAPPING, encoding="utf-8")
    first_csv, second_csv = folder / "leads-1.csv", folder / "leads-2.csv"
    print(f"generating {options.rows:,} rows ×2 in {folder}", file=sys.stderr)
    generate(first_csv, options.rows, options.seed)
    generate(second_csv, options.rows, options.seed + 1)
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    load_before = os.getloadavg()[0]
    try:
        env = _environment(url, folder)
        run([LEADSIEVE, "migrate", "--no-input", "-v0"], env)
        seconds, cpu, summary = timed_import(first_csv, mapping, env)
        print(f"import into an empty database: {summary} in {seconds:.1f} s", file=sys.stderr)
        seconds_2, cpu_2, summary_2 = timed_import(second_csv, mapping, env)
        print(
            f"import with {options.rows:,} stored: {summary_2} in {seconds_2:.1f} s",
            file=sys.stderr,
        )
        per_s = {}
        for n in WORKER_COUNTS:
            per_s[n], n_tasks = _workers_tasks_per_s(url, env, n)
            print(f"{n} workers: {n_tasks} tasks, {per_s[n]:.2f} tasks/s", file=sys.stderr)
            time.sleep(1)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    result = {
        "scale": options.rows,
        "pg_import_leads_per_s": round(options.rows / seconds),
        "pg_import_with_stored_leads_per_s": round(options.rows / seconds_2),
        "pg_import_leads_per_cpu_s": round(options.rows / cpu),
        "pg_import_with_stored_leads_per_cpu_s": round(options.rows / cpu_2),
        "pg_list_p95_ms": None,
        "pg_board_p95_ms": None,
        "pg_detail_p95_ms": None,
        "pg_report_p95_ms": None,
        "pg_rescore_s": None,
        **{f"pg_workers_{n}_tasks_per_s": round(per_s[n], 2) for n in WORKER_COUNTS},
        "pg_worker_task_leads": TASK_LEADS,
        "load_average": round(max(load_before, os.getloadavg()[0]), 1),
        "cpu_count": os.cpu_count(),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
