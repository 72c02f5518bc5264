"""16 concurrent API writers while a real worker drains a backlog of snapshot-reason tasks.

The acceptance test of issue #16 finding 2: on SQLite a task that explained snapshots one
lead at a time inside one write transaction held the database's write lock for seconds to
minutes, and captures waited (30 s, then 500 "database is locked"). Here a ``leadsieve
serve`` and a ``leadsieve worker`` run on the test database with the database task queue;
the backlog is what a deployment holds after a busy hour: snapshots waiting for their
reasons (one task for all of them) and tasks queued one per capture by earlier versions.

Required: no error answer, every accepted lead stored, p99 ≤ 2 s; and the worker drained
the backlog meanwhile (it did not just sit idle).
"""

# ruff: noqa: S310 - every URL opened here is the local test server's http:// address.
from __future__ import annotations

import json
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.concurrency.conftest import server_errors, start_worker

N_WRITERS = 16
RUN_SECONDS = 12.0
# Each writer pauses between its requests, as a client does: the load stays within what a
# 2-core machine serves, so the latency measured is the wait for the lock, not a queue of
# requests at a saturated server.
# A writer pauses 0.6 to 2.4 s (1.5 s on average): 16 writers send about 10 captures a second,
# what one capture's cost (about 80 ms of CPU, #17) lets 2 cores serve beside the worker.
# Measured on a quiet machine (2026-12-07): p99 0.94 s and 0.80 s while the worker drained,
# 0.52 s and 0.68 s with it stopped; at 0.3 s (about 50 a second) the server alone queued
# requests to a p99 of 3.3 s.
THINK_S = 1.5
# Before: two requests per writer (each server process loads the engine), then the same load
# for IDLE_SECONDS with the worker stopped. On a machine so loaded by other work that the
# server alone misses the 2 s, the bound is LOADED_MACHINE_FACTOR × that run's p99 instead:
# what is tested is that the worker adds no wait for the lock. (The worker's own CPU slows
# the server on 2 cores; a worker holding the lock for seconds, as before, gives 6× and more.)
IDLE_SECONDS = 8.0
# 3, not 2: with two test suites sharing the 2 cores, the worker's CPU alone doubled the
# median (0.98 -> 1.86 s) and the p99 went to 2.1x (7.0 s against 3.3 s); a worker holding the
# lock, as before the fix, gives 6x and more.
LOADED_MACHINE_FACTOR = 3.0
P99_LIMIT_S = 2.0
N_BACKLOG_LEADS = 3000  # snapshots waiting for reasons
N_OLD_TASKS = 300  # tasks queued one per capture by earlier versions
DRAIN_WAIT_S = 40.0
DATABASE_TASKS = "django_tasks_db.DatabaseBackend"

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def server_env() -> dict[str, str]:
    return {"LEADSIEVE_TASKS_BACKEND": DATABASE_TASKS}


def _backlog(settings: Any, make_lead: Any) -> None:
    """Leads scored on events (snapshots without reasons) and old per-capture tasks."""
    from leadsieve.scoring.models import ScoreSnapshot
    from leadsieve.scoring.services import rescore_leads
    from leadsieve.scoring.tasks import fill_snapshot_reasons_task

    settings.TASKS = {"default": {"BACKEND": DATABASE_TASKS}}
    titles = ["VP Sales", "Student", "Head of Marketing", "", "CEO"]
    ids = [
        make_lead(job_title=titles[n % 5], timeline=["now", "", "year"][n % 3]).pk
        for n in range(N_BACKLOG_LEADS)
    ]
    rescore_leads(ids, explain_later=True)
    waiting = ScoreSnapshot.objects.filter(reasons=[]).order_by("id")
    for snapshot_id in list(waiting.values_list("id", flat=True)[:N_OLD_TASKS]):
        fill_snapshot_reasons_task.enqueue([snapshot_id])


@pytest.fixture
def worker(server: str, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    from django.db import connection

    connection.close()
    process = start_worker(tmp_path, "worker.log")
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _writer(
    base: str, token: str, seed: int, stop_at: float, out: list[Any], *, n_max: int = 10**9
) -> None:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    n = 0
    while time.monotonic() < stop_at and n < n_max:
        n += 1
        time.sleep(THINK_S * (seed % 4 + 1) / 2.5)
        email = f"w{seed}-{n}@load.example.org"
        payload = {"first_name": "Load", "email": email, "job_title": "Head of Sales"}
        request = urllib.request.Request(
            f"{base}/api/v1/leads", data=json.dumps(payload).encode(), headers=headers
        )
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                status, body = response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            status, body = error.code, {"raw": error.read()[:300].decode("utf-8", "replace")}
        except OSError as error:
            status, body = 0, {"raw": repr(error)}
        out.append((status, time.monotonic() - started, email, body))


def _p50(results: list[Any]) -> float:
    return float(np.percentile([seconds for _, seconds, _, _ in results], 50))


def _p99(results: list[Any]) -> float:
    return float(np.percentile([seconds for _, seconds, _, _ in results], 99))


def _run_writers(
    base: str, token: str, out: list[Any], *, seeds: range, seconds: float, n_max: int = 10**9
) -> None:
    stop_at = time.monotonic() + seconds
    threads = [
        threading.Thread(
            target=_writer, args=(base, token, seed, stop_at, out), kwargs={"n_max": n_max}
        )
        for seed in seeds
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)


def _pending_work() -> tuple[int, int]:
    from django_tasks_db.models import DBTaskResult

    from leadsieve.scoring.models import ScoreSnapshot

    tasks = DBTaskResult.objects.filter(status__in=["READY", "RUNNING"]).count()
    return tasks, ScoreSnapshot.objects.filter(reasons=[]).count()


def test_api_writes_stay_fast_while_the_worker_drains_snapshot_tasks(
    settings: Any, make_lead: Any, bob: Any, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("the database-wide write lock is SQLite's")
    from leadsieve.api.services import create_api_token
    from leadsieve.leads.models import Lead

    _backlog(settings, make_lead)
    backlog = _pending_work()
    assert backlog[0] >= N_OLD_TASKS and backlog[1] >= N_BACKLOG_LEADS * 0.9
    _, token = create_api_token(bob, name="load")
    server = request.getfixturevalue("server")
    warm_up: list[Any] = []
    _run_writers(server, token, warm_up, seeds=range(100, 116), seconds=RUN_SECONDS, n_max=2)
    idle: list[Any] = []
    _run_writers(server, token, idle, seeds=range(200, 216), seconds=IDLE_SECONDS)
    request.getfixturevalue("worker")
    time.sleep(1.0)  # the worker is into the backlog
    busy: list[Any] = []
    _run_writers(server, token, busy, seeds=range(N_WRITERS), seconds=RUN_SECONDS)

    results = [*warm_up, *idle, *busy]
    statuses = Counter(status for status, _, _, _ in results)
    p99 = _p99(busy)
    print(
        f"\n{len(busy)} captures in {RUN_SECONDS:.0f} s by {N_WRITERS} writers while the worker "
        f"drained: p50 {_p50(busy) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms; with the worker "
        f"stopped: {len(idle)} in {IDLE_SECONDS:.0f} s, p50 {_p50(idle) * 1000:.0f} ms, p99 "
        f"{_p99(idle) * 1000:.0f} ms; answers {dict(statuses)}; backlog before {backlog}, "
        f"after {_pending_work()} (tasks, snapshots without reasons)"
    )
    errors = [r for r in results if r[0] not in (200, 201)]
    assert not errors, (errors[:3], server_errors(tmp_path))
    stored = set(
        Lead.objects.filter(email__endswith="@load.example.org").values_list("email", "id")
    )
    accepted = {(email, body["lead"]["id"]) for _, _, email, body in results}
    assert accepted == stored, "an accepted capture is missing"
    assert len(busy) >= 2 * N_WRITERS  # every writer kept writing (62 seen on a saturated machine)
    assert p99 <= max(P99_LIMIT_S, LOADED_MACHINE_FACTOR * _p99(idle)), f"p99 {p99:.2f} s"
    assert _pending_work()[1] < backlog[1], "the worker did not drain meanwhile"

    deadline = time.monotonic() + DRAIN_WAIT_S
    while _pending_work()[0] and time.monotonic() < deadline:
        time.sleep(0.5)
    left = _pending_work()
    assert left[0] == 0, (left, (tmp_path / "worker.log").read_text()[-3000:])
    # Leads with no reason at all keep an empty list; none is still waiting for its task.
    from leadsieve.scoring.models import ScoreSnapshot

    assert not ScoreSnapshot.objects.filter(reasons_pending=True).exists()
