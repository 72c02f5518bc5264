"""A worker killed with SIGKILL mid-task: its task is run again or fails visibly.

Real ``leadsieve worker`` processes on the test database. Before, the task stayed
RUNNING forever (and an import's page said "Importing…" until someone opened it).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.concurrency.conftest import start_worker

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
N_ROWS = 60_000  # an import of several seconds, so the worker is killed in the middle


def _wait_for(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _kill(process: subprocess.Popen[bytes]) -> None:
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def _run_to_the_end(data_dir: Path) -> None:
    """A second worker: recovers what the first left running, runs the queue, exits."""
    from django.db import connection

    connection.close()
    second = start_worker(data_dir, "second-worker.log", "--batch")
    try:
        assert second.wait(timeout=120) == 0, (data_dir / "second-worker.log").read_text()
    finally:
        if second.poll() is None:
            second.kill()
            second.wait()


def test_an_import_whose_worker_is_killed_fails_saying_why(
    settings: Any, admin_user: Any, tmp_path: Path
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django_tasks_db.models import DBTaskResult

    from leadsieve.intake.models import ImportJob, ImportStatus
    from leadsieve.intake.services import start_import, store_import_upload
    from leadsieve.leads.models import Lead

    settings.TASKS = DATABASE_TASKS
    settings.DATA_DIR = tmp_path
    rows = "".join(f"lead{n}@killed-{n % 97}.test;Lee{n}\n" for n in range(N_ROWS))
    upload = SimpleUploadedFile("big.csv", f"email;first_name\n{rows}".encode())
    job = store_import_upload(upload, user=admin_user, team=None)
    start_import(job, columns={"email": "email"}, source_name="", campaign_name="", on_error="skip")
    from django.db import connection

    connection.close()
    first = start_worker(tmp_path, "first-worker.log")
    try:
        _wait_for(
            lambda: ImportJob.objects.filter(pk=job.pk, n_read__gt=0).exists(),
            90,
            "the import's first chunk",
        )
    finally:
        _kill(first)
    job.refresh_from_db()
    assert job.status == ImportStatus.RUNNING  # what stayed forever before
    task = DBTaskResult.objects.get(task_path__endswith=".run_import_job_task")
    assert task.status == "RUNNING"

    _run_to_the_end(tmp_path)

    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED
    assert "the process running it ended without finishing" in job.error
    assert 0 < Lead.objects.count() < N_ROWS  # the chunks saved before the kill are kept
    task.refresh_from_db()
    assert task.status == "SUCCESSFUL"
    assert len(task.worker_ids) == 2
    assert task.worker_ids[0].split(":")[1] == str(first.pid)


def test_snapshot_reasons_whose_worker_is_killed_are_filled_by_the_next(
    settings: Any, make_lead: Any, tmp_path: Path
) -> None:
    from django_tasks_db.models import DBTaskResult

    from leadsieve.scoring.models import ScoreSnapshot
    from leadsieve.scoring.services import rescore_leads

    settings.TASKS = DATABASE_TASKS
    ids = [make_lead(job_title=["CEO", "Student", ""][n % 3]).pk for n in range(3000)]
    rescore_leads(ids, explain_later=True)
    assert ScoreSnapshot.objects.filter(reasons_pending=True).count() == 3000
    from django.db import connection

    connection.close()
    first = start_worker(tmp_path, "first-worker.log")
    try:
        _wait_for(
            lambda: DBTaskResult.objects.filter(status="RUNNING").exists(), 60, "the task to start"
        )
    finally:
        _kill(first)
    assert DBTaskResult.objects.filter(status="RUNNING").exists()

    _run_to_the_end(tmp_path)

    assert not ScoreSnapshot.objects.filter(reasons_pending=True).exists()
    assert ScoreSnapshot.objects.exclude(reasons=[]).count() >= 1000  # the CEOs' at least
    assert not DBTaskResult.objects.exclude(status="SUCCESSFUL").exists()
    assert any(len(t.worker_ids) == 2 for t in DBTaskResult.objects.all())
