"""Retraining on schedule: the tick queues a retraining when one is due (weekly by default).

``request_retraining_if_due`` (tick step 6) queues ``retrain_model_task`` once per period
(``RetrainingSchedule.every_days``; 0 turns it off). The task trains a challenger
(``training.train_model``, trigger "schedule"); it replaces the champion only if its holdout
is not worse (``scoring.champion``), and only then are open leads rescored. Too little
history is no error here: the scorecard keeps rating leads, and the next period tries again.
The task lives here, with the work it runs, like ``snapshot_reasons``.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django_tasks import task

from leadsieve.background import MAINTENANCE_PRIORITY, enqueue_unless_waiting
from leadsieve.leads.models import Lead, Outcome
from leadsieve.scoring.models import ModelTrigger, ModelVersion, RetrainingSchedule
from leadsieve.scoring.rescoring import rescore_all
from leadsieve.scoring.training import MIN_CLOSED, TooLittleHistory, train_model

logger = logging.getLogger(__name__)

DEFAULT_EVERY_DAYS = 7
MAX_EVERY_DAYS = 365


def get_retraining_schedule() -> RetrainingSchedule:
    """The stored schedule, or the default (weekly) when nobody changed it yet (unsaved)."""
    return RetrainingSchedule.objects.first() or RetrainingSchedule(every_days=DEFAULT_EVERY_DAYS)


@transaction.atomic
def set_retraining_schedule(
    *,
    every_days: int,
    user: Any = None,  # Any: the user model
) -> RetrainingSchedule:
    """Retrain every ``every_days`` days (0: never on schedule). Raises ``ValueError`` outside
    0–``MAX_EVERY_DAYS``; nothing is written then."""
    if not 0 <= every_days <= MAX_EVERY_DAYS:
        raise ValueError(f"every_days must be between 0 and {MAX_EVERY_DAYS}")
    schedule = RetrainingSchedule.objects.select_for_update().first() or RetrainingSchedule()
    schedule.every_days = every_days
    schedule.updated_by = user
    schedule.save()
    return schedule


def next_retraining_at(
    schedule: RetrainingSchedule, *, now: datetime | None = None
) -> datetime | None:
    """When the tick will next queue a retraining (``None``: off). Counted from the last
    request, else from the newest model; with neither, now."""
    if not schedule.every_days:
        return None
    last = schedule.last_requested_at
    if last is None:
        newest = ModelVersion.objects.order_by("-trained_at").values_list("trained_at").first()
        last = newest[0] if newest else None
    if last is None:
        return now or timezone.now()
    return last + timedelta(days=schedule.every_days)


def has_enough_history() -> bool:
    """Whether there are ``MIN_CLOSED`` closed leads (a bounded count: it stops there)."""
    closed = Lead.objects.filter(outcome__in=[Outcome.WON, Outcome.LOST], merged_into__isnull=True)
    return closed.values("id")[:MIN_CLOSED].count() >= MIN_CLOSED


def request_retraining_if_due(*, now: datetime | None = None) -> bool:
    """Queue a retraining when the schedule says one is due and there is history enough to
    train on (else the tick asks again next time); whether this call queued it."""
    now = now or timezone.now()
    schedule = RetrainingSchedule.objects.first()
    due = next_retraining_at(schedule or RetrainingSchedule(every_days=DEFAULT_EVERY_DAYS), now=now)
    if due is None or due > now or not has_enough_history():
        return False
    with transaction.atomic():
        schedule = RetrainingSchedule.objects.select_for_update().first()
        if schedule is None:
            schedule = RetrainingSchedule.objects.create(every_days=DEFAULT_EVERY_DAYS)
        due = next_retraining_at(schedule, now=now)
        if due is None or due > now:
            return False
        schedule.last_requested_at = now
        schedule.save(update_fields=["last_requested_at"])
    enqueue_unless_waiting(retrain_model_task)
    return True


def retrain_on_schedule(
    *,
    model_params: dict[str, Any] | None = None,  # Any: ConversionModel keyword arguments
) -> ModelVersion | None:
    """Train a challenger; rescore open leads if it became the champion. ``None`` when the
    history is still too small."""
    try:
        version = train_model(trigger=ModelTrigger.SCHEDULE, model_params=model_params)
    except TooLittleHistory as error:
        logger.info("scheduled retraining skipped: %s", error)
        return None
    if version.is_active:
        rescore_all(progress=False)
    logger.info("scheduled retraining: model %s, %s", version.pk, version.decision)
    return version


@task(priority=MAINTENANCE_PRIORITY)
def retrain_model_task() -> int | None:
    """The scheduled retraining (``retrain_on_schedule``); the new version's id or None."""
    version = retrain_on_schedule()
    return None if version is None else version.pk
