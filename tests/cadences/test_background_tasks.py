"""Background tasks: what goes first, and tasks a killed worker left running.

The database tasks backend is used throughout: the queue's rows are what is checked.
(``tests/concurrency/test_killed_worker.py`` kills a real worker process.)
"""

from __future__ import annotations

import pytest
from django.utils import timezone

from leadsieve.background import (
    MAX_ATTEMPTS,
    WORKER_STOPPED_CLASS,
    enqueue_unless_waiting,
    recover_stopped_tasks,
)
from leadsieve.worker_processes import current_worker


@pytest.fixture(autouse=True)
def database_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def _running(task, worker_ids, *args):
    """``task`` enqueued with ``args``, then marked claimed by ``worker_ids`` (last: now)."""
    from django_tasks_db.models import DBTaskResult

    result = task.enqueue(*args)
    DBTaskResult.objects.filter(id=result.id).update(
        status="RUNNING", started_at=timezone.now(), worker_ids=worker_ids
    )
    return result.id


def test_user_work_is_taken_before_maintenance_queued_earlier(db):
    from django_tasks_db.models import DBTaskResult

    from leadsieve.intake.tasks import run_import_job_task
    from leadsieve.ops.tasks import tick_task
    from leadsieve.scoring.drafts import rescore_open_leads_task, run_backtest_task
    from leadsieve.scoring.snapshot_reasons import fill_pending_snapshot_reasons_task
    from leadsieve.scoring.tasks import fill_snapshot_reasons_task, rescore_leads_task

    for n in range(20):
        fill_snapshot_reasons_task.enqueue([n])
    fill_pending_snapshot_reasons_task.enqueue()
    rescore_leads_task.enqueue(lead_ids=[1])
    tick_task.enqueue()
    run_import_job_task.enqueue(1)
    run_backtest_task.enqueue(1)
    rescore_open_leads_task.enqueue()

    order = [
        path.rsplit(".", 1)[1]
        for path in DBTaskResult.objects.ready().values_list("task_path", flat=True)
    ]
    assert set(order[:3]) == {
        "run_import_job_task",
        "run_backtest_task",
        "rescore_open_leads_task",
    }
    assert order[3:5] == ["tick_task", "rescore_leads_task"]
    assert set(order[5:]) == {"fill_snapshot_reasons_task", "fill_pending_snapshot_reasons_task"}


def test_a_task_already_waiting_is_not_queued_again(db):
    from django_tasks_db.models import DBTaskResult

    from leadsieve.scoring.snapshot_reasons import fill_pending_snapshot_reasons_task

    assert enqueue_unless_waiting(fill_pending_snapshot_reasons_task)
    assert not enqueue_unless_waiting(fill_pending_snapshot_reasons_task)
    DBTaskResult.objects.update(status="RUNNING")
    assert enqueue_unless_waiting(fill_pending_snapshot_reasons_task)
    assert DBTaskResult.objects.count() == 2


def test_a_task_whose_worker_is_gone_is_queued_again(db, ended_worker):
    from django_tasks_db.models import DBTaskResult

    from leadsieve.scoring.snapshot_reasons import fill_pending_snapshot_reasons_task

    task_id = _running(fill_pending_snapshot_reasons_task, [ended_worker])
    assert recover_stopped_tasks() == {"requeued": 1, "failed": 0}
    result = DBTaskResult.objects.get(id=task_id)
    assert (result.status, result.started_at, result.worker_ids) == ("READY", None, [ended_worker])
    assert recover_stopped_tasks() == {"requeued": 0, "failed": 0}


def test_a_task_whose_workers_died_every_time_fails_saying_why(db, ended_worker):
    from django_tasks_db.models import DBTaskResult

    from leadsieve.scoring.tasks import rescore_leads_task

    task_id = _running(rescore_leads_task, [ended_worker] * MAX_ATTEMPTS)
    assert recover_stopped_tasks() == {"requeued": 0, "failed": 1}
    result = DBTaskResult.objects.get(id=task_id)
    assert result.status == "FAILED"
    assert result.finished_at is not None
    assert result.exception_class_path == WORKER_STOPPED_CLASS
    assert "stopped without finishing" in result.traceback
    assert f"{MAX_ATTEMPTS} times" in result.traceback


def test_a_task_of_a_live_or_unknown_worker_is_left_running(db):
    from django_tasks_db.models import DBTaskResult

    from leadsieve.scoring.tasks import rescore_leads_task

    mine = _running(rescore_leads_task, [current_worker()])
    random_id = _running(rescore_leads_task, ["a3f9c2d1e0b84c7a9f1e2d3c4b5a6978"])
    other_host = _running(rescore_leads_task, ["elsewhere.example:1:"])
    assert recover_stopped_tasks() == {"requeued": 0, "failed": 0}
    statuses = set(
        DBTaskResult.objects.filter(id__in=[mine, random_id, other_host]).values_list(
            "status", flat=True
        )
    )
    assert statuses == {"RUNNING"}


def test_the_tick_recovers_stopped_tasks(db, ended_worker):
    from leadsieve.ops.tick import run_tick
    from leadsieve.scoring.snapshot_reasons import fill_pending_snapshot_reasons_task

    _running(fill_pending_snapshot_reasons_task, [ended_worker])
    counts = run_tick()
    assert (counts["tasks_requeued"], counts["tasks_failed"]) == (1, 0)


def test_an_import_whose_worker_died_fails_visibly_when_its_task_runs_again(
    db, alice, ended_worker, tmp_path, settings
):
    """The retried task does not import the file a second time: the job fails, saying why,
    and its page shows it."""
    from django.test import Client

    from leadsieve.intake.models import ImportJob, ImportStatus
    from leadsieve.intake.tasks import run_import_job_task

    settings.DATA_DIR = tmp_path
    job = ImportJob.objects.create(
        created_by=alice,
        team=alice.team,
        original_name="leads.csv",
        stored_name="leads.csv",
        kind="csv",
        status=ImportStatus.RUNNING,
        worker=ended_worker,
        n_read=5000,
    )
    _running(run_import_job_task, [ended_worker], job.pk)
    assert recover_stopped_tasks()["requeued"] == 1

    assert run_import_job_task.call(job.pk) == ImportStatus.FAILED
    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED
    assert "the process running it ended without finishing" in job.error
    client = Client()
    client.force_login(alice)
    page = client.get(f"/intake/imports/{job.pk}/")
    assert "the process running it ended without finishing" in page.content.decode()


def test_the_tick_queues_snapshot_reasons_left_pending(db, make_lead):
    from django_tasks_db.models import DBTaskResult

    from leadsieve.ops.tick import run_tick
    from leadsieve.scoring.models import ScoreSnapshot
    from leadsieve.scoring.services import rescore_leads

    rescore_leads([make_lead(job_title="CEO").pk], explain_later=True)  # its run never came
    DBTaskResult.objects.all().delete()
    assert ScoreSnapshot.objects.filter(reasons_pending=True).exists()

    assert run_tick()["snapshot_reasons_queued"] == 1
    assert run_tick()["snapshot_reasons_queued"] == 0  # one waits already
    assert (
        DBTaskResult.objects.filter(
            task_path__endswith="fill_pending_snapshot_reasons_task"
        ).count()
        == 1
    )
