"""Two web processes and four workers on one PostgreSQL database, with a web process and a
worker killed with SIGKILL in the middle of a burst (issue #21, docs/deploy.md).

Real processes: two ``leadsieve serve`` (one gunicorn master each, as two web hosts behind a
load balancer) and four ``leadsieve worker``. Client threads send a burst of API captures
(single and bulk), each with its own ``Idempotency-Key``; when a server does not answer,
the client sends the same request, with the same key, to the other one (what a load
balancer and a retrying client do). Meanwhile the workers run an import, the rescoring of
every open lead, the routing of each bulk call and a few hundred probe tasks that record
each run. The import's worker and one web host are killed mid-burst; the worker is started
again (systemd's ``Restart=always``) and one tick runs (the timer).

Afterwards: every capture is stored exactly once, every task ran once (only the killed
worker's task twice, the second run failing its import visibly), and every lead is scored
and routed. With django-tasks-db's claim stripped of its row lock (``get_locked`` as a plain
``.first()`` instead of ``SELECT … FOR UPDATE SKIP LOCKED``), probe tasks ran twice and this
test failed (checked once, 2026-12-07).
"""

from __future__ import annotations

import http.client
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from tests.concurrency.conftest import database_url, start_worker
from tests.ops.probe_tasks import PROBE_TABLE, probe_task

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="several processes: PostgreSQL"),
]

LEADSIEVE = Path(sys.executable).with_name("leadsieve")
ROOT = Path(__file__).resolve().parents[2]
DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
N_SINGLE = 800  # POST /api/v1/leads, one lead each
N_BULK = 8  # POST /api/v1/leads/bulk ...
BULK_SIZE = 50  # ... of this many leads each
N_CLIENTS = 12
N_WORKERS = 4
N_PROBES = 300
N_IMPORT_ROWS = 20_000  # several seconds of work: the worker is killed in the middle
MAX_TRIES = 30


def _wait_for(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(data_dir: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url(connection.settings_dict),
        "LEADSIEVE_DATA_DIR": str(data_dir),
        "LEADSIEVE_TASKS_BACKEND": "django_tasks_db.DatabaseBackend",
        "DJANGO_SETTINGS_MODULE": "leadsieve.config.settings",
        "ALLOWED_HOSTS": "127.0.0.1",
        # The workers import the probe task from this repository's tests package.
        "PYTHONPATH": str(ROOT),
    }
    env.pop("LEADSIEVE_TEST_SQLITE", None)
    return env


def _start_server(data_dir: Path, name: str) -> tuple[subprocess.Popen[bytes], int]:
    """One web host: a gunicorn master and its worker, in a process group of their own."""
    port = _free_port()
    with (data_dir / f"{name}.log").open("w") as log:
        process = subprocess.Popen(
            [
                *(str(LEADSIEVE), "serve", "--workers", "1", "--threads", "4"),
                *("--bind", f"127.0.0.1:{port}", "--timeout", "60", "--no-collectstatic"),
            ],
            env=_env(data_dir),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return process, port


def _is_up(port: int) -> bool:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", "/accounts/login/")
        return conn.getresponse().status == 200
    except OSError:
        return False


def _post(port: int, path: str, body: Any, headers: dict[str, str]) -> tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("POST", path, body=json.dumps(body), headers=headers)
        response = conn.getresponse()
        raw = response.read()
        try:
            return response.status, json.loads(raw or b"{}")
        except ValueError:
            return response.status, {"raw": raw[:300].decode("utf-8", "replace")}
    finally:
        conn.close()


class Burst:
    """Client threads draining a queue of captures over two servers, retrying on failure."""

    def __init__(self, ports: list[int], token: str) -> None:
        self.ports = ports
        self.token = token
        self.jobs: queue.Queue[tuple[int, str, str, Any]] = queue.Queue()
        self.accepted: dict[str, tuple[int, Any]] = {}  # key -> (status, body)
        self.errors: list[tuple[str, int, Any]] = []
        self.n_retries = 0
        self.lock = threading.Lock()

    def send(self, n: int, key: str, path: str, body: Any) -> None:
        headers = {
            "Authorization": f"Bearer {self.token}",
            "Content-Type": "application/json",
            "Idempotency-Key": key,
        }
        for attempt in range(MAX_TRIES):
            port = self.ports[(n + attempt) % len(self.ports)]  # the next server on a retry
            try:
                status, answer = _post(port, path, body, headers)
            except (OSError, http.client.HTTPException):
                status, answer = 0, None  # refused, reset, or no answer: send it again
            if status in (200, 201):
                with self.lock:
                    self.accepted[key] = (status, answer)
                return
            if status not in (0, 502, 503):
                with self.lock:
                    self.errors.append((key, status, answer))
                return
            with self.lock:
                self.n_retries += 1
            time.sleep(0.2)
        with self.lock:
            self.errors.append((key, -1, "no server answered"))

    def run(self) -> None:
        while True:
            try:
                n, key, path, body = self.jobs.get_nowait()
            except queue.Empty:
                return
            self.send(n, key, path, body)


def _jobs() -> Iterator[tuple[str, str, Any]]:
    for n in range(N_SINGLE):
        yield f"one-{n}", "/api/v1/leads", {"first_name": f"One{n}", "email": f"one{n}@burst.test"}
    for b in range(N_BULK):
        leads = [
            {"first_name": f"Bulk{b}x{i}", "email": f"bulk{b}x{i}@burst.test"}
            for i in range(BULK_SIZE)
        ]
        yield f"bulk-{b}", "/api/v1/leads/bulk", {"leads": leads}


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except (ProcessLookupError, PermissionError):
                process.terminate()
    for process in started:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_two_servers_and_four_workers_survive_a_kill_losing_and_doubling_nothing(
    settings: Any,
    bob: Any,
    make_user: Any,
    tmp_path: Path,
    processes: list[subprocess.Popen[bytes]],
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django_tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    from leadsieve.api.models import IdempotencyKey
    from leadsieve.api.services import create_api_token
    from leadsieve.background import WORKER_STOPPED_CLASS
    from leadsieve.intake.models import ImportJob, ImportStatus
    from leadsieve.intake.services import start_import, store_import_upload
    from leadsieve.leads.models import Lead, Outcome
    from leadsieve.routing.models import QueuedLead, RepProfile
    from leadsieve.routing.services import save_rule
    from leadsieve.scoring.drafts import rescore_open_leads_task

    settings.TASKS = DATABASE_TASKS
    settings.DATA_DIR = tmp_path
    # Two reps on North at work all week, all day, with room for every lead of the test.
    dan = make_user("dan", role="rep", team=bob.team)
    for rep in (bob, dan):
        RepProfile.objects.create(
            user=rep,
            work_days=list(range(7)),
            work_start="00:00",
            work_end="23:59",
            max_new_per_day=100_000,
            max_open=100_000,
        )
    save_rule(name="Everything to North", team=bob.team, conditions=[], strategy="round_robin")
    _, token = create_api_token(bob, name="burst")
    rows = "".join(f"imp{n}@import-{n % 89}.test;Imp{n}\n" for n in range(N_IMPORT_ROWS))
    upload = SimpleUploadedFile("big.csv", f"email;first_name\n{rows}".encode())
    job = store_import_upload(upload, user=bob, team=bob.team)
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {PROBE_TABLE} (task_id uuid, worker_id text, n integer)")
    connection.close()

    t0 = time.monotonic()
    servers = [_start_server(tmp_path, f"server-{i}") for i in range(2)]
    processes.extend(process for process, _ in servers)
    workers = [
        start_worker(tmp_path, f"worker-{i}.log", env=_env(tmp_path)) for i in range(N_WORKERS)
    ]
    processes.extend(workers)
    ports = [port for _, port in servers]
    _wait_for(lambda: all(_is_up(port) for port in ports), 90, "both servers")
    phases = {"start": time.monotonic() - t0}

    burst = Burst(ports, token)
    for n, item in enumerate(_jobs()):
        burst.jobs.put((n, *item))
    n_jobs = burst.jobs.qsize()
    clients = [threading.Thread(target=burst.run) for _ in range(N_CLIENTS)]
    started_at = time.monotonic()
    for client in clients:
        client.start()

    # The workers' share, queued once the burst is under way.
    _wait_for(lambda: len(burst.accepted) >= 200, 120, "the burst to start")
    for n in range(N_PROBES):
        probe_task.enqueue(n=n)
    start_import(job, columns={"email": "email"}, source_name="", campaign_name="", on_error="skip")
    rescore_open_leads_task.enqueue()
    _wait_for(
        lambda: ImportJob.objects.filter(pk=job.pk, n_read__gt=0).exists(),
        120,
        "the import's first chunk",
    )

    # Kill -9: the worker running the import, and the first web host (master and worker).
    job.refresh_from_db()
    assert job.status == ImportStatus.RUNNING
    killed_pid = int(job.worker.split(":")[1])
    killed = next(w for w in workers if w.pid == killed_pid)
    os.kill(killed.pid, signal.SIGKILL)
    os.killpg(servers[0][0].pid, signal.SIGKILL)
    n_accepted_at_kill = len(burst.accepted)
    killed.wait(timeout=30)
    servers[0][0].wait(timeout=30)
    # systemd's Restart=always: a worker takes the killed one's place (and, starting,
    # puts its task back in the queue).
    processes.append(start_worker(tmp_path, "worker-restarted.log", env=_env(tmp_path)))

    for client in clients:
        client.join(timeout=300)
    burst_s = time.monotonic() - started_at
    phases["burst"] = burst_s

    def drained() -> bool:
        return not DBTaskResult.objects.filter(
            status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING]
        ).exists()

    _wait_for(drained, 240, "the task queue to drain")
    phases["drain"] = time.monotonic() - t0 - phases["start"] - burst_s
    tick = subprocess.run(
        [str(LEADSIEVE), "tick"], env=_env(tmp_path), capture_output=True, text=True, timeout=120
    )
    assert tick.returncode == 0, tick.stderr
    _wait_for(drained, 120, "the tasks queued by the tick")
    phases["tick"] = time.monotonic() - t0 - sum(phases.values())

    # -- every capture stored exactly once -------------------------------------------------
    assert not burst.errors, burst.errors[:5]
    assert len(burst.accepted) == n_jobs
    assert 0 < n_accepted_at_kill < n_jobs, "the web host was not killed mid-burst"
    accepted_ids: list[int] = []
    for key, (_, body) in burst.accepted.items():
        if key.startswith("bulk-"):
            assert body["n_created"] == BULK_SIZE, body
            accepted_ids += [row["lead_id"] for row in body["results"]]
        else:
            accepted_ids.append(body["lead"]["id"])
    assert len(accepted_ids) == len(set(accepted_ids)) == N_SINGLE + N_BULK * BULK_SIZE
    burst_leads = Lead.objects.filter(email_key__endswith="@burst.test")
    assert set(burst_leads.values_list("id", flat=True)) == set(accepted_ids)
    emails = Counter(burst_leads.values_list("email_key", flat=True))
    assert max(emails.values()) == 1
    assert IdempotencyKey.objects.count() == n_jobs

    # -- the killed worker's import failed visibly; what it kept is there ----------------------
    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED
    assert "the process running it ended without finishing" in job.error
    imported = Lead.objects.filter(email_key__endswith=".test").exclude(
        email_key__endswith="@burst.test"
    )
    # The page says how many rows were read; the chunks committed before the kill are kept.
    assert 0 < imported.count() <= job.n_read < N_IMPORT_ROWS

    # -- every task ran once: only the killed worker's task twice ------------------------------
    results = list(DBTaskResult.objects.all())
    statuses = Counter(r.status for r in results)
    assert set(statuses) <= {TaskResultStatus.SUCCESSFUL, TaskResultStatus.FAILED}, statuses
    failed = [r for r in results if r.status == TaskResultStatus.FAILED]
    assert all(r.exception_class_path == WORKER_STOPPED_CLASS for r in failed), [
        (r.task_path, r.traceback[:500]) for r in failed
    ]
    rerun = [r for r in results if len(r.worker_ids) != 1]
    assert [r.task_path.rsplit(".", 1)[-1] for r in rerun] == ["run_import_job_task"]
    assert rerun[0].worker_ids[0].split(":")[1] == str(killed_pid)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT task_id, worker_id FROM {PROBE_TABLE}")
        runs = [(str(task_id), worker_id) for task_id, worker_id in cursor.fetchall()]
    probes = {str(r.id): r for r in results if r.task_path.endswith(".probe_task")}
    assert len(probes) == N_PROBES
    assert Counter(task_id for task_id, _ in runs) == Counter(dict.fromkeys(probes, 1))
    assert all(worker == probes[task_id].worker_ids[0] for task_id, worker in runs)
    n_probe_workers = len({worker for _, worker in runs})
    assert n_probe_workers >= 2, "the probes were not shared between workers"

    # -- every lead scored and routed -------------------------------------------------------
    live = Lead.objects.filter(merged_into__isnull=True, outcome=Outcome.OPEN)
    assert not live.filter(rating__isnull=True).exists(), live.filter(rating__isnull=True).count()
    queued = set(QueuedLead.objects.values_list("lead_id", flat=True))
    unrouted = set(live.filter(owner__isnull=True).values_list("id", flat=True)) - queued
    assert not unrouted, f"{len(unrouted)} leads neither owned nor queued with a reason"
    print(
        f"\n{n_jobs} captures ({len(accepted_ids)} leads) in {burst_s:.1f} s, "
        f"{burst.n_retries} retries after the kill; {len(results)} tasks, "
        f"probes on {n_probe_workers} workers; {imported.count()} leads kept of the import; "
        f"phases (s): { {k: round(v, 1) for k, v in phases.items()} }"
    )
