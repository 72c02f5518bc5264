"""The model page's figures: every model version with its holdout, and the drift alarm.

The drift alarm compares the champion's training figures with the same figures measured live:
the leads **captured after** the champion was trained (so their rating at capture came from
it) and closed since, from ``LeadMilestones``. A rating is a win chance in %, so the live
log-loss and ECE read it as a probability. The alarm rings when, on at least
``MIN_LIVE_CLOSED`` closed leads with ``MIN_LIVE_PER_OUTCOME`` of each outcome:

- the live ROC-AUC is below the training one by more than ``calibration.AUC_ALARM_DROP`` and
  more than twice the two figures' combined sd (bootstrap of the live leads); or
- the live ECE is above the training one by more than ``ECE_ALARM_RISE``.

With fewer closed leads the page says how many it has and how many it waits for.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.db.models import Q

from leadsieve.engine.backtest import bootstrap_sd, expected_calibration_error
from leadsieve.engine.calibrate import log_loss
from leadsieve.insights.calibration import AUC_ALARM_DROP, roc_auc
from leadsieve.insights.models import LeadMilestones
from leadsieve.scoring.models import ModelVersion

MIN_LIVE_CLOSED = 50
MIN_LIVE_PER_OUTCOME = 10
ECE_ALARM_RISE = 0.05
PROBABILITY_FLOOR = 0.005


@dataclass(frozen=True)
class LiveFigures:
    """The champion's figures at training and on the leads closed since, with the alarms."""

    version: ModelVersion
    n_closed: int
    n_won: int
    auc: float | None = None
    auc_sd: float | None = None
    log_loss: float | None = None
    ece: float | None = None
    alarms: tuple[str, ...] = ()
    waiting: str = ""
    training: dict[str, Any] = field(default_factory=dict)  # Any: stored holdout figures


def list_model_versions() -> list[ModelVersion]:
    """Every model version, newest first (the page shows their stored figures)."""
    return list(ModelVersion.objects.order_by("-trained_at", "-id"))


def _live_outcomes(version: ModelVersion) -> tuple[np.ndarray, np.ndarray]:
    rows = LeadMilestones.objects.filter(
        Q(won_at__isnull=False) | Q(lost_at__isnull=False),
        captured_at__gte=version.trained_at,
        rating_at_capture__isnull=False,
    ).values_list("rating_at_capture", "won_at")
    pairs = np.array([(rating, won is not None) for rating, won in rows], dtype=float)
    if not len(pairs):
        return np.empty(0), np.empty(0)
    return pairs[:, 0], pairs[:, 1]


def _number(holdout: dict[str, Any], key: str) -> float | None:  # Any: stored JSON
    value = holdout.get(key)
    return float(value) if isinstance(value, int | float) else None


def live_figures(version: ModelVersion) -> LiveFigures:
    """The champion's live figures and alarms (see the module docstring)."""
    training = (version.metrics or {}).get("holdout") or {}
    ratings, won = _live_outcomes(version)
    n_closed, n_won = len(won), int(won.sum())
    if n_closed < MIN_LIVE_CLOSED or min(n_won, n_closed - n_won) < MIN_LIVE_PER_OUTCOME:
        return LiveFigures(
            version,
            n_closed,
            n_won,
            waiting=(
                f"{n_closed} leads rated by model {version.pk} have closed so far ({n_won} won): "
                f"the live figures wait for {MIN_LIVE_CLOSED} with {MIN_LIVE_PER_OUTCOME} of each "
                "outcome."
            ),
            training=training,
        )
    p = np.clip(ratings / 100, PROBABILITY_FLOOR, 1 - PROBABILITY_FLOOR)
    auc = roc_auc(p, won.astype(bool))
    auc_sd, _ = bootstrap_sd(won, p)
    loss = log_loss(won, p)
    ece = expected_calibration_error(won, p)
    alarms = []
    trained_auc, trained_sd = _number(training, "roc_auc"), _number(training, "roc_auc_sd") or 0.0
    if auc is not None and trained_auc is not None:
        allowed = max(AUC_ALARM_DROP, 2 * math.hypot(auc_sd, trained_sd))
        if auc < trained_auc - allowed:
            alarms.append(
                f"Ranking drifted: live ROC-AUC {auc:.3f} ± {auc_sd:.3f} on {n_closed} closed "
                f"leads, against {trained_auc:.3f} ± {trained_sd:.3f} at training (a drop over "
                f"{allowed:.3f}). Retrain the model or review the scorecard."
            )
    trained_ece = _number(training, "ece")
    if trained_ece is not None and ece > trained_ece + ECE_ALARM_RISE:
        alarms.append(
            f"Calibration drifted: live ECE {ece:.3f} against {trained_ece:.3f} at training "
            f"(more than {ECE_ALARM_RISE:g} worse): the ratings no longer match win rates."
        )
    return LiveFigures(
        version,
        n_closed,
        n_won,
        auc=auc,
        auc_sd=auc_sd,
        log_loss=loss,
        ece=ece,
        alarms=tuple(alarms),
        training=training,
    )
