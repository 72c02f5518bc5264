"""Snapshot reasons filled later (event rescoring): one waiting task, batches, same reasons.

Event rescoring (every capture) stores its snapshots without reasons, marked pending; one
task run explains every pending snapshot, a batch per short transaction. These tests run
the database tasks backend where the queue itself is what is checked.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from leadsieve.leads.models import Activity
from leadsieve.scoring.frames import activity_columns, lead_columns
from leadsieve.scoring.history import reasons_json
from leadsieve.scoring.models import ScoreSnapshot
from leadsieve.scoring.queries import get_active_scoring
from leadsieve.scoring.services import rescore_leads
from leadsieve.scoring.snapshot_reasons import fill_pending_snapshot_reasons

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
FILL_TASK = "leadsieve.scoring.snapshot_reasons.fill_pending_snapshot_reasons_task"


@pytest.fixture
def database_tasks(settings):
    settings.TASKS = DATABASE_TASKS


def _varied_leads(make_lead, n):
    titles = ["VP Sales", "Student", "Head of Marketing", "", "CEO"]
    leads = []
    for i in range(n):
        lead = make_lead(
            job_title=titles[i % 5],
            decision_role=["decision_maker", "", "influencer"][i % 3],
            timeline=["now", "", "year"][i % 3],
            do_not_contact=(i % 7 == 0),
        )
        for j in range(i % 4):
            Activity.objects.create(
                lead=lead, kind="page_visit", occurred_at=NOW - timedelta(hours=5 + 30 * j)
            )
        leads.append(lead)
    return leads


def _one_by_one(leads, django_capture_on_commit_callbacks, *, start=NOW):
    """Each lead rescored on its own event (its own transaction and moment), as captures do."""
    from django.db import transaction

    for k, lead in enumerate(leads):
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            rescore_leads([lead.pk], as_of=start + timedelta(seconds=k), explain_later=True)


def test_captures_queue_one_task_for_all_their_snapshots(
    make_lead, database_tasks, django_capture_on_commit_callbacks
):
    from django_tasks_db.models import DBTaskResult

    leads = _varied_leads(make_lead, 12)
    _one_by_one(leads, django_capture_on_commit_callbacks)
    assert ScoreSnapshot.objects.filter(reasons_pending=True).count() == 12
    queued = list(DBTaskResult.objects.values_list("task_path", "status"))
    assert queued == [(FILL_TASK, "READY")]


def test_a_capture_after_the_task_started_queues_another(
    make_lead, database_tasks, django_capture_on_commit_callbacks
):
    from django_tasks_db.models import DBTaskResult

    first, second = _varied_leads(make_lead, 2)
    _one_by_one([first], django_capture_on_commit_callbacks)
    DBTaskResult.objects.update(status="RUNNING")  # claimed: it may have read the queue already
    _one_by_one([second], django_capture_on_commit_callbacks, start=NOW + timedelta(minutes=1))
    statuses = sorted(DBTaskResult.objects.filter(task_path=FILL_TASK).values_list("status"))
    assert statuses == [("READY",), ("RUNNING",)]


def test_filled_reasons_are_each_snapshots_own_version_and_moment(
    make_lead, django_capture_on_commit_callbacks, settings
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    leads = _varied_leads(make_lead, 15)
    _one_by_one(leads, django_capture_on_commit_callbacks)
    # A lead with two pending snapshots at two moments: explained in two rounds.
    twice = leads[3]
    Activity.objects.create(lead=twice, kind="call", occurred_at=NOW + timedelta(hours=1))
    type(twice).objects.filter(pk=twice.pk).update(do_not_contact=True)  # its status moves
    _one_by_one([twice], django_capture_on_commit_callbacks, start=NOW + timedelta(days=40))
    pending = list(ScoreSnapshot.objects.filter(reasons_pending=True).order_by("id"))
    assert len(pending) == 16

    result = fill_pending_snapshot_reasons(batch_size=4)

    assert (result.n_filled, result.is_done) == (16, True)
    card = get_active_scoring().scorecard
    n_with_reasons = 0
    for snapshot in pending:
        snapshot.refresh_from_db()
        assert not snapshot.reasons_pending
        lead_id = snapshot.lead_id
        expected = reasons_json(
            card,
            lead_columns([lead_id]),
            activity_columns([lead_id], until=snapshot.at),
            as_of=snapshot.at,
        ).get(lead_id, "[]")
        assert snapshot.reasons == json.loads(expected), snapshot.pk
        n_with_reasons += bool(snapshot.reasons)
    assert n_with_reasons >= 12
    twice_reasons = [s.reasons for s in ScoreSnapshot.objects.filter(lead=twice).order_by("at")]
    assert twice_reasons[0] != twice_reasons[1]
    assert not any(r[0] == "interest:call" for r in twice_reasons[0])  # not yet then
    assert any(r[0] == "interest:call" for r in twice_reasons[1])


def test_a_run_stops_at_its_time_limit_with_the_rest_still_pending(
    make_lead, django_capture_on_commit_callbacks, settings
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    _one_by_one(_varied_leads(make_lead, 10), django_capture_on_commit_callbacks)
    result = fill_pending_snapshot_reasons(batch_size=3, max_seconds=0)
    assert (result.n_filled, result.is_done) == (3, False)
    assert ScoreSnapshot.objects.filter(reasons_pending=True).count() == 7
    again = fill_pending_snapshot_reasons(batch_size=3)
    assert (again.n_filled, again.is_done) == (7, True)
    assert fill_pending_snapshot_reasons().n_filled == 0  # twice does nothing twice


def test_a_run_that_stops_early_queues_its_continuation(
    make_lead, database_tasks, django_capture_on_commit_callbacks, monkeypatch
):
    from django_tasks_db.models import DBTaskResult

    from leadsieve.scoring import snapshot_reasons
    from leadsieve.scoring.snapshot_reasons import fill_pending_snapshot_reasons_task

    _one_by_one(_varied_leads(make_lead, 5), django_capture_on_commit_callbacks)
    DBTaskResult.objects.all().delete()  # as if the worker had claimed and removed it
    monkeypatch.setattr(snapshot_reasons, "FILL_BATCH", 2)
    monkeypatch.setattr(snapshot_reasons, "FILL_RUN_SECONDS", 0.0)
    assert fill_pending_snapshot_reasons_task.call() == 2
    assert DBTaskResult.objects.filter(task_path=FILL_TASK, status="READY").count() == 1


def test_old_per_capture_tasks_still_fill_their_snapshots(
    make_lead, django_capture_on_commit_callbacks, settings
):
    from leadsieve.scoring.tasks import fill_snapshot_reasons_task

    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    leads = _varied_leads(make_lead, 6)
    _one_by_one(leads, django_capture_on_commit_callbacks)
    ids = list(ScoreSnapshot.objects.values_list("id", flat=True))
    assert fill_snapshot_reasons_task.call(ids) == 6
    assert not ScoreSnapshot.objects.filter(reasons_pending=True).exists()
    assert ScoreSnapshot.objects.exclude(reasons=[]).count() >= 4
