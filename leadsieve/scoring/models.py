"""Versioned scorecards, trained conversion models, and the history of every lead's score.

The current score lives on ``Lead`` (indexed columns the lists sort on); these tables keep
what is needed to explain any old score: the exact scorecard and model that produced it.
Nothing here is ever deleted by the app: a published scorecard is archived, not replaced.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

N_RATING_BANDS = 10


def rating_band(rating: int | None) -> int | None:
    """Band 1 holds ratings 1–10, band 10 holds 91–100; ``None`` for an unrated lead."""
    if rating is None:
        return None
    return min(N_RATING_BANDS, max(1, (int(rating) - 1) // 10 + 1))


class ScorecardStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    ARCHIVED = "archived", "Archived"


class ScorecardVersion(models.Model):
    """One version of the team's scorecard, stored as the engine's ``Scorecard.to_dict()``.

    Exactly one version is active (a partial unique constraint guarantees at most one; the
    ``fill_default_scorecard`` migration and ``publish_scorecard`` keep it at one). Drafts can
    be backtested before they are published; archived versions explain old scores.
    """

    number = models.PositiveIntegerField(unique=True)
    status = models.CharField(
        max_length=8, choices=ScorecardStatus.choices, default=ScorecardStatus.DRAFT
    )
    config = models.JSONField(help_text="The engine's Scorecard.to_dict().")
    note = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["status"],
                condition=Q(status="active"),
                name="scorecard_one_active",
            )
        ]

    def __str__(self) -> str:
        return f"Scorecard v{self.number} ({self.get_status_display()})"

    def is_active(self) -> bool:
        return self.status == ScorecardStatus.ACTIVE


class ModelTrigger(models.TextChoices):
    MANUAL = "manual", "Trained by hand"
    SCHEDULE = "schedule", "Retrained on schedule"


class ModelVersion(models.Model):
    """A trained conversion model: the engine's ``ConversionModel.to_dict()`` as JSON text.

    Stored as text (not pickle, not a JSONField) so loading never runs code and the artefact
    is byte-for-byte what the engine wrote. At most one is active: the champion. Every version
    is kept with its figures (``metrics``) and ``decision``: why it became the champion or
    why it lost to the one rating leads (``scoring.champion``).
    """

    artefact = models.TextField(help_text="ConversionModel.to_dict() as JSON text.")
    engine_version = models.CharField(max_length=20)
    feature_spec = models.JSONField(help_text="The FeatureSpec the model was trained on.")
    trained_at = models.DateTimeField(default=timezone.now)
    n_rows = models.PositiveIntegerField()
    n_won = models.PositiveIntegerField()
    metrics = models.JSONField(default=dict, blank=True)
    # Trained with the conversion model, from the same history; empty when the history had
    # no spread of capture and closing dates to learn from (the horizon keeps its rules then).
    time_to_close = models.TextField(
        blank=True,
        default="",
        help_text="The engine's TimeToCloseModel.to_dict() as JSON text; empty if not learned.",
    )
    is_active = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    trigger = models.CharField(
        max_length=8, choices=ModelTrigger.choices, default=ModelTrigger.MANUAL
    )
    decision = models.CharField(
        max_length=400, blank=True, help_text="Why it became the champion, or why it lost."
    )

    class Meta:
        ordering = ["-trained_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"], condition=Q(is_active=True), name="model_one_active"
            )
        ]

    def __str__(self) -> str:
        state = "active" if self.is_active else "inactive"
        return f"Model {self.pk} trained {self.trained_at:%Y-%m-%d} on {self.n_rows} ({state})"

    def artefact_dict(self) -> dict[str, Any]:  # Any: parsed JSON of the engine's artefact
        return dict(json.loads(self.artefact))


class RetrainingSchedule(models.Model):
    """How often the tick retrains the conversion model (one row; none means the default).

    ``every_days`` 0 turns scheduled retraining off; ``last_requested_at`` is when the tick
    last queued a retraining, so a tick run twice queues it once.
    """

    every_days = models.PositiveSmallIntegerField(default=7)
    last_requested_at = models.DateTimeField(null=True, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return f"Retrain every {self.every_days} days" if self.every_days else "Retraining off"


class ScoreSnapshot(models.Model):
    """A lead's score at a moment, written only when status, grade, horizon or band moved.

    ``reasons`` holds the explanation as it was, so an old score stays explainable even after
    the scorecard changed.
    """

    # No index of its own: ``snapshot_lead_time`` (lead, at) serves every lookup by lead, and
    # a second index cost about a tenth of each snapshot's insert in a rescoring pass.
    lead = models.ForeignKey(
        "leads.Lead", on_delete=models.CASCADE, related_name="snapshots", db_index=False
    )
    at = models.DateTimeField(default=timezone.now)
    rating = models.PositiveSmallIntegerField(null=True, blank=True)
    rating_source = models.CharField(max_length=10, blank=True)
    rating_band = models.PositiveSmallIntegerField(null=True, blank=True, help_text="1–10.")
    fit_grade = models.CharField(max_length=1, blank=True)
    status = models.CharField(max_length=14, blank=True)
    horizon = models.CharField(max_length=5, blank=True)
    scorecard_version = models.ForeignKey(
        ScorecardVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    model_version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reasons = models.JSONField(default=list, blank=True)
    # Stored by event rescoring without its reasons; the background task fills them
    # (``snapshot_reasons.fill_pending_snapshot_reasons``). A database default, as rows are written
    # by plain INSERTs that name only the columns they set.
    reasons_pending = models.BooleanField(default=False, db_default=False)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["lead", "at"], name="snapshot_lead_time"),
            # Only the few pending rows: what the filling task looks for.
            models.Index(
                fields=["id"],
                condition=models.Q(reasons_pending=True),
                name="snapshot_reasons_pending",
            ),
        ]

    def __str__(self) -> str:
        return f"Lead {self.lead_id} rated {self.rating} at {self.at:%Y-%m-%d %H:%M}"


class BacktestState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class BacktestRun(models.Model):
    """One backtest of a scorecard version next to the active one, as the editor ran it.

    ``result`` keeps what the page shows (metrics and tables per subject, the calibration
    charts as SVG text, the CSV), so a finished run can be read again without rescoring.
    """

    version = models.ForeignKey(
        ScorecardVersion, on_delete=models.CASCADE, related_name="backtest_runs"
    )
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    days_after_creation = models.FloatField(default=0.0)
    state = models.CharField(
        max_length=8, choices=BacktestState.choices, default=BacktestState.QUEUED
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    n_leads = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    result = models.JSONField(default=dict, blank=True)
    worker = models.CharField(
        max_length=120,
        blank=True,
        help_text="The process running the backtest (host:pid:start), to notice it stopped.",
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Backtest {self.pk} of v{self.version.number} ({self.get_state_display()})"

    def is_finished(self) -> bool:
        return self.state in (BacktestState.DONE, BacktestState.FAILED)

    def last_day(self) -> date:
        """The period's last day, included (``period_end`` is the exclusive bound)."""
        return timezone.localdate(self.period_end - timedelta(microseconds=1))
