"""One lead captured, scored, routed and visible with its owner and deadline: server time.

``make bench-capture`` builds a fresh SQLite database (``bench/out/bench_capture.sqlite3``):
one team, 8 reps on duty around the clock, one routing rule, and ``--leads`` stored leads
(captured by the batch path, 1,000 a call) so lookups and indexes are not those of an empty
table. Then:

(a) **the service**, one lead at a time: ``pipeline.receive_lead`` (capture → score →
    qualify → route → deadline, one transaction), the fast path (``capture_one`` and
    ``assign_arriving_lead``) and the batch path with one row (``capture_lead`` and
    ``assign_leads``: the path every single lead took before) alternating, so both see the
    same machine. Wall-clock server time per lead: p50/p99 of each (and the mean CPU time,
    ``capture_cpu_ms``, steadier on a shared machine) and
    ``speedup_vs_batch_path`` (batch p50 / fast p50). Every lead is new (unique email);
    one in ten repeats an earlier email and merges, as real traffic does;
(b) **the API**: ``leadsieve serve`` with its defaults (2 workers × 4 threads) on that
    database, driven by wrk (``bench_api``'s scripts and helpers) at 16 connections for
    ``--seconds``: captures/s, p99, errors, and the leads stored == the responses that
    accepted one (``api_lost``: accepted but not stored; must be 0).

``machine_ref_s`` (``bench_api.machine_ref_s``) times a fixed workload before and after: on
a shared machine figures compare only between runs with a similar value.
Last line: one JSON object. Run: ``python bench/bench_capture.py [--leads N] [--repeat N]
[--seconds S] [--no-api]``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT))

from bench.bench_api import (  # noqa: E402  (after the path is set)
    BIN,
    CLIENTS,
    LUA_SINGLE,
    LUA_UNIQUE,
    Server,
    machine_ref_s,
    run_wrk,
)

DB_PATH = OUT / "bench_capture.sqlite3"
N_REPS = 8
TARGETS = {"capture_p50_ms": 10.0, "speedup_vs_batch_path": 4.0, "api_captures_per_s": 300}


def configure(path: Path) -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadsieve.config.settings")
    # Snapshot reasons and batch routing would be queued for a worker none runs here.
    os.environ["LEADSIEVE_TASKS_BACKEND"] = "django_tasks.backends.dummy.DummyBackend"
    import django

    django.setup()


def build(n_leads: int) -> dict[str, Any]:
    """Migrate a fresh database; the team, its reps and rule; ``n_leads`` stored leads."""
    import datetime as dt

    from django.core.management import call_command

    from leadsieve.accounts.models import Role, Team, User
    from leadsieve.api.services import create_api_token
    from leadsieve.leads.capture import capture_leads
    from leadsieve.routing.models import RepProfile
    from leadsieve.routing.services import save_rule

    call_command("migrate", verbosity=0)
    team = Team.objects.create(name="North", slug="north", timezone="Europe/Paris")
    alice = User.objects.create_user("alice", password="bench", role=Role.MANAGER, team=team)
    for n in range(N_REPS):
        rep = User.objects.create_user(f"rep{n}", password="bench", role=Role.REP, team=team)
        RepProfile.objects.create(
            user=rep,
            max_new_per_day=10**9,
            max_open=10**9,
            work_days=list(range(7)),
            work_start=dt.time(0, 0),
            work_end=dt.time(23, 59, 59),
        )
    save_rule(name="Everything to North", team=team, conditions=[], strategy="round_robin")
    for start in range(0, n_leads, 1000):
        rows = [_row("stored", i) for i in range(start, min(start + 1000, n_leads))]
        capture_leads(rows, channel="import", via="bench", team=team)
    _, token = create_api_token(alice, name="bench")
    return {"token": token}


def _row(tag: str, i: int) -> dict[str, str]:
    return {
        "first_name": "Bench",
        "last_name": f"{tag.capitalize()}{i}",
        "email": f"{tag}{i}@company{i % 700}.example",
        "company_name": f"Company {i % 700}",
        "country": ["FR", "DE", "US", "GB"][i % 4],
        "job_title": ["Head of Sales", "CEO", "Engineer", "Marketing Manager"][i % 4],
    }


def time_service(repeat: int) -> dict[str, Any]:
    """Fast and batch path alternating, ``repeat`` leads each: server time per lead."""
    from leadsieve.accounts.models import User
    from leadsieve.leads.models import Lead
    from leadsieve.pipeline import receive_lead

    alice = User.objects.select_related("team").get(username="alice")
    tag = f"s{random.randrange(10**9)}-"
    samples: dict[bool, list[float]] = {True: [], False: []}
    cpu: dict[bool, list[float]] = {True: [], False: []}
    routed = {True: 0, False: 0}
    n = 0
    for round_ in range(repeat + 10):  # the first 10 rounds warm caches up, not measured
        for fast in (True, False):
            n += 1
            # One lead in ten repeats an earlier email: a merge, as in real traffic.
            values = _row(tag, n - 10 if n % 10 == 0 and n > 10 else n)
            started, cpu_started = time.perf_counter(), time.process_time()
            outcome = receive_lead(
                values, fast=fast, channel="api", via="bench", user=alice, team=alice.team
            )
            elapsed = (time.perf_counter() - started) * 1000
            if round_ >= 10:
                samples[fast].append(elapsed)
                cpu[fast].append((time.process_time() - cpu_started) * 1000)
                routed[fast] += outcome.lead.owner_id is not None
    fast_p50 = statistics.median(samples[True])
    batch_p50 = statistics.median(samples[False])
    unrouted = Lead.objects.filter(email_key__startswith=tag, owner__isnull=True).count()
    return {
        "capture_p50_ms": round(fast_p50, 2),
        "capture_p99_ms": round(_p99(samples[True]), 2),
        "batch_path_p50_ms": round(batch_p50, 2),
        "batch_path_p99_ms": round(_p99(samples[False]), 2),
        "speedup_vs_batch_path": round(batch_p50 / fast_p50, 2),
        # CPU time of this process per lead: steadier than wall time on a shared machine.
        "capture_cpu_ms": round(statistics.mean(cpu[True]), 2),
        "batch_path_cpu_ms": round(statistics.mean(cpu[False]), 2),
        "n_per_path": repeat,
        "unrouted_leads": unrouted,
    }


def _p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98] if len(values) > 1 else values[0]


def count_leads(database_url: str) -> int:
    out = subprocess.run(
        [sys.executable, __file__, "--child-count", database_url],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(out.stdout.strip().splitlines()[-1])


def time_api(token: str, seconds: int) -> dict[str, Any]:
    """``leadsieve serve`` on the bench database, wrk at CLIENTS connections."""
    database_url = f"sqlite:///{DB_PATH}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LEADSIEVE_DATA_DIR": str(OUT / "data-capture"),
    }
    env.pop("LEADSIEVE_TASKS_BACKEND", None)
    before = count_leads(database_url)
    server = Server([str(BIN / "leadsieve"), "serve"], env, OUT / "serve-capture.log")
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    try:
        result = run_wrk(server, "/api/v1/leads", LUA_UNIQUE + LUA_SINGLE, headers, seconds)
    finally:
        server.stop()
    created = count_leads(database_url) - before
    # Every response wrk counted that is not an error accepted a lead (201 or 200).
    accepted = result["n"] - result["errors"]
    return {
        "api_captures_per_s": result["rps"],
        "api_p50_ms": result["p50_ms"],
        "api_p99_ms": result["p99_ms"],
        "api_errors": result["errors"],
        "api_requests": result["n"],
        "api_accepted": accepted,
        "api_stored": created,
        # Accepted but not stored. Stored but not counted (a request wrk stopped waiting
        # for at the end of the run) is reported apart, as api_unanswered.
        "api_lost": max(accepted - created, 0),
        "api_unanswered": max(created - accepted, 0),
        "server_cpu_ms_per_request": result["server_cpu_ms_per_request"],
        "clients": CLIENTS,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=20_000, help="Stored before timing.")
    parser.add_argument("--repeat", type=int, default=300, help="Leads per path (service).")
    parser.add_argument("--seconds", type=int, default=15, help="API load duration.")
    parser.add_argument("--no-api", action="store_true")
    parser.add_argument("--child-count", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_count:
        os.environ["DATABASE_URL"] = args.child_count
        os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret")
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadsieve.config.settings")
        import django

        django.setup()
        from leadsieve.leads.models import Lead

        print(Lead.objects.count())
        return
    OUT.mkdir(parents=True, exist_ok=True)
    ref_before = machine_ref_s()
    print(f"machine_ref_s {ref_before} (load average {os.getloadavg()[0]:.1f})", flush=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{DB_PATH}{suffix}").unlink(missing_ok=True)
    configure(DB_PATH)
    started = time.perf_counter()
    fixtures = build(args.leads)
    print(f"built {args.leads:,} leads in {time.perf_counter() - started:.0f} s", flush=True)
    service = time_service(args.repeat)
    print(
        f"service: fast p50 {service['capture_p50_ms']} ms p99 {service['capture_p99_ms']} ms; "
        f"batch path p50 {service['batch_path_p50_ms']} ms p99 "
        f"{service['batch_path_p99_ms']} ms; ×{service['speedup_vs_batch_path']}",
        flush=True,
    )
    from django.db import connection

    connection.close()
    api: dict[str, Any] = {}
    if not args.no_api:
        api = time_api(fixtures["token"], args.seconds)
        print(
            f"api: {api['api_captures_per_s']} captures/s, p50 {api['api_p50_ms']} ms, "
            f"p99 {api['api_p99_ms']} ms, errors {api['api_errors']}, accepted "
            f"{api['api_accepted']}, stored {api['api_stored']}, lost {api['api_lost']}, "
            f"server {api['server_cpu_ms_per_request']} ms CPU/request",
            flush=True,
        )
    ref_after = machine_ref_s()
    print(f"machine_ref_s {ref_after} at the end (load average {os.getloadavg()[0]:.1f})")
    print(
        json.dumps(
            {
                **service,
                **api,
                "machine_ref_s": ref_before,
                "machine_ref_s_end": ref_after,
                "targets": TARGETS,
            }
        )
    )


if __name__ == "__main__":
    main()
