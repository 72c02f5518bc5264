"""Import benchmark: one million leads through the real ``leadsieve import-leads`` path.

    make bench-import                  # 1M rows (about two minutes on two cores)
    .venv/bin/python bench/bench_import.py --rows 100000

1. generates (seeded) a CSV of ``--rows`` leads where ~10 % repeat an earlier lead (same
   email in another case or with spaces, or the same phone written another way);
2. migrates a fresh SQLite database in a temporary directory and imports the file with
   ``leadsieve import-leads`` as a subprocess: leads/s end to end and the peak RSS;
3. times a naive loop (per-row normalisation + lookup + ``Lead.objects.create``) on the
   first 10k rows into another fresh database: the speed-up of the set-based path;
4. imports a second file of ``--rows`` new leads with the first million stored.

``--db postgres`` (the default when ``DATABASE_URL`` is a PostgreSQL URL) runs steps 2 and 4
on PostgreSQL instead: a fresh ``bench_import_<pid>`` database on that server (or on
``BENCH_POSTGRES_URL``), created, filled and dropped. The naive loop stays on SQLite.

The last line is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
LEADSIEVE = str(Path(sys.executable).with_name("leadsieve"))
NAIVE_ROWS = 10_000
DUPLICATE_SHARE = 0.10
PHONE_SHARE = 0.5
AREA_CODES = np.array([201, 212, 213, 305, 312, 415, 503, 617, 646, 702, 713, 718, 805, 917])
FIRST = np.array(
    "ada grace alan linus margaret ken dennis barbara edsger donald frances john "
    "radia tim sophie hedy katherine guido bjarne james".split()
)
LAST = np.array(
    "lovelace hopper turing torvalds hamilton thompson ritchie liskov dijkstra knuth "
    "allen backus perlman berners-lee wilson lamarr johnson rossum stroustrup gosling".split()
)
TITLES = np.array(["CTO", "Head of Sales", "Engineer", "Marketing Manager", "CEO", "Analyst", ""])
MAPPING = """
[constants]
source = "Benchmark"

[columns]
"email" = "email"
"first_name" = "first_name"
"last_name" = "last_name"
"phone" = "phone"
"company" = "company_name"
"job_title" = "job_title"
"country" = "country"
"""


def generate(path: Path, rows: int, seed: int) -> dict[str, int]:
    """Write the CSV; returns how many rows repeat an earlier lead."""
    rng = np.random.default_rng(seed)
    ids = np.arange(rows)
    first = FIRST[rng.integers(0, len(FIRST), rows)]
    last = LAST[rng.integers(0, len(LAST), rows)]
    companies = rng.integers(0, max(rows // 20, 1), rows)
    tag = f"s{seed}"
    emails = (
        pd.Series(first)
        + "."
        + pd.Series(last)
        + (ids + 1).astype(str)
        + "@co"
        + (pd.Series(companies).astype(str) + tag + ".test")
    )
    has_phone = rng.random(rows) < PHONE_SHARE
    area = AREA_CODES[rng.integers(0, len(AREA_CODES), rows)]
    exchange = rng.integers(201, 999, rows)
    exchange = np.where(exchange % 100 == 11, exchange + 1, exchange)
    line = rng.integers(0, 10_000, rows)
    # A seed gives each file its own numbers: country code +1, but the line digits differ.
    line = (line + seed * 7919) % 10_000
    phones = pd.Series(
        [f"+1 {a} {e} {n:04d}" for a, e, n in zip(area, exchange, line, strict=True)]
    )
    phones = phones.where(pd.Series(has_phone), "")
    # ~10 % of rows repeat an earlier row: same email in other case/space, or same phone reformatted
    repeat = rng.random(rows) < DUPLICATE_SHARE
    repeat[0] = False
    originals = (rng.random(rows) * ids).astype(np.int64)
    by_phone = repeat & has_phone[originals] & (rng.random(rows) < 0.5)
    by_email = repeat & ~by_phone
    emails = emails.to_numpy(dtype=object)
    phones_out = phones.to_numpy(dtype=object)
    emails[by_email] = ["  " + e.upper() + " " for e in emails[originals[by_email]]]
    emails[by_phone] = ""
    digits = [
        p.replace("+1 ", "").split() for p in phones.to_numpy(dtype=object)[originals[by_phone]]
    ]
    phones_out[by_phone] = [f"({a}) {e}-{n}" for a, e, n in digits]
    frame = pd.DataFrame(
        {
            "email": emails,
            "first_name": np.where(rng.random(rows) < 0.3, np.char.upper(first), first),
            "last_name": last,
            "phone": phones_out,
            "company": "Company " + pd.Series(companies).astype(str),
            "job_title": TITLES[rng.integers(0, len(TITLES), rows)],
            "country": np.where(rng.random(rows) < 0.5, "US", ""),
        }
    )
    frame.to_csv(path, index=False)
    return {"repeats": int(repeat.sum())}


def postgres_server() -> str:
    """The PostgreSQL server to create the benchmark's database on, without a database name:
    ``BENCH_POSTGRES_URL``, else ``DATABASE_URL``'s server, else the local one."""
    from urllib.parse import urlsplit, urlunsplit

    if os.environ.get("BENCH_POSTGRES_URL"):
        return os.environ["BENCH_POSTGRES_URL"].rstrip("/")
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        return "postgres://postgres@127.0.0.1:5432"
    return urlunsplit(urlsplit(url)._replace(path="", query=""))


def create_postgres_database(server: str) -> str:
    import psycopg

    name = f"bench_import_{os.getpid()}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as db:
        db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        db.execute(f'CREATE DATABASE "{name}"')
    return f"{server}/{name}"


def drop_postgres_database(url: str) -> None:
    import psycopg

    server, _, name = url.rpartition("/")
    with psycopg.connect(f"{server}/postgres", autocommit=True) as db:
        db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def environment(folder: Path, name: str, database_url: str = "") -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url or f"sqlite:///{folder / name}",
        SECRET_KEY="bench-only-not-a-secret",
        LEADSIEVE_DATA_DIR=str(folder),
        LEADSIEVE_TASKS_BACKEND="django_tasks_db.DatabaseBackend",
    )
    env.pop("LEADSIEVE_DEMO", None)
    return env


def run(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"failed: {' '.join(args)}")
    return done.stdout


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed_import(csv_path: Path, mapping: Path, env: dict[str, str]) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds (the import and its phone-parsing workers) and summary."""
    cpu, started = children_cpu(), time.perf_counter()
    command = [LEADSIEVE, "import-leads", str(csv_path), "--mapping", str(mapping)]
    output = run([*command, "--no-progress"], env)
    return time.perf_counter() - started, children_cpu() - cpu, output.strip()


class PostgresCpu:
    """CPU seconds of the PostgreSQL backends serving one database while a command runs:
    polled from ``pg_stat_activity`` and ``/proc`` every ``every`` seconds (a backend's last
    fraction of a poll before it exits is missed)."""

    def __init__(self, url: str, every: float = 0.25) -> None:
        import threading

        server, _, self.name = url.rpartition("/")
        self.admin = f"{server}/postgres"
        self.every = every
        self.ticks: dict[int, int] = {}
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        import psycopg

        with psycopg.connect(self.admin, autocommit=True) as db:
            while not self.done.wait(self.every):
                rows = db.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = %s", [self.name]
                ).fetchall()
                for (pid,) in rows:
                    try:
                        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                    except OSError:
                        continue
                    self.ticks[pid] = int(fields[11]) + int(fields[12])

    def __enter__(self) -> PostgresCpu:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.done.set()
        self.thread.join()

    @property
    def seconds(self) -> float:
        return sum(self.ticks.values()) / os.sysconf("SC_CLK_TCK")


NAIVE_LOOP = """
import sys, time
import django
django.setup()
import pandas as pd
from django.conf import settings
from leadsieve.engine import normalize
from leadsieve.leads.models import Lead
frame = pd.read_csv(sys.argv[1], dtype=str, keep_default_na=False, nrows=int(sys.argv[2]))
started = time.perf_counter()
for row in frame.to_dict("records"):
    email = normalize.normalize_emails(pd.Series([row["email"]]))
    phone = normalize.normalize_phones(pd.Series([row["phone"]]), settings.LEADSIEVE_DEFAULT_REGION)
    first = normalize.normalize_names(pd.Series([row["first_name"]])).iloc[0]
    last = normalize.normalize_names(pd.Series([row["last_name"]])).iloc[0]
    key, e164 = email["email_key"].iloc[0], phone["phone"].iloc[0]
    if key and Lead.objects.filter(email_key=key).exists():
        continue
    if e164 and Lead.objects.filter(phone=e164).exists():
        continue
    Lead.objects.create(
        first_name=first, last_name=last, email=email["email"].iloc[0], email_key=key,
        phone=e164, company_name=row["company"], job_title=row["job_title"],
        country=row["country"], created_via="import",
        name_key=normalize.name_keys(pd.Series([first]), pd.Series([last])).iloc[0],
    )
print(time.perf_counter() - started)
"""


def _import_measured(
    csv: Path, mapping: Path, env: dict[str, str], postgres_url: str, what: str
) -> tuple[float, float, float, str]:
    """One timed import: wall seconds, its CPU seconds, PostgreSQL's (0 on SQLite), summary."""
    with PostgresCpu(postgres_url) if postgres_url else nullcontext() as db_cpu:
        seconds, cpu_seconds, summary = timed_import(csv, mapping, env)
    print(f"{what}: {summary} in {seconds:.1f} s", file=sys.stderr)
    return seconds, cpu_seconds, db_cpu.seconds if db_cpu else 0.0, summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20260101)
    parser.add_argument("--naive-rows", type=int, default=NAIVE_ROWS)
    parser.add_argument("--keep", action="store_true", help="Keep the temporary directory.")
    parser.add_argument(
        "--db",
        choices=("sqlite", "postgres"),
        default="postgres" if os.environ.get("DATABASE_URL", "")[:8] == "postgres" else "sqlite",
        help="Where the two imports go (default: DATABASE_URL's kind, else SQLite).",
    )
    options = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="leadsieve-bench-import-"))
    mapping = folder / "mapping.toml"
    mapping.write_text(MAPPING, encoding="utf-8")
    first_csv, second_csv = folder / "leads-1.csv", folder / "leads-2.csv"
    print(f"generating {options.rows:,} rows ×2 in {folder}", file=sys.stderr)
    stats = generate(first_csv, options.rows, options.seed)
    generate(second_csv, options.rows, options.seed + 1)

    postgres_url = create_postgres_database(postgres_server()) if options.db == "postgres" else ""
    try:
        env = environment(folder, "bench.sqlite3", postgres_url)
        run([LEADSIEVE, "migrate", "--no-input", "-v0"], env)
        load_before = os.getloadavg()[0]
        seconds, cpu_seconds, db_cpu_seconds, summary = _import_measured(
            first_csv, mapping, env, postgres_url, "first import"
        )
        leads_per_s = options.rows / seconds
        seconds_2, cpu_seconds_2, db_cpu_seconds_2, summary_2 = _import_measured(
            second_csv, mapping, env, postgres_url, "second import (1st file stored)"
        )
        leads_per_s_stored = options.rows / seconds_2
        peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    finally:
        if postgres_url:
            drop_postgres_database(postgres_url)

    naive_env = environment(folder, "naive.sqlite3")
    naive_env["DJANGO_SETTINGS_MODULE"] = "leadsieve.config.settings"
    run([LEADSIEVE, "migrate", "--no-input", "-v0"], naive_env)
    naive_rows = min(options.naive_rows, options.rows)
    naive_cpu = children_cpu()
    naive_seconds = float(
        run([sys.executable, "-c", NAIVE_LOOP, str(first_csv), str(naive_rows)], naive_env)
    )
    naive_cpu = children_cpu() - naive_cpu  # includes Django start-up: a little unfair to it
    naive_per_s = naive_rows / naive_seconds
    print(f"naive ORM loop: {naive_rows:,} rows in {naive_seconds:.1f} s", file=sys.stderr)
    result = {
        "db": options.db,
        "rows": options.rows,
        "repeats": stats["repeats"],
        "leads_per_s": round(leads_per_s),
        "seconds": round(seconds, 1),
        "peak_mib": round(peak_mib),
        "naive_leads_per_s": round(naive_per_s),
        "speedup_vs_orm_loop": round(leads_per_s / naive_per_s, 1),
        "leads_per_s_with_1m_stored": round(leads_per_s_stored),
        "stored_speed_ratio": round(leads_per_s_stored / leads_per_s, 2),
        "cpu_seconds": round(cpu_seconds, 1),
        "leads_per_cpu_s": round(options.rows / cpu_seconds),
        "leads_per_cpu_s_with_1m_stored": round(options.rows / cpu_seconds_2),
        "postgres_cpu_seconds": round(db_cpu_seconds, 1),
        "postgres_cpu_seconds_with_1m_stored": round(db_cpu_seconds_2, 1),
        "speedup_vs_orm_loop_cpu": round(
            (options.rows / cpu_seconds) / (naive_rows / naive_cpu), 1
        ),
        "load_average": round(max(load_before, os.getloadavg()[0]), 1),
        "summary": summary,
        "summary_with_1m_stored": summary_2,
    }
    if not options.keep:
        shutil.rmtree(folder)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
