"""Demo data for scoring: a draft scorecard to backtest, a trained model, every lead scored.

Called by ``leadsieve load-demo`` after the other apps' seeders (so captures, routing and
cadences exist); idempotent: a second run adds no draft and no model.
"""

from __future__ import annotations

import contextlib
import random
from datetime import timedelta
from typing import Any

from leadsieve.engine.model import ConversionModel
from leadsieve.engine.ratings import rating
from leadsieve.leads.models import Lead, Outcome, RatingSource, Status
from leadsieve.scoring.frames import lead_frame
from leadsieve.scoring.models import (
    ModelVersion,
    ScorecardStatus,
    ScorecardVersion,
    ScoreSnapshot,
    rating_band,
)
from leadsieve.scoring.prior import arrival_prior, model_probability
from leadsieve.scoring.queries import ActiveScoring, get_active_scoring
from leadsieve.scoring.services import create_scorecard_draft, rescore_all
from leadsieve.scoring.training import TooLittleHistory, train_model

DEMO_NOTE = "Demo draft: more weight on meetings and a stricter MQL rule"
# Enough rounds for a demo-sized history; the command `leadsieve train` uses the defaults.
DEMO_MODEL_PARAMS = {"gbm_max_rounds": 400}


def _demo_draft_config() -> dict[str, Any]:  # Any: scorecard JSON
    config: dict[str, Any] = ScorecardVersion.objects.get(status=ScorecardStatus.ACTIVE).config
    for criterion in config["criteria"]:
        if criterion["name"] == "meeting_booked":
            criterion["points"] = 20
    for rule in config["thresholds"]:
        if rule["status"] == "mql":
            rule["min_interest"] = 15
    return config


def seed_demo(rng: random.Random) -> None:
    """Draft v2 for ``leadsieve backtest --draft 2``, a model if the history allows, scores."""
    if not ScorecardVersion.objects.filter(note=DEMO_NOTE).exists():
        create_scorecard_draft(_demo_draft_config(), note=DEMO_NOTE)
    if not ModelVersion.objects.exists():
        # Too little history: no model to show. A model no better than the scorecard (or
        # than chance) is stored with its decision and the scorecard keeps rating leads.
        with contextlib.suppress(TooLittleHistory):
            train_model(min_closed=100, model_params=DEMO_MODEL_PARAMS)
    rescore_all(progress=False)
    # Its own generator, seeded from the shared one without drawing from it (the seeders
    # after this one see the same random sequence as before).
    record_demo_history(random.Random(hash(rng.getstate())))


# Share of the lost demo leads that had become sales-qualified before they were lost.
DEMO_LOST_SQL_SHARE = 0.3


def record_demo_history(rng: random.Random) -> int:
    """Score history for the closed demo leads, which rescoring leaves alone: their rating
    when each was captured (what was known then: the model's when the demo's training made
    one the champion, else the scorecard's) and, for the won and some lost ones, the moment
    they became SQL. Without it the calibration page and the "capture → SQL" figures have
    nothing to show."""
    version = ModelVersion.objects.filter(is_active=True).first()
    closed = Lead.objects.filter(
        outcome__in=(Outcome.WON, Outcome.LOST), merged_into__isnull=True, snapshots=None
    ).order_by("pk")
    if not closed.exists():
        return 0
    frame = lead_frame(closed)
    active = get_active_scoring()
    if version is None:
        probability = arrival_prior(active.scorecard, frame)
    else:
        model = ConversionModel.from_dict(version.artefact_dict())
        probability = model_probability(model, active.scorecard, frame)
    predicted = dict(zip(frame["id"].tolist(), rating(probability).tolist(), strict=True))
    snapshots = []
    for pk, created, closed_at, outcome in closed.values_list(
        "pk", "created_at", "closed_at", "outcome"
    ):
        value = int(predicted[pk])
        snapshots.append(_snapshot(pk, created, value, Status.NEW, version, active))
        if outcome == Outcome.WON or rng.random() < DEMO_LOST_SQL_SHARE:
            span = (closed_at - created).days if closed_at else 0
            days = rng.uniform(0.5, max(1.0, 0.6 * span))
            moved = max(1, min(100, value + rng.randint(-8, 12)))
            snapshots.append(
                _snapshot(pk, created + timedelta(days=days), moved, Status.SQL, version, active)
            )
    ScoreSnapshot.objects.bulk_create(snapshots, batch_size=1000)
    return len(snapshots)


def _snapshot(
    lead_id: int,
    at: Any,
    value: int,
    status: str,
    version: ModelVersion | None,
    active: ActiveScoring,
) -> ScoreSnapshot:
    return ScoreSnapshot(
        lead_id=lead_id,
        at=at,
        rating=value,
        rating_source=RatingSource.SCORECARD if version is None else RatingSource.MODEL,
        rating_band=rating_band(value),
        status=status,
        model_version=version,
        scorecard_version_id=active.scorecard_version_id,
    )
