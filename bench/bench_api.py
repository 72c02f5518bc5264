"""The API and the web pages under load: ``leadsieve serve`` with its defaults, 1M leads stored.

For each database (SQLite, and PostgreSQL when reachable: its own ``bench_api_*`` database,
created and dropped), ``make bench-api``:

1. fills the database with N leads (SQLite: the file ``bench_ui.py`` builds and caches in
   ``bench/out/``, copied so runs never grow it; PostgreSQL: the same rows, inserted fresh);
2. starts ``leadsieve serve`` with its defaults (2 workers × 4 threads; the form rate limit
   raised so the load generator is not refused) and drives it with wrk (Debian's package:
   C, one thread, 16 connections; its CPU time is printed) for ``--seconds`` per case:
   single capture (``POST /api/v1/leads``), bulk capture (``POST /api/v1/leads/bulk``,
   1,000 leads a call), the list (``GET /api/v1/leads`` and the web page ``/leads/``), a
   lead (``GET /api/v1/leads/<id>`` and ``/leads/<id>/``, over 1,000 leads in turn) and the
   public form (``POST /f/<slug>/``);
3. clears the task queue, enqueues 2,000 tasks (rescoring and snapshot reasons, half each),
   starts a real ``leadsieve worker`` and runs every case again while it drains;
4. runs the baseline, the server ``leadsieve serve`` ran before (gunicorn's gthread worker,
   same workers × threads), on the API list and lead, for a ratio in the same hour.

``machine_ref_s`` times a fixed pure-Python workload at the start and at the end: on a
shared machine, figures are comparable between runs only when it is.
Last line: one JSON object; the top-level figures are the worst of the databases run.
Run: ``python bench/bench_api.py [--leads N] [--seconds S] [--db sqlite,postgres]``;
``--only-bulk`` runs the bulk case alone (no worker, no baseline); ``BENCH_API_POSTGRES_DB=name``
keeps and reuses that PostgreSQL database instead of filling a fresh one each run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT))

CLIENTS = 16
BULK_SIZE = 1000
N_TASKS = 2000
N_DETAIL_LEADS = 1000
POSTGRES_ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")
# A PostgreSQL database to keep between runs (filling a million leads takes many minutes);
# a run then adds its captures to it. Empty: a fresh database per run, dropped after.
KEPT_POSTGRES_DB = os.environ.get("BENCH_API_POSTGRES_DB", "")
TARGETS = {"list_rps": 100, "detail_rps": 300, "p99_ms": 500, "bulk_leads_per_s": 10_000}

# --- wrk scripts ------------------------------------------------------------------------------

LUA_REPORT = """
done = function(summary, latency, requests)
  io.write(string.format('{"requests": %d, "duration_us": %d, "socket_errors": %d, '
    .. '"status_errors": %d, "timeouts": %d, "p50_us": %d, "p99_us": %d, "max_us": %d}\\n',
    summary.requests, summary.duration,
    summary.errors.connect + summary.errors.read + summary.errors.write,
    summary.errors.status, summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"""
LUA_UNIQUE = """
local counter = 0
local tag = tostring(os.time()) .. tostring(math.random(1, 1000000))
local function next_email()
  counter = counter + 1
  return "w" .. tag .. "-" .. counter .. "@bench.example"
end
"""
LUA_SINGLE = """
request = function()
  local email = next_email()
  local body = '{"first_name": "Bench", "last_name": "S' .. tag .. counter .. '", "email": "'
    .. email .. '", "company_name": "Bench Co ' .. (counter % 500) .. '", "country": "FR", '
    .. '"job_title": "Head of Sales"}'
  return wrk.format("POST", nil, nil, body)
end
"""
LUA_BULK = f"""
request = function()
  local rows = {{}}
  for i = 1, {BULK_SIZE} do
    local email = next_email()
    rows[i] = '{{"first_name": "Bulk", "last_name": "R' .. tag .. counter .. '", "email": "'
      .. email .. '", "company_name": "Bulk Co ' .. (counter % 500) .. '", "country": "DE"}}'
  end
  return wrk.format("POST", nil, nil, '{{"leads": [' .. table.concat(rows, ",") .. ']}}')
end
"""
LUA_FORM = """
request = function()
  return wrk.format("POST", nil, nil, "first_name=Form&consent=on&email=" .. next_email())
end
"""
LUA_PATHS = """
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i %% #paths) + 1])
end
paths = {%s}
"""


def machine_ref_s() -> float:
    """A fixed pure-Python workload (parsing, hashing, sorting): the machine's speed now."""
    import hashlib

    started = time.perf_counter()
    rows = [json.dumps({"id": i, "email": f"lead{i}@example.org"}) for i in range(200_000)]
    digests = sorted(hashlib.sha1(row.encode()).hexdigest() for row in rows)  # noqa: S324
    total = sum(len(json.loads(row)["email"]) for row in rows) + len(digests)
    assert total > 0
    return round(time.perf_counter() - started, 3)


# --- Child processes: Django configured for one database ------------------------------------


def _setup_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadsieve.config.settings")
    import django

    django.setup()


def prepare(database_url: str, n_leads: int) -> dict[str, Any]:
    """Fill the database if it is empty; tokens, a session, a form and lead ids for the load."""
    _setup_django(database_url)
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    from leadsieve.accounts.models import User
    from leadsieve.api.services import create_api_token
    from leadsieve.leads.models import Lead
    from leadsieve.leads.queries import scope_leads_for_user
    from leadsieve.webforms.models import WebForm

    if not User.objects.filter(username="alice").exists():
        from bench import bench_ui

        started = time.time()
        bench_ui.build(n_leads)
        print(f"  built {n_leads:,} leads in {time.time() - started:.0f} s", file=sys.stderr)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    alice = User.objects.get(username="alice")
    _, token = create_api_token(alice, name="bench")
    session = SessionStore()
    session[SESSION_KEY] = str(alice.pk)
    session[BACKEND_SESSION_KEY] = next(
        (b for b in settings.AUTHENTICATION_BACKENDS if b.endswith("ModelBackend")),
        settings.AUTHENTICATION_BACKENDS[-1],
    )
    session[HASH_SESSION_KEY] = alice.get_session_auth_hash()
    session.create()
    WebForm.objects.get_or_create(
        slug="bench",
        defaults={
            "name": "Bench",
            "fields": [{"name": "first_name"}, {"name": "email", "required": True}],
            "consent_text": "I agree.",
        },
    )
    scope = scope_leads_for_user(alice)
    step = max(scope.count() // N_DETAIL_LEADS, 1)
    ids = list(scope.order_by("id").values_list("id", flat=True)[::step][:N_DETAIL_LEADS])
    return {
        "token": token,
        "session": session.session_key,
        "session_cookie": settings.SESSION_COOKIE_NAME,
        "lead_ids": ids,
        "n_leads": Lead.objects.count(),
    }


def enqueue_tasks(database_url: str, n_tasks: int) -> dict[str, Any]:
    """Empty the queue, then enqueue ``n_tasks``: rescoring and snapshot reasons, half each."""
    _setup_django(database_url)
    from django_tasks_db.models import DBTaskResult

    from leadsieve.leads.models import Lead
    from leadsieve.scoring.models import ScoreSnapshot
    from leadsieve.scoring.services import rescore_leads
    from leadsieve.scoring.tasks import fill_snapshot_reasons_task, rescore_leads_task

    DBTaskResult.objects.all().delete()
    n_rescore = n_tasks // 2
    lead_ids = list(Lead.objects.order_by("-id").values_list("id", flat=True)[: n_rescore * 20])
    for n in range(n_rescore):
        rescore_leads_task.enqueue(lead_ids=lead_ids[n * 20 : (n + 1) * 20])
    # Snapshots stored without reasons, as event rescoring leaves them for the task.
    rescore_leads(lead_ids[: n_tasks - n_rescore], explain_later=True)
    DBTaskResult.objects.filter(task_path__endswith="fill_snapshot_reasons_task").delete()
    snapshot_ids = list(
        ScoreSnapshot.objects.filter(reasons=[]).order_by("-id").values_list("id", flat=True)
    )[: n_tasks - n_rescore]
    for snapshot_id in snapshot_ids:
        fill_snapshot_reasons_task.enqueue([snapshot_id])
    return {"n_tasks": DBTaskResult.objects.count()}


def count_ready_tasks(database_url: str) -> dict[str, Any]:
    _setup_django(database_url)
    from django_tasks_db.models import DBTaskResult

    by_status: dict[str, int] = {}
    for status in DBTaskResult.objects.values_list("status", flat=True):
        by_status[status] = by_status.get(status, 0) + 1
    return by_status


def _child(command: str, database_url: str, *extra: str) -> Any:
    out = subprocess.run(
        [sys.executable, __file__, "--child", command, "--database-url", database_url, *extra],
        check=True,
        capture_output=True,
        text=True,
    )
    sys.stderr.write(out.stderr[-2000:] if out.returncode else "")
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- The server, the worker and the load ------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cpu_ticks(pid: int) -> int:
    """User + system clock ticks of ``pid`` and its children (the server's workers)."""
    total = 0
    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    for one in [pid, *(int(p) for p in children.split())]:
        try:
            fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total


def _postgres_ticks(database: str) -> int:
    """User + system clock ticks of the PostgreSQL backends serving ``database`` (the
    server's persistent connections): the database's side of a case, next to the server's."""
    import psycopg

    with psycopg.connect(f"{POSTGRES_ADMIN_URL}/postgres", autocommit=True) as db:
        pids = db.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s", [database]
        ).fetchall()
    total = 0
    for (pid,) in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # not on this machine, or gone
            continue
        total += int(fields[11]) + int(fields[12])
    return total


def _wait_idle(pid: int, *, quiet_s: float = 0.5, limit_s: float = 120.0) -> float:
    """Seconds until the server has used no CPU for ``quiet_s``: requests wrk sent before it
    stopped are still being served, and must neither slow the next case nor go uncounted."""
    started = time.perf_counter()
    ticks = _cpu_ticks(pid)
    while time.perf_counter() - started < limit_s:
        time.sleep(quiet_s)
        now = _cpu_ticks(pid)
        if now - ticks <= 1:  # a tick is 10 ms: the loop's own wake-ups
            break
        ticks = now
    return round(time.perf_counter() - started, 1)


class Server:
    def __init__(self, command: list[str], env: dict[str, str], log: Path) -> None:
        url = env.get("DATABASE_URL", "")
        self.postgres_database = url.rsplit("/", 1)[1] if url.startswith("postgres") else ""
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log.open("w")
        self.process = subprocess.Popen(
            [*command, "--bind" if "serve" in command else "-b", f"127.0.0.1:{self.port}"],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{self.base}/accounts/login/", timeout=5).read()  # noqa: S310
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(log.read_text()[-3000:]) from None
                time.sleep(0.3)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def run_wrk(
    server: Server, path: str, script: str, headers: dict[str, str], seconds: float
) -> dict[str, Any]:
    """One case: wrk for ``seconds`` at CLIENTS connections; its figures and CPU."""
    lua = OUT / "lua" / f"case-{abs(hash(script)) % 10**8}.lua"
    lua.parent.mkdir(parents=True, exist_ok=True)
    lua.write_text(script + LUA_REPORT)
    header_args = [arg for name, value in headers.items() for arg in ("-H", f"{name}: {value}")]
    command = [
        *("wrk", "-t1", f"-c{CLIENTS}", f"-d{round(seconds)}s", "--timeout", "60s", "-s", str(lua)),
        *header_args,
        f"{server.base}{path}",
    ]
    ticks = _cpu_ticks(server.process.pid)
    database = server.postgres_database
    db_ticks = _postgres_ticks(database) if database else 0
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    _, _, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    drain_s = _wait_idle(server.process.pid)
    assert process.stdout is not None
    output = process.stdout.read()
    process.stdout.close()
    try:
        figures = json.loads(output.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise RuntimeError(f"wrk said: {output}") from None
    server_cpu_s = (_cpu_ticks(server.process.pid) - ticks) / os.sysconf("SC_CLK_TCK")
    n = figures["requests"]
    db_cpu = {}
    if database:
        # Backends that ended during the case (none: connections persist) are not counted.
        db_cpu_s = (_postgres_ticks(database) - db_ticks) / os.sysconf("SC_CLK_TCK")
        db_cpu["postgres_cpu_ms_per_request"] = round(db_cpu_s * 1000 / max(n, 1), 2)
    return {
        "rps": round(n / (figures["duration_us"] / 1e6), 1),
        "p50_ms": round(figures["p50_us"] / 1000, 1),
        "p99_ms": round(figures["p99_us"] / 1000, 1),
        "n": n,
        "errors": figures["socket_errors"] + figures["status_errors"] + figures["timeouts"],
        # Includes what the server did after wrk stopped (the requests in flight, ``drain_s``).
        "server_cpu_ms_per_request": round(server_cpu_s * 1000 / max(n, 1), 2),
        "drain_s": drain_s,
        "wrk_cpu_pct": round(100 * (usage.ru_utime + usage.ru_stime) / wall, 1),
        **db_cpu,
    }


def cases(fixtures: dict[str, Any]) -> dict[str, tuple[str, str, dict[str, str]]]:
    """Name → (path, wrk script, headers)."""
    api = {"Authorization": f"Bearer {fixtures['token']}", "Content-Type": "application/json"}
    web = {"Cookie": f"{fixtures['session_cookie']}={fixtures['session']}"}
    ids = fixtures["lead_ids"]
    api_paths = ",".join(f'"/api/v1/leads/{i}"' for i in ids)
    web_paths = ",".join(f'"/leads/{i}/"' for i in ids)
    form = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Accept": "application/json",
        "Origin": "https://www.example.org",
    }
    return {
        "single_capture": ("/api/v1/leads", LUA_UNIQUE + LUA_SINGLE, api),
        "bulk_capture": ("/api/v1/leads/bulk", LUA_UNIQUE + LUA_BULK, api),
        "list_api": ("/api/v1/leads", "", api),
        "list_web": ("/leads/", "", web),
        "detail_api": ("/", LUA_PATHS % api_paths, api),
        "detail_web": ("/", LUA_PATHS % web_paths, web),
        "web_form": ("/f/bench/", LUA_UNIQUE + LUA_FORM, form),
    }


def run_cases(
    server: Server,
    fixtures: dict[str, Any],
    seconds: float,
    label: str,
    only: tuple[str, ...] = (),
) -> dict:
    results: dict[str, Any] = {}
    for name, (path, script, headers) in cases(fixtures).items():
        if only and name not in only:
            continue
        result = run_wrk(server, path, script, headers, seconds)
        if name == "bulk_capture":
            result["leads_per_s"] = round(result["rps"] * BULK_SIZE)
        results[name] = result
        extra = f" ({result['leads_per_s']:,} leads/s)" if "leads_per_s" in result else ""
        print(
            f"  {label:12s} {name:15s} {result['rps']:8.1f} req/s{extra}  p50 "
            f"{result['p50_ms']:7.1f}  p99 {result['p99_ms']:7.1f} ms  errors {result['errors']}"
            f"  server {result['server_cpu_ms_per_request']:.2f} ms CPU/req"
            f"  wrk {result['wrk_cpu_pct']:.0f}% CPU  drained in {result['drain_s']} s"
            + (
                f"  postgres {result['postgres_cpu_ms_per_request']:.2f} ms CPU/req"
                if "postgres_cpu_ms_per_request" in result
                else ""
            ),
            flush=True,
        )
    return results


def bench_database(name: str, database_url: str, args: argparse.Namespace) -> dict[str, Any]:
    print(f"{name}: preparing {args.leads:,} leads…", flush=True)
    fixtures = _child("prepare", database_url, "--leads", str(args.leads))
    data_dir = OUT / f"data-{name}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-only-not-a-secret"),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LEADSIEVE_DATA_DIR": str(data_dir),
        "LEADSIEVE_FORM_RATE_LIMIT": "1000000000",
    }
    env.pop("LEADSIEVE_TASKS_BACKEND", None)
    server = Server([str(BIN / "leadsieve"), "serve"], env, OUT / f"serve-{name}.log")
    if args.only_bulk:
        try:
            bulk = run_cases(server, fixtures, args.seconds, "idle", only=("bulk_capture",))
        finally:
            server.stop()
        return {"n_leads": fixtures["n_leads"], **bulk["bulk_capture"]}
    try:
        idle = run_cases(server, fixtures, args.seconds, "idle")
        queued = _child("enqueue", database_url, "--tasks", str(N_TASKS))
        print(f"  {queued['n_tasks']} tasks queued; a worker drains them meanwhile", flush=True)
        worker_log = (OUT / f"worker-{name}.log").open("w")
        worker = subprocess.Popen(
            [str(BIN / "leadsieve"), "worker", "--interval", "0.1"],
            env=env,
            stdout=worker_log,
            stderr=subprocess.STDOUT,
        )
        try:
            busy = run_cases(server, fixtures, args.seconds, "worker busy")
        finally:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(timeout=120)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
            worker_log.close()
        left = _child("count", database_url)
        print(f"  tasks after the busy run: {left}", flush=True)
    finally:
        server.stop()
    baseline: dict[str, Any] = {}
    if not args.no_baseline:
        gthread = [
            *(str(BIN / "gunicorn"), "leadsieve.config.wsgi", "-k", "gthread"),
            *("-w", "2", "--threads", "4"),
        ]
        old = Server(gthread, env, OUT / f"baseline-{name}.log")
        try:
            for case in ("list_api", "detail_api"):
                path, script, headers = cases(fixtures)[case]
                baseline[case] = run_wrk(old, path, script, headers, args.seconds)
                print(
                    f"  {'baseline':12s} {case:15s} {baseline[case]['rps']:8.1f} req/s  p99 "
                    f"{baseline[case]['p99_ms']:7.1f} ms  (gunicorn gthread 2×4, WSGI)",
                    flush=True,
                )
        finally:
            old.stop()
    return summarise(fixtures, idle, busy, baseline, left)


def summarise(
    fixtures: dict[str, Any],
    idle: dict[str, Any],
    busy: dict[str, Any],
    baseline: dict[str, Any],
    left: dict[str, int],
) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "n_leads": fixtures["n_leads"],
        "list_rps": idle["list_api"]["rps"],
        "list_p99_ms": idle["list_api"]["p99_ms"],
        "list_web_rps": idle["list_web"]["rps"],
        "detail_rps": idle["detail_api"]["rps"],
        "detail_p99_ms": idle["detail_api"]["p99_ms"],
        "detail_web_rps": idle["detail_web"]["rps"],
        "single_capture_rps": idle["single_capture"]["rps"],
        "bulk_leads_per_s": idle["bulk_capture"]["leads_per_s"],
        "web_form_rps": idle["web_form"]["rps"],
        "errors_idle": sum(case["errors"] for case in idle.values()),
        "errors_with_worker_busy": sum(case["errors"] for case in busy.values()),
        "list_rps_worker_busy": busy["list_api"]["rps"],
        "detail_rps_worker_busy": busy["detail_api"]["rps"],
        "bulk_leads_per_s_worker_busy": busy["bulk_capture"]["leads_per_s"],
        "p99_ms_worker_busy_max": max(case["p99_ms"] for case in busy.values()),
        "tasks_left": left,
        "cases": {"idle": idle, "worker_busy": busy},
    }
    for case, result in baseline.items():
        summary[f"{case}_vs_gthread"] = round(idle[case]["rps"] / max(result["rps"], 0.1), 2)
    summary["cases"]["baseline_gthread"] = baseline
    return summary


def copy_sqlite(n_leads: int) -> str:
    """A copy of bench_ui's cached file (built there if absent): runs never grow the cache."""
    cached = OUT / f"bench_ui_{n_leads}.sqlite3"
    if not cached.exists():
        print(f"building {cached} (once)…", flush=True)
        builder = [sys.executable, str(ROOT / "bench" / "bench_ui.py"), "--leads", str(n_leads)]
        subprocess.run([*builder, "--repeat", "1"], check=True, stdout=subprocess.DEVNULL)
    target = OUT / "bench_api.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(cached, target)
    return f"sqlite:///{target}"


def postgres_database() -> tuple[str, str] | None:
    """A fresh ``bench_api_<pid>`` database (or ``BENCH_API_POSTGRES_DB``, kept: filled the
    first time, reused after), or None when PostgreSQL is not reachable."""
    try:
        import psycopg

        with psycopg.connect(f"{POSTGRES_ADMIN_URL}/postgres", autocommit=True) as db:
            name = KEPT_POSTGRES_DB or f"bench_api_{os.getpid()}"
            found = db.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
            if found is None:
                db.execute(f'CREATE DATABASE "{name}"')
    except Exception as error:  # any failure means "not reachable"
        print(f"PostgreSQL not reachable ({error}): skipped", flush=True)
        return None
    return name, f"{POSTGRES_ADMIN_URL}/{name}"


def drop_postgres_database(name: str) -> None:
    import psycopg

    with psycopg.connect(f"{POSTGRES_ADMIN_URL}/postgres", autocommit=True) as db:
        db.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=int, default=10, help="Per case.")
    parser.add_argument("--db", default="sqlite,postgres")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument(
        "--only-bulk",
        action="store_true",
        help="Bulk capture alone, without the worker or the baseline (while tuning it).",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    parser.add_argument("--tasks", type=int, default=N_TASKS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        children = {
            "prepare": lambda: prepare(args.database_url, args.leads),
            "enqueue": lambda: enqueue_tasks(args.database_url, args.tasks),
            "count": lambda: count_ready_tasks(args.database_url),
        }
        print(json.dumps(children[args.child]()))
        return
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install wrk (make bench-api does)")
    OUT.mkdir(parents=True, exist_ok=True)
    ref_before = machine_ref_s()
    print(f"machine_ref_s {ref_before} (load average {os.getloadavg()[0]:.1f})", flush=True)
    results: dict[str, Any] = {}
    for name in args.db.split(","):
        if name == "sqlite":
            results["sqlite"] = bench_database("sqlite", copy_sqlite(args.leads), args)
        elif name == "postgres":
            database = postgres_database()
            if database is None:
                continue
            try:
                results["postgres"] = bench_database("postgres", database[1], args)
            finally:
                if not KEPT_POSTGRES_DB:
                    drop_postgres_database(database[0])
    ref_after = machine_ref_s()
    print(f"machine_ref_s {ref_after} at the end (load average {os.getloadavg()[0]:.1f})")
    if args.only_bulk:
        print(
            json.dumps(
                {
                    "bulk_leads_per_s": min(r["leads_per_s"] for r in results.values()),
                    "machine_ref_s": ref_before,
                    "machine_ref_s_end": ref_after,
                    "db": results,
                }
            )
        )
        return
    worst = {
        "list_rps": min(r["list_rps"] for r in results.values()),
        "list_p99_ms": max(r["list_p99_ms"] for r in results.values()),
        "detail_rps": min(r["detail_rps"] for r in results.values()),
        "detail_p99_ms": max(r["detail_p99_ms"] for r in results.values()),
        "bulk_leads_per_s": min(r["bulk_leads_per_s"] for r in results.values()),
        "errors_with_worker_busy": sum(r["errors_with_worker_busy"] for r in results.values()),
    }
    print(
        json.dumps(
            {
                **worst,
                "machine_ref_s": ref_before,
                "machine_ref_s_end": ref_after,
                "clients": CLIENTS,
                "targets": TARGETS,
                "db": results,
            }
        )
    )


if __name__ == "__main__":
    main()
