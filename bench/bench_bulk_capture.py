"""Bulk capture, one call at a time: ``POST /api/v1/leads/bulk`` with 1,000 leads, profiled.

What ``make bench-api``'s bulk case sends (bench_api.py's LUA bulk script: unique emails and
last names, 500 company names, one country), posted through Django's test client with an
API token, so each call runs what the server runs (middleware, body parser, schema, the
service ``create_leads_via_api_once``, the answer) and then, after its commit, the
synchronous rescoring of the touched leads, on a database holding N leads
(SQLite: a copy of the file ``bench_ui.py`` builds and caches in ``bench/out/``;
PostgreSQL: ``BENCH_BULK_POSTGRES_URL``, default database ``bench_bulk``, created and filled
by ``bench_ui.build`` when it has no ``alice``, then kept; each run adds its leads to it).

Prints the wall and CPU time of each call and of its phases (the request around the
service; cleaning, writing and the rest of the capture transaction; the rescoring hook run
after commit), a cProfile top list (of a few more calls, run after the timed ones: the profiler
slows Python down), and ends with one JSON line
``{"bulk_leads_per_s", "ms_per_call", "cpu_ms_per_call", "tx_ms", ..., "machine_ref_s"}``.
``bulk_leads_per_s`` is one client's rate, one call after the other: a single SQLite writer
cannot go faster than 1,000 / ``tx_ms`` a second whatever the number of clients.

Run: ``python bench/bench_bulk_capture.py [--db sqlite|postgres] [--leads N] [--calls K]``
(``make bench-bulk``).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT))

from bench.bench_api import BULK_SIZE, machine_ref_s  # noqa: E402

POSTGRES_URL = os.environ.get(
    "BENCH_BULK_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/bench_bulk"
)
WARMUP_CALLS = 2
N_COMPANIES = 500


def configure(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret")
    os.environ["ALLOWED_HOSTS"] = "testserver,localhost"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadsieve.config.settings")
    import django

    django.setup()


def sqlite_copy(n_leads: int) -> str:
    """A fresh copy of bench_ui's cached file (built there if absent)."""
    cached = OUT / f"bench_ui_{n_leads}.sqlite3"
    if not cached.exists():
        import subprocess

        print(f"building {cached} (once)…", file=sys.stderr, flush=True)
        builder = [sys.executable, str(ROOT / "bench" / "bench_ui.py"), "--leads", str(n_leads)]
        subprocess.run([*builder, "--repeat", "1"], check=True, stdout=subprocess.DEVNULL)
    target = OUT / "bench_bulk.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(cached, target)
    return f"sqlite:///{target}"


def ensure_postgres_database(url: str) -> str:
    """The database of ``url``, created (empty) when it does not exist yet."""
    import psycopg

    server, name = url.rsplit("/", 1)
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists is None:
            admin.execute(f'CREATE DATABASE "{name}"')
    return url


def prepare(n_leads: int) -> str:
    """Migrate, fill when empty, ANALYZE; a fresh API token for alice (plain text)."""
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    from leadsieve.accounts.models import User
    from leadsieve.api.services import create_api_token

    if not User.objects.filter(username="alice").exists():
        from bench import bench_ui

        started = time.time()
        bench_ui.build(n_leads)
        print(f"built {n_leads:,} leads in {time.time() - started:.0f} s", file=sys.stderr)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    _, token = create_api_token(User.objects.get(username="alice"), name="bench-bulk")
    return token


def bulk_body(call: int, tag: str) -> bytes:
    """The body bench_api's LUA bulk script sends: 1,000 unique leads."""
    rows = []
    for i in range(BULK_SIZE):
        n = call * BULK_SIZE + i
        rows.append(
            {
                "first_name": "Bulk",
                "last_name": f"R{tag}{n}",
                "email": f"w{tag}-{n}@bench.example",
                "company_name": f"Bulk Co {n % N_COMPANIES}",
                "country": "DE",
            }
        )
    return json.dumps({"leads": rows}).encode()


class Phases:
    """Wall time spent inside a few functions, per call (wrapped in place, for timing only)."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = {}

    def wrap(self, module: Any, name: str, label: str) -> None:  # Any: a module object
        original: Callable[..., Any] = getattr(module, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            started, cpu = time.perf_counter(), time.process_time()
            try:
                return original(*args, **kwargs)
            finally:
                wall, cpu = time.perf_counter() - started, time.process_time() - cpu
                self.spent[label] = self.spent.get(label, 0.0) + wall
                self.spent[f"{label}_cpu"] = self.spent.get(f"{label}_cpu", 0.0) + cpu

        setattr(module, name, timed)

    def take(self) -> dict[str, float]:
        spent, self.spent = self.spent, {}
        return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--leads", type=int, default=1_000_000, help="Leads stored first.")
    parser.add_argument("--calls", type=int, default=20, help="Timed calls (after 2 warm-up).")
    parser.add_argument("--top", type=int, default=35, help="Lines of the profile printed.")
    parser.add_argument(
        "--profiled-calls",
        type=int,
        default=3,
        help="Calls run under cProfile, after the timed ones.",
    )
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    ref_before = machine_ref_s()
    print(f"machine_ref_s {ref_before} (load average {os.getloadavg()[0]:.1f})", flush=True)
    configure(
        sqlite_copy(args.leads) if args.db == "sqlite" else ensure_postgres_database(POSTGRES_URL)
    )
    token = prepare(args.leads)

    from django.db import connection
    from django.test import Client

    from leadsieve import pipeline
    from leadsieve.api import services
    from leadsieve.leads import capture
    from leadsieve.leads.models import Lead
    from leadsieve.leads.services import writing
    from leadsieve.scoring import rescoring

    n_stored = Lead.objects.count()
    print(f"{args.db}: {n_stored:,} leads stored", flush=True)
    phases = Phases()
    phases.wrap(services, "create_leads_via_api_once", "service")
    phases.wrap(capture, "clean_rows", "clean")
    if hasattr(services, "prepare_bulk"):  # cleaning (and staging) before the transaction
        phases.wrap(services, "prepare_bulk", "clean")
    phases.wrap(writing, "write_batch", "write")
    # Wrapped where the pipeline looks them up (its own imported names).
    phases.wrap(pipeline, "rescore_touched_leads", "rescore")
    phases.wrap(pipeline, "score_new_leads", "score_before_insert")
    for name in ("lead_columns", "activity_columns", "score_leads", "reconcile_scores"):
        phases.wrap(rescoring, name, "rescore_read")  # reading and scoring the touched leads

    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    tag = f"{os.getpid()}{int(time.time())}"
    profiler = cProfile.Profile()
    samples: list[dict[str, float]] = []
    n_timed_end = WARMUP_CALLS + args.calls
    for call in range(n_timed_end + args.profiled_calls):
        body = bulk_body(call, tag)
        timed = WARMUP_CALLS <= call < n_timed_end  # then a few calls under the profiler
        cpu, wall = time.process_time(), time.perf_counter()
        if call >= n_timed_end:
            profiler.enable()
        response = client.post("/api/v1/leads/bulk", body, content_type="application/json")
        if call >= n_timed_end:
            profiler.disable()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        assert response.status_code == 200, response.content[:500]
        answer = response.json()
        assert answer["n_created"] == BULK_SIZE, {k: answer[k] for k in ("n_created", "n_merged")}
        spent = phases.take()
        if timed:
            samples.append({"wall": wall, "cpu": cpu, **spent})
    # Every lead the calls captured was scored by the hook (it logs and swallows errors).
    unscored = Lead.objects.filter(email__endswith="@bench.example", scored_at__isnull=True)
    n_unscored = unscored.filter(email__startswith=f"w{tag}-").count()
    assert n_unscored == 0, f"{n_unscored} captured leads were not scored"
    connection.close()

    def mean_ms(key: str) -> float:
        return round(1000 * statistics.mean(s.get(key, 0.0) for s in samples), 1)

    def sd_ms(key: str) -> float:
        values = [s.get(key, 0.0) for s in samples]
        return round(1000 * statistics.stdev(values), 1) if len(values) > 1 else 0.0

    keys = (
        "wall",
        "cpu",
        "service",
        "clean",
        "write",
        "score_before_insert",
        "rescore",
        "rescore_read",
    )
    figures = {key: mean_ms(key) for key in keys}
    figures.update({f"{key}_cpu": mean_ms(f"{key}_cpu") for key in keys[2:]})
    # The capture transaction: the service less its cleaning (before the transaction, once
    # the transaction was narrowed) and less the rescoring its commit ran.
    for suffix in ("", "_cpu"):
        figures[f"tx{suffix}"] = round(
            figures[f"service{suffix}"] - figures[f"rescore{suffix}"] - figures[f"clean{suffix}"],
            1,
        )
        figures[f"request_only{suffix}"] = round(
            figures["wall" if not suffix else "cpu"] - figures[f"service{suffix}"], 1
        )
    print(f"\nper call, mean of {len(samples)} (ms), wall and CPU (this process only):")
    for label, key in (
        ("whole call", ""),
        ("  request around the service", "request_only"),
        ("  cleaning the rows", "clean"),
        ("  capture transaction, the rest", "tx"),
        ("    of which write_batch", "write"),
        ("      of which scoring new leads", "score_before_insert"),
        ("  rescoring after commit", "rescore"),
        ("    of which reading and scoring", "rescore_read"),
    ):
        wall_key, cpu_key = (key or "wall"), (f"{key}_cpu" if key else "cpu")
        spread = f" ± {sd_ms(wall_key):5.1f}" if wall_key in samples[0] else "        "
        print(f"  {label:34s} {figures[wall_key]:7.1f}{spread}   CPU {figures[cpu_key]:7.1f}")
    print("  (capture transaction: the service less cleaning and rescoring. On SQLite the write")
    print("   lock is held for it and for the rescoring's transaction: before this change all")
    print("   of the rescoring, with it the rescoring less its reading and scoring)")

    if args.profiled_calls:
        profiler.dump_stats(OUT / f"bench_bulk_{args.db}.prof")  # for pstats' callers/callees
        stream = io.StringIO()
        stats = pstats.Stats(profiler, stream=stream)
        stats.sort_stats("tottime").print_stats(args.top)
        stats.sort_stats("cumulative").print_stats(args.top)
        print(stream.getvalue())

    ref_after = machine_ref_s()
    print(f"machine_ref_s {ref_after} at the end (load average {os.getloadavg()[0]:.1f})")
    print(
        json.dumps(
            {
                "db": args.db,
                "n_leads_stored": n_stored,
                "calls": len(samples),
                "bulk_leads_per_s": round(BULK_SIZE / (figures["wall"] / 1000)),
                "ms_per_call": figures["wall"],
                "ms_per_call_sd": sd_ms("wall"),
                "cpu_ms_per_call": figures["cpu"],
                "tx_ms": figures["tx"],
                "clean_ms": figures["clean"],
                "write_ms": figures["write"],
                "score_before_insert_ms": figures["score_before_insert"],
                "rescore_ms": figures["rescore"],
                "rescore_read_ms": figures["rescore_read"],
                "request_ms": figures["request_only"],
                "cpu_ms": {
                    key: figures[f"{key}_cpu"]
                    for key in ("request_only", "clean", "tx", "write", "rescore", "rescore_read")
                },
                "machine_ref_s": ref_before,
                "machine_ref_s_end": ref_after,
            }
        )
    )


if __name__ == "__main__":
    main()
