"""Demo data for scoring: a draft scorecard to backtest, a trained model, every lead scored.

Called by ``leadsieve load-demo`` after the other apps' seeders (so captures, routing and
cadences exist); idempotent: a second run adds no draft and no model.
"""

from __future__ import annotations

import contextlib
import random
from typing import Any

from leadsieve.scoring.models import ModelVersion, ScorecardStatus, ScorecardVersion
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
    del rng  # deterministic: the engine is seeded itself
    if not ScorecardVersion.objects.filter(note=DEMO_NOTE).exists():
        create_scorecard_draft(_demo_draft_config(), note=DEMO_NOTE)
    if not ModelVersion.objects.exists():
        # Too little history: the scorecard rates the demo leads; no model to show.
        with contextlib.suppress(TooLittleHistory):
            train_model(min_closed=100, model_params=DEMO_MODEL_PARAMS)
    rescore_all(progress=False)
