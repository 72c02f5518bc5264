"""Retraining on schedule: the tick queues it once per period (weekly by default), only with
history enough; the scheduled challenger follows the champion/challenger rule."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from leadsieve.leads.models import Lead, Outcome
from leadsieve.ops.tick import run_tick
from leadsieve.scoring.models import ModelTrigger, RetrainingSchedule
from leadsieve.scoring.retraining import (
    DEFAULT_EVERY_DAYS,
    get_retraining_schedule,
    next_retraining_at,
    request_retraining_if_due,
    retrain_on_schedule,
    set_retraining_schedule,
)
from leadsieve.scoring.training import train_model
from tests.scoring.synthetic import make_history
from tests.scoring.test_train_model import FAST


@pytest.fixture(autouse=True)
def database_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def _queued() -> int:
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.filter(task_path__endswith="retrain_model_task").count()


def test_it_refuses_a_period_out_of_range(db):
    with pytest.raises(ValueError, match="between 0 and 365"):
        set_retraining_schedule(every_days=-1)
    assert not RetrainingSchedule.objects.exists()


def test_it_does_not_queue_retraining_without_history_enough(db):
    Lead.objects.create(email="a@x.test", outcome=Outcome.WON)
    assert run_tick()["retraining_queued"] == 0
    assert _queued() == 0


def test_the_tick_queues_retraining_weekly_by_default_and_once(db):
    make_history(200)
    assert get_retraining_schedule().every_days == DEFAULT_EVERY_DAYS == 7
    now = timezone.now()
    assert run_tick(now=now)["retraining_queued"] == 1
    assert run_tick(now=now + timedelta(days=1))["retraining_queued"] == 0
    assert _queued() == 1
    schedule = RetrainingSchedule.objects.get()
    assert next_retraining_at(schedule) == now + timedelta(days=7)
    assert request_retraining_if_due(now=now + timedelta(days=7)) is True


def test_a_team_can_turn_scheduled_retraining_off(db):
    make_history(200)
    set_retraining_schedule(every_days=0)
    assert next_retraining_at(get_retraining_schedule()) is None
    assert request_retraining_if_due() is False


def test_the_period_counts_from_the_newest_model_when_never_requested(db):
    make_history(300)
    version = train_model(min_closed=200, model_params=FAST)
    set_retraining_schedule(every_days=14)
    assert next_retraining_at(get_retraining_schedule()) == version.trained_at + timedelta(days=14)
    assert request_retraining_if_due(now=version.trained_at + timedelta(days=13)) is False


def test_scheduled_retraining_trains_a_challenger_by_the_rule(db):
    assert retrain_on_schedule(model_params=FAST) is None  # too little history: no error
    make_history(300)
    version = retrain_on_schedule(model_params=FAST)
    assert version is not None and version.trigger == ModelTrigger.SCHEDULE
    assert version.is_active
    assert version.decision.startswith("not worse than the scorecard on the same 60 leads")
