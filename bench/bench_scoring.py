"""Scoring through Django: 1M stored leads rescored, and one lead scored on an event.

Steps (``make bench-scoring``; ``--leads N`` for a quick run):

1. the engine's own benchmark (``bench/bench_scoring_engine.py``, run as a child process; its
   last JSON line gives ``engine_1m_s``, ``engine_peak_mib`` and ``speedup_vs_loop``);
2. a fresh SQLite database under ``var/`` is migrated and filled with N generated leads,
   their companies and ~3 activities per lead (raw ``executemany`` inserts: generating data is
   not what is measured);
3. ``leadsieve rescore`` over all of them: raw SQL reads into numpy arrays → scored (and, on
   a first pass, explained) by the engine → written back (changed leads only) by a writer
   thread, one ``UPDATE ... FROM json_each`` per batch, while the next batch is read and
   scored (``rescore_1m_s``: the first pass, which writes a snapshot with its compact reasons
   for every lead; ``rescore_again_s``: the steady-state pass after it); CPU seconds of the
   whole process (both threads) are printed next to them;
4. 1,000 events: an activity is stored, then ``rescore_touched_leads([id])`` (what capture's
   after-commit hook runs) is timed: ``event_p99_ms`` (wall clock, after-commit task enqueue
   included) and ``event_cpu_p99_ms``; ``event_with_write_p99_ms`` also counts storing the
   activity (its own commit), so a stall moved from one commit to the other would show.

Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ENGINE_BENCH = ROOT / "bench" / "bench_scoring_engine.py"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SEED = 0
N_COMPANIES = 20_000
TITLES = [
    "CEO", "Founder", "Head of Sales", "VP Marketing", "Sales Director", "IT Director",
    "Engineer", "Developer", "Analyst", "Consultant", "Student", "Intern", "Manager", "Owner",
    "Chief Revenue Officer", "Account Executive", "Marketing Manager", "",
]  # fmt: skip
COUNTRIES = ["US", "GB", "DE", "FR", "NL", "CA", "AU", "ES", "IT", "SE", "IN", "BR", "MX", "JP"]
INDUSTRIES = [
    "software", "saas", "it services", "financial services", "manufacturing", "retail",
    "education", "health", "logistics", "media", "government",
]  # fmt: skip
TIMELINES = ["", "now", "quarter", "half_year", "year", "later"]
ROLES = ["", "decision_maker", "influencer", "user"]
KINDS = [
    "form_submit", "page_visit", "email_sent", "email_opened", "email_clicked", "email_replied",
    "call", "meeting", "note", "capture", "social",
]  # fmt: skip
KIND_P = [0.03, 0.40, 0.20, 0.17, 0.07, 0.03, 0.03, 0.02, 0.02, 0.02, 0.01]
URLS = ["/", "/pricing", "/blog/a", "/blog/b", "/docs", "/pricing/enterprise", "/about", ""]
SUBJECTS = ["", "Request a demo", "Newsletter", "Contact us", "Re: proposal", "Webinar"]


def run_engine_bench() -> dict[str, float] | None:
    """The engine engineer's benchmark, as a child process; ``None`` if it is absent."""
    if not ENGINE_BENCH.exists():
        print(f"{ENGINE_BENCH.name} is absent: engine figures are skipped")
        return None
    out = subprocess.run(
        [sys.executable, str(ENGINE_BENCH)], capture_output=True, text=True, check=True
    )
    lines = out.stdout.strip().splitlines()
    for line in lines[:-1]:
        print(f"  engine: {line}")
    return dict(json.loads(lines[-1]))


def _iso(seconds: np.ndarray) -> list[str]:
    """Epoch seconds → the text Django's SQLite backend stores for aware datetimes (UTC)."""
    stamps = np.asarray(seconds, dtype="datetime64[s]").astype(str)
    return [s.replace("T", " ") for s in stamps]


def _blank_lead_values() -> dict[str, object]:
    """Every NOT NULL Lead column with its empty value, so raw inserts satisfy the schema."""
    from leadsieve.leads.models import Lead

    values: dict[str, object] = {}
    for field in Lead._meta.concrete_fields:
        if field.null or field.primary_key:
            continue
        default = field.get_default()
        if field.get_internal_type() == "JSONField":
            default = "{}"
        elif field.get_internal_type() == "BooleanField":
            default = int(bool(default))
        elif field.get_internal_type() == "DateTimeField":
            default = _iso(np.array([int(NOW.timestamp())]))[0]
        values[field.column] = default if default is not None else ""
    return values


def fill_database(path: Path, n_leads: int, activities_per_lead: float) -> int:
    """Raw inserts of companies, leads and activities into the migrated database."""
    rng = np.random.default_rng(SEED)
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    now_s = int(NOW.timestamp())
    companies = [
        (
            f"company{i}.example",
            f"Company {i}",
            f"company {i}",
            INDUSTRIES[i % len(INDUSTRIES)],
            int(np.exp(rng.normal(4.5, 1.8))) + 1 if i % 5 else None,
            COUNTRIES[i % len(COUNTRIES)],
            ["", "lt_1m", "1m_10m", "10m_50m", "gt_1b"][i % 5],
            "{}",
            _iso(np.array([now_s]))[0],
            _iso(np.array([now_s]))[0],
        )
        for i in range(N_COMPANIES)
    ]
    db.executemany(
        "INSERT INTO leads_company (domain, name, name_key, industry, size, country, "
        "revenue_band, custom, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
        companies,
    )
    db.executemany(
        "INSERT INTO leads_source (name, kind, medium, is_active, created_at) VALUES (?,?,?,?,?)",
        [(s, "generation", "", 1, _iso(np.array([now_s]))[0]) for s in ("web", "import", "api")],
    )
    base = _blank_lead_values()
    company_id = rng.integers(1, N_COMPANIES + 1, n_leads)
    created = now_s - rng.integers(0, 365 * 86400, n_leads)
    budget = np.round(np.exp(rng.normal(9.5, 1.5, n_leads)), -2)
    has_budget = rng.random(n_leads) < 0.5
    columns = {
        **{k: [v] * n_leads for k, v in base.items()},
        "first_name": ["Lee"] * n_leads,
        "email": [f"p{i}@company{c - 1}.example" for i, c in enumerate(company_id.tolist())],
        "job_title": np.asarray(TITLES, dtype=object)[rng.integers(0, len(TITLES), n_leads)],
        "country": np.asarray(COUNTRIES, dtype=object)[rng.integers(0, len(COUNTRIES), n_leads)],
        "need": np.asarray(["", "crm", "reporting"], dtype=object)[rng.integers(0, 3, n_leads)],
        "budget": [str(b) if h else None for b, h in zip(budget, has_budget, strict=True)],
        "timeline": np.asarray(TIMELINES, dtype=object)[rng.integers(0, 6, n_leads)],
        "decision_role": np.asarray(ROLES, dtype=object)[rng.integers(0, 4, n_leads)],
        "consent": (rng.random(n_leads) < 0.8).astype(int),
        "do_not_contact": (rng.random(n_leads) < 0.02).astype(int),
        "company_id": company_id,
        "source_id": rng.integers(1, 4, n_leads),
        "created_at": _iso(created),
        "updated_at": _iso(created),
    }
    names = list(columns)
    data = [np.asarray(columns[n], dtype=object).tolist() for n in names]
    placeholders = ",".join("?" * len(names))
    db.executemany(
        f"INSERT INTO leads_lead ({','.join(names)}) VALUES ({placeholders})",
        zip(*data, strict=True),
    )
    n_acts = int(n_leads * activities_per_lead)
    lead_id = rng.integers(1, n_leads + 1, n_acts)
    age = rng.exponential(40 * 86400, n_acts).astype(np.int64)
    kinds = np.asarray(KINDS, dtype=object)[rng.choice(len(KINDS), n_acts, p=KIND_P)]
    urls = np.asarray(URLS, dtype=object)[rng.integers(0, len(URLS), n_acts)]
    subjects = np.asarray(SUBJECTS, dtype=object)[rng.integers(0, len(SUBJECTS), n_acts)]
    times = _iso(now_s - age)
    db.executemany(
        "INSERT INTO leads_activity (lead_id, kind, occurred_at, channel, subject, url, payload,"
        " created_at) VALUES (?,?,?,'',?,?,'{}',?)",
        zip(
            lead_id.tolist(),
            kinds.tolist(),
            times,
            subjects.tolist(),
            urls.tolist(),
            times,
            strict=True,
        ),
    )
    db.commit()
    db.execute("ANALYZE")
    db.close()
    return n_acts


def time_events(n_events: int, n_leads: int) -> tuple[list[float], list[float], list[float]]:
    """Store an activity, then time the after-commit rescoring of that one lead.

    Returns wall-clock and CPU milliseconds per event, and the wall-clock milliseconds of
    storing the activity plus the event: on a shared machine the wall time's tail is mostly
    waiting for a core, the CPU time is what the event path itself costs.
    """
    from leadsieve.leads.models import Activity
    from leadsieve.scoring.services import rescore_touched_leads

    rng = np.random.default_rng(SEED + 1)
    latencies, cpu, with_write = [], [], []
    for lead_id in rng.integers(1, n_leads + 1, n_events).tolist():
        write_started = time.perf_counter()
        Activity.objects.create(
            lead_id=lead_id, kind="page_visit", url="/pricing", occurred_at=NOW - timedelta(hours=1)
        )
        started, cpu_started = time.perf_counter(), time.process_time()
        rescore_touched_leads([lead_id])
        latencies.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - cpu_started) * 1000)
        with_write.append((time.perf_counter() - write_started) * 1000)
    return latencies, cpu, with_write


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--activities-per-lead", type=float, default=3.0)
    parser.add_argument("--events", type=int, default=1_000)
    parser.add_argument("--skip-engine", action="store_true", help="Do not run the engine bench.")
    parser.add_argument("--db", type=Path, default=ROOT / "var" / "bench_scoring.sqlite3")
    args = parser.parse_args()

    engine = None if args.skip_engine else run_engine_bench()

    path = args.db.resolve()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    os.environ.setdefault("LEADSIEVE_DEMO", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadsieve.config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    n_acts = fill_database(path, args.leads, args.activities_per_lead)
    seconds = time.perf_counter() - started
    print(f"generated {args.leads} leads and {n_acts} activities in {seconds:.1f} s")

    from leadsieve.scoring.services import rescore_all

    cpu = time.process_time()
    first = rescore_all(progress=False, as_of=NOW)
    first_cpu = time.process_time() - cpu
    print(
        f"rescore (first pass): {first.n_scored} leads in {first.seconds:.1f} s "
        f"({first.n_scored / first.seconds:,.0f} leads/s; {first_cpu:.1f} s CPU), "
        f"{first.n_snapshots} snapshots, "
        f"{first.n_status_changed} statuses moved"
    )
    cpu = time.process_time()
    again = rescore_all(progress=False, as_of=NOW + timedelta(minutes=1))
    again_cpu = time.process_time() - cpu
    print(
        f"rescore (steady state): {again.n_scored} leads in {again.seconds:.1f} s "
        f"({again.n_scored / again.seconds:,.0f} leads/s; {again_cpu:.1f} s CPU), "
        f"{again.n_snapshots} snapshots"
    )
    latencies, cpu, with_write = time_events(args.events, args.leads)
    p50, p99 = np.percentile(latencies, [50, 99])
    cpu50, cpu99 = np.percentile(cpu, [50, 99])
    write99 = float(np.percentile(with_write, 99))
    print(
        f"one lead on an event: p50 {p50:.2f} ms, p99 {p99:.2f} ms over {len(latencies)} events"
        f" (CPU p50 {cpu50:.2f} ms, p99 {cpu99:.2f} ms; with storing the activity p99"
        f" {write99:.2f} ms)"
    )

    print(
        json.dumps(
            {
                "engine_1m_s": engine.get("engine_1m_s") if engine else None,
                "engine_peak_mib": engine.get("engine_peak_mib") if engine else None,
                "speedup_vs_loop": engine.get("speedup_vs_loop") if engine else None,
                "rescore_1m_s": round(first.seconds, 2),
                "rescore_again_s": round(again.seconds, 2),
                "rescore_1m_cpu_s": round(first_cpu, 2),
                "rescore_again_cpu_s": round(again_cpu, 2),
                "load_average_1m": round(os.getloadavg()[0], 1),
                "event_p99_ms": round(float(p99), 2),
                "event_p50_ms": round(float(p50), 2),
                "event_cpu_p99_ms": round(float(cpu99), 2),
                "event_with_write_p99_ms": round(write99, 2),
                "n_leads": args.leads,
            }
        )
    )


if __name__ == "__main__":
    main()
