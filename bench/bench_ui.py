"""Server time of the workspace pages over 1M leads on SQLite.

Builds (once, cached in ``bench/out/``) a SQLite database with N leads over two teams and
40 reps, then times the lead list (default filter, two common filters, page 1 and a deep
page, manager and rep scopes) and the lead page through Django's test client: the whole
request (middleware, session, queries, template), without the network.

It also times the pipeline board (a manager's and a rep's, whole page: the kept counts and
the first cards of every column) and the list's count (``count_leads_for_user``: exact from
the kept counts, counted within its budget, or estimated) under several filters.

Run: ``python bench/bench_ui.py [--leads 1000000] [--repeat 30]`` (``make bench-ui``).
Every run migrates the cached database first, so it measures the indexes ``leads`` ships.
The last line printed is one JSON object with ``list_p95_ms``, ``detail_p95_ms``,
``board_p95_ms``, ``list_count_p95_ms`` and ``machine_ref_s`` (a fixed CPU loop's time, to
compare runs on a loaded machine).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT))

from bench.bench_api import machine_ref_s  # noqa: E402

TARGET_P95_MS = 150.0
BATCH = 50_000
DEEP_ROW = 100_000
N_REPS_PER_TEAM = 20
STATUSES = ["new", "working", "mql", "sql", "converted", "disqualified"]
STATUS_WEIGHTS = [0.35, 0.2, 0.2, 0.1, 0.05, 0.1]
# Share of leads per stage, in the default stages' order (New ... Won, Lost).
STAGE_WEIGHTS = [40, 20, 12, 8, 5, 7, 8]


def configure(db_path: Path) -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{db_path}"
    os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret")
    os.environ["ALLOWED_HOSTS"] = "testserver,localhost"
    os.environ.setdefault("LEADSIEVE_TASKS_BACKEND", "django_tasks.backends.dummy.DummyBackend")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadsieve.config.settings")
    import django

    django.setup()


def build(n_leads: int) -> None:
    """Migrate and fill the bench database with raw inserts (ORM objects would take minutes)."""
    import numpy as np
    from django.core.management import call_command
    from django.db import connection, transaction

    from leadsieve.accounts.models import Team, User
    from leadsieve.leads.models import Lead

    call_command("migrate", verbosity=0)
    teams = [Team.objects.create(name=name, slug=name.lower()) for name in ("North", "South")]
    User.objects.create_user("alice", password="bench", role="manager", team=teams[0])
    reps: list[list[int]] = []
    for team in teams:
        reps.append(
            [
                User.objects.create_user(
                    f"{team.slug}-rep{n}", password="bench", role="rep", team=team
                ).pk
                for n in range(N_REPS_PER_TEAM)
            ]
        )
    from leadsieve.stages.models import Stage

    stage_ids = list(Stage.objects.filter(is_active=True).values_list("pk", flat=True))
    stage_p = np.array(STAGE_WEIGHTS[: len(stage_ids)], dtype=float)
    stage_p /= stage_p.sum()
    fields = [field for field in Lead._meta.concrete_fields if not field.primary_key]
    columns = [str(field.column) for field in fields]
    template = [field.get_db_prep_save(field.get_default(), connection) for field in fields]
    position = {name: columns.index(name) for name in columns}
    rng = np.random.default_rng(0)
    start = time.time() - 3 * 365 * 86400
    sql = (
        f"INSERT INTO leads_lead ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})"
    )
    made = 0
    with transaction.atomic(), connection.cursor() as cursor:
        while made < n_leads:
            size = min(BATCH, n_leads - made)
            team_of = rng.integers(0, 2, size)
            owned = rng.random(size) < 0.85
            rep = rng.integers(0, N_REPS_PER_TEAM, size)
            status = rng.choice(STATUSES, size, p=STATUS_WEIGHTS)
            grade = rng.choice(["A", "B", "C", "D", ""], size)
            horizon = rng.choice(["short", "long", ""], size)
            rating = rng.integers(1, 101, size)
            scored = rng.random(size) < 0.9
            created = np.sort(rng.uniform(start, time.time(), size))
            active = created + rng.uniform(0, 60 * 86400, size)
            has_activity = rng.random(size) < 0.7
            stage = rng.choice(stage_ids, size, p=stage_p)
            value = np.round(rng.lognormal(8.5, 1.0, size), -2)
            has_value = rng.random(size) < 0.6
            rows = []
            for i in range(size):
                n = made + i
                row = list(template)
                row[position["first_name"]] = f"First{n % 5000}"
                row[position["last_name"]] = f"Last{n}"
                row[position["email"]] = row[position["email_key"]] = (
                    f"lead{n}@company{n % 90000}.test"
                )
                row[position["company_name"]] = f"Company {n % 90000}"
                row[position["team_id"]] = teams[int(team_of[i])].pk
                row[position["owner_id"]] = reps[int(team_of[i])][int(rep[i])] if owned[i] else None
                row[position["status"]] = str(status[i])
                row[position["fit_grade"]] = str(grade[i])
                row[position["horizon"]] = str(horizon[i])
                row[position["rating"]] = int(rating[i]) if scored[i] else None
                row[position["rating_source"]] = "scorecard" if scored[i] else ""
                stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(float(created[i])))
                row[position["created_at"]] = row[position["updated_at"]] = stamp
                row[position["last_activity_at"]] = (
                    time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(float(active[i])))
                    if has_activity[i]
                    else None
                )
                row[position["stage_id"]] = int(stage[i])
                row[position["expected_value"]] = f"{value[i]:.2f}" if has_value[i] else None
                rows.append(row)
            cursor.executemany(sql, rows)
            made += size
            print(f"  {made:,} leads", file=sys.stderr)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def migrate_and_analyze() -> None:
    """Bring a cached database up to the current migrations, then refresh the planner's stats."""
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    place_on_stages()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def place_on_stages() -> None:
    """A database cached before leads had stages gets them (and values) once, in SQL."""
    from django.db import connection, transaction

    from leadsieve.leads.models import Lead
    from leadsieve.stages.counts import (
        drop_count_triggers,
        install_count_triggers,
        recount_stage_counts,
    )
    from leadsieve.stages.models import Stage

    if Lead.objects.filter(stage__isnull=False).exists():
        return
    print("placing the cached leads on stages…", file=sys.stderr)
    stage_ids = list(Stage.objects.filter(is_active=True).values_list("pk", flat=True))
    cases, bound = [], 0
    for stage_id, weight in zip(stage_ids, STAGE_WEIGHTS, strict=False):
        bound += weight
        cases.append(f"WHEN (id * 2654435761) % 100 < {bound} THEN {stage_id}")
    with transaction.atomic(), connection.cursor() as cursor:
        drop_count_triggers()  # one recount after, not two million delta rows
        cursor.execute(
            f"UPDATE leads_lead SET stage_id = CASE {' '.join(cases)} ELSE {stage_ids[0]} END, "
            "expected_value = CASE WHEN id % 5 < 3 THEN ((id * 7919) % 400) * 100 END"
        )
        install_count_triggers()
        recount_stage_counts()


def time_calls(call: Any, repeat: int) -> dict[str, float]:
    for _ in range(3):
        call()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return {"p50_ms": round(statistics.median(samples), 1), "p95_ms": round(p95(samples), 1)}


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def measure(client: Any, url: str, repeat: int) -> dict[str, float]:
    for _ in range(3):  # warm the page cache and the compiled templates
        client.get(url)
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return {"p50_ms": round(statistics.median(samples), 1), "p95_ms": round(p95(samples), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    db_path = OUT / f"bench_ui_{args.leads}.sqlite3"
    fresh = not db_path.exists()
    configure(db_path)
    if fresh:
        print(f"building {db_path} with {args.leads:,} leads…", file=sys.stderr)
        started = time.time()
        try:
            build(args.leads)
        except BaseException:
            db_path.unlink(missing_ok=True)
            raise
        print(f"built in {time.time() - started:.0f}s", file=sys.stderr)
    migrate_and_analyze()

    from django.test import Client

    from leadsieve.accounts.models import User
    from leadsieve.leads import queries
    from leadsieve.leads.models import Lead

    ref_before = machine_ref_s()
    alice = User.objects.get(username="alice")
    rep = User.objects.get(username="north-rep0")
    manager, rep_client = Client(), Client()
    manager.force_login(alice)
    rep_client.force_login(rep)
    deep_lead = (
        queries.scope_leads_for_user(alice)
        .order_by(*queries.order_for(queries.DEFAULT_SORT))
        .values_list("pk", flat=True)[min(DEEP_ROW, args.leads // 4)]
    )
    deep_cursor = queries.encode_cursor(queries.DEFAULT_SORT, Lead.objects.get(pk=deep_lead))
    detail_lead = (
        queries.scope_leads_for_user(alice).order_by("-id").values_list("pk", flat=True)[0]
    )
    lists = {
        "manager default page 1": (manager, "/leads/"),
        "manager status=sql page 1": (manager, "/leads/?status=sql"),
        "manager fit A + short page 1": (manager, "/leads/?fit_grade=A&horizon=short"),
        "manager default deep page": (manager, f"/leads/?cursor={deep_cursor}"),
        "manager newest first page 1": (manager, "/leads/?sort=-created"),
        "rep default page 1": (rep_client, "/leads/"),
        "rep status=sql page 1": (rep_client, "/leads/?status=sql"),
    }
    results: dict[str, Any] = {}
    for label, (client, url) in lists.items():
        results[label] = measure(client, url, args.repeat)
        p50, p95_ms = results[label]["p50_ms"], results[label]["p95_ms"]
        print(f"{label:45s} p50 {p50:7.1f}  p95 {p95_ms:7.1f} ms")
    detail = measure(manager, f"/leads/{detail_lead}/", args.repeat)
    print(f"{'lead page':45s} p50 {detail['p50_ms']:7.1f}  p95 {detail['p95_ms']:7.1f} ms")
    list_p95 = max(result["p95_ms"] for result in results.values())

    boards = {
        "board manager": (manager, "/board/"),
        "board rep": (rep_client, "/board/"),
        "board manager, unassigned": (manager, "/board/?owner=none"),
    }
    board_results: dict[str, Any] = {}
    for label, (client, url) in boards.items():
        board_results[label] = measure(client, url, args.repeat)
        p50, p95_ms = board_results[label]["p50_ms"], board_results[label]["p95_ms"]
        print(f"{label:45s} p50 {p50:7.1f}  p95 {p95_ms:7.1f} ms")
    board_p95 = max(result["p95_ms"] for result in board_results.values())

    from leadsieve.segments.filters import NOT_DISQUALIFIED, LeadFilters
    from leadsieve.workspace.queries import count_leads_for_user

    counts = {
        "count manager, no filter": (alice, LeadFilters()),
        "count manager, not disqualified": (alice, LeadFilters(status=NOT_DISQUALIFIED)),
        "count manager, status=sql": (alice, LeadFilters(status="sql")),
        "count manager, fit A + short": (alice, LeadFilters(fit_grade="A", horizon="short")),
        "count manager, rating 60-80": (alice, LeadFilters(rating_min=60, rating_max=80)),
        "count manager, search 'Last12'": (alice, LeadFilters(text="Last12")),
        "count rep, no filter": (rep, LeadFilters()),
        "count rep, status=sql": (rep, LeadFilters(status="sql")),
    }
    count_results: dict[str, Any] = {}
    for label, (user, filters) in counts.items():
        shown = count_leads_for_user(user, filters)
        count_results[label] = time_calls(
            lambda user=user, filters=filters: count_leads_for_user(user, filters), args.repeat
        )
        count_results[label]["n"] = shown.n
        count_results[label]["is_estimate"] = shown.is_estimate
        p50, p95_ms = count_results[label]["p50_ms"], count_results[label]["p95_ms"]
        marker = "about " if shown.is_estimate else ""
        print(f"{label:45s} p50 {p50:7.1f}  p95 {p95_ms:7.1f} ms  ({marker}{shown.n:,})")
    count_p95 = max(result["p95_ms"] for result in count_results.values())
    pages = (list_p95, detail["p95_ms"], board_p95, count_p95)
    summary = {
        "n_leads": Lead.objects.count(),
        "machine_ref_s": [ref_before, machine_ref_s()],
        "list_p95_ms": list_p95,
        "detail_p95_ms": detail["p95_ms"],
        "board_p95_ms": board_p95,
        "list_count_p95_ms": count_p95,
        "target_p95_ms": TARGET_P95_MS,
        "meets_target": all(p < TARGET_P95_MS for p in pages),
        "cases": {**results, **board_results, **count_results},
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
