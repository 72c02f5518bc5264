"""Time to decision: the engine's survival model trained on the team's leads, and its uses.

Trained with the conversion model (``training.train_model`` calls ``fit_time_to_close``) and
stored on the same ``ModelVersion``. A lead's time runs from its capture (``created_at``,
which an import may bring from the old system) to its decision (``closed_at`` of a won or
lost lead); a lead still open is censored now. Nothing is learned when fewer than
``MIN_DECIDED`` leads have a closing date, or when their times do not spread (an import
without dates closes every lead within a day of its capture): the horizon keeps the
scorecard's rules, and the metrics say why; nor is it used when its holdout concordance is
under ``MIN_CINDEX`` (it cannot tell sooner from later).

With a model, ``horizon_from_time_to_close`` replaces the rules' horizon (short-range when a
decision within 90 days is at least even odds, given how long the lead is already open) and
the lead page says "likely to decide within ~N weeks" with the figures behind it
(``get_time_to_decision``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from django.utils import timezone

from leadsieve.engine.types import FeatureSpec
from leadsieve.leads.models import Lead, Outcome
from leadsieve.scoring.frames import lead_frame
from leadsieve.scoring.queries import get_active_model_version, get_active_scoring

# The survival model needs scipy: imported where it is used, so a web process or an import
# that never meets a time-to-decision model does not load it (tests/scoring/test_startup_imports).
if TYPE_CHECKING:
    from leadsieve.engine.scorecard import Coded
    from leadsieve.engine.time_to_close import TimeToCloseModel

HORIZON_DAYS: tuple[int, ...] = (30, 90, 180)  # the engine's, repeated to avoid the import
SHORT_RANGE_DAYS = 90.0
MIN_DECIDED = 30
MIN_SPREAD_DAYS = 1.0
# Below this holdout concordance the model cannot rank leads by when they decide (0.5 is
# chance; its standard error is about 0.02 on 600 held-out leads): the rules keep the horizon.
MIN_CINDEX = 0.55
# Leads read to learn from, at most (a seeded sample of the rest): bounds train's time and
# memory on a million-lead history; the figures barely move past this.
MAX_LEADS = 100_000
HOLDOUT_FRACTION = 0.2
MAX_CINDEX_ROWS = 20_000
DAY_SECONDS = 86_400.0


def _report(progress: Callable[[str], None] | None, message: str) -> None:
    if progress is not None:
        progress(message)


def lead_ages_days(
    created_at: Any,  # Any: a DatetimeIndex, or an array of ISO texts or datetimes
    as_of: datetime | pd.Series,
) -> np.ndarray:
    """Days each lead has been open at ``as_of`` (0 when its capture time is unknown).

    ``created_at``: UTC timestamps or ISO texts (what a lead frame or an arriving lead holds)."""
    created = (
        created_at
        if isinstance(created_at, pd.DatetimeIndex)  # a lead frame's: parsed already
        else pd.DatetimeIndex(pd.to_datetime(created_at, utc=True, format="ISO8601"))
    )
    if isinstance(as_of, pd.Series):
        now = pd.DatetimeIndex(pd.to_datetime(as_of, utc=True))
    else:
        now = pd.DatetimeIndex([pd.Timestamp(as_of)] * len(created))
    seconds = np.asarray((now - created).total_seconds(), dtype=float)
    return np.clip(np.nan_to_num(seconds / DAY_SECONDS, nan=0.0), 0.0, None)


def _read_history(random_state: int, now: datetime) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Leads (a sample of ``MAX_LEADS`` at most), their days until decided or now, decided."""
    ids = np.asarray(
        Lead.objects.filter(merged_into__isnull=True).order_by("id").values_list("id", flat=True),
        dtype=np.int64,
    )
    if len(ids) > MAX_LEADS:
        rng = np.random.default_rng(random_state)
        ids = np.sort(rng.choice(ids, size=MAX_LEADS, replace=False))
    frame = lead_frame(ids.tolist(), extra=("outcome", "closed_at"))
    outcome = frame.pop("outcome").to_numpy(dtype=object)
    closed_at = pd.DatetimeIndex(frame.pop("closed_at"))
    decided = np.isin(outcome, [Outcome.WON, Outcome.LOST]) & ~closed_at.isna()
    ended = closed_at.where(decided, pd.Timestamp(now))
    created = pd.DatetimeIndex(frame["created_at"])
    days = np.asarray((ended - created).total_seconds(), dtype=float) / DAY_SECONDS
    return frame, days, np.asarray(decided, dtype=bool)


def _holdout_metrics(
    frame: pd.DataFrame,
    days: np.ndarray,
    decided: np.ndarray,
    spec: FeatureSpec,
    random_state: int,
) -> dict[str, Any]:  # Any: JSON values of mixed types
    """Concordance and 90-day calibration of a model fitted on a random 80 %, judged on the
    rest, next to the Kaplan–Meier curve of the same 80 % (the same odds for every lead),
    both judged in the model's deciles."""
    from leadsieve.engine.time_to_close import (
        TimeToCloseModel,
        calibration_at,
        concordance_index,
        kaplan_meier,
        survival_at,
    )

    rng = np.random.default_rng(random_state)
    test = rng.random(len(days)) < HOLDOUT_FRACTION
    if decided[test].sum() < 5 or decided[~test].sum() < MIN_DECIDED // 2:
        return {"skipped": "too few decided leads for a holdout"}
    model = TimeToCloseModel(random_state=random_state).fit(
        frame[~test], days[~test], decided[~test], feature_spec=spec
    )
    t, d, held = days[test], decided[test], frame[test]
    p90 = model.predict_decision_proba(held, [SHORT_RANGE_DAYS])[:, 0]
    _, gap = calibration_at(SHORT_RANGE_DAYS, t, d, p90)
    km_days, km_survival = kaplan_meier(days[~test], decided[~test])
    km90 = 1.0 - float(survival_at(km_days, km_survival, np.array([SHORT_RANGE_DAYS]))[0])
    _, gap_km = calibration_at(SHORT_RANGE_DAYS, t, d, np.full(len(t), km90), rank_by=p90)
    rows = np.arange(len(t))
    if len(rows) > MAX_CINDEX_ROWS:
        rows = np.sort(rng.choice(rows, size=MAX_CINDEX_ROWS, replace=False))
    risk = model.risk_score(held.iloc[rows])
    return {
        "cindex": round(concordance_index(t[rows], d[rows], risk), 4),
        "cal90_gap": round(gap, 4),
        "cal90_gap_km": round(gap_km, 4),
        "n_test": int(test.sum()),
    }


def fit_time_to_close(
    spec: FeatureSpec,
    *,
    random_state: int = 0,
    now: datetime | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[str, dict[str, Any]]:  # Any: JSON values of mixed types
    """The time-to-decision model as JSON text ('' when nothing can be learned) and its
    figures (or the reason it was skipped), learned from every lead with its capture date."""
    from leadsieve.engine.time_to_close import TimeToCloseModel, survival_at

    when = now or timezone.now()
    _report(progress, "reading every lead's capture and closing dates (time to decision)")
    frame, days, decided = _read_history(random_state, when)
    bad = days < 0  # closed before captured: a date typed wrong, left out
    frame, days, decided = frame[~bad], days[~bad], decided[~bad]
    n_decided = int(decided.sum())
    figures: dict[str, Any] = {"n_leads": len(days), "n_decided": n_decided}
    if int(bad.sum()):
        figures["n_left_out_closed_before_captured"] = int(bad.sum())
    if n_decided < MIN_DECIDED:
        figures["skipped"] = (
            f"only {n_decided} closed leads have a closing date; the time to decision needs "
            f"{MIN_DECIDED}: the horizon comes from the scorecard's rules"
        )
        return "", figures
    if np.ptp(days[decided]) < MIN_SPREAD_DAYS:
        figures["skipped"] = (
            "every closed lead took the same time to decide, give or take a day (imported "
            "without its dates?): nothing to learn, the horizon comes from the scorecard's "
            "rules; import the created and closed dates to learn the time to decision"
        )
        return "", figures
    _report(progress, f"measuring the time to decision on a random {HOLDOUT_FRACTION:.0%}")
    holdout = figures["holdout"] = _holdout_metrics(frame, days, decided, spec, random_state)
    if holdout.get("cindex", 1.0) < MIN_CINDEX:
        figures["skipped"] = (
            f"its holdout concordance is {holdout['cindex']}, under {MIN_CINDEX}: it tells "
            "leads that decide sooner from the others no better than chance, so the horizon "
            "comes from the scorecard's rules"
        )
        return "", figures
    _report(progress, f"fitting the time to decision on {len(days)} leads ({n_decided} closed)")
    model = TimeToCloseModel(random_state=random_state).fit(frame, days, decided, feature_spec=spec)
    figures["l2"] = model.l2_
    figures["km_decided_within"] = {
        str(h): round(
            1.0 - float(survival_at(model.km_days_, model.km_survival_, np.array([h]))[0]), 4
        )
        for h in HORIZON_DAYS
    }
    return model.to_json(), figures


def describe_time_to_close(figures: dict[str, Any]) -> str:  # Any: the stored JSON figures
    """One line for ``leadsieve train``: what was learned and how well, or why not."""
    if "skipped" in figures:
        return f"time to decision: not learned ({figures['skipped']})"
    line = (
        f"time to decision: learned from {figures['n_leads']} leads "
        f"({figures['n_decided']} decided); it sets the horizon"
    )
    holdout = figures.get("holdout", {})
    if "cindex" in holdout:
        line += (
            f"; holdout of {holdout['n_test']}: concordance {holdout['cindex']}, 90-day "
            f"calibration gap {holdout['cal90_gap']} (Kaplan–Meier {holdout['cal90_gap_km']})"
        )
    return line


def horizon_from_time_to_close(
    model: TimeToCloseModel, leads: pd.DataFrame, as_of: datetime | pd.Series
) -> tuple[Coded, Coded]:
    """The horizon and its reason for each lead from the model, given how long it is open."""
    from leadsieve.engine.time_to_close import decision_horizon

    ages = (
        lead_ages_days(leads["created_at"], as_of)
        if "created_at" in leads
        else np.zeros(len(leads))
    )
    return decision_horizon(model, leads, age_days=ages)


@dataclass(frozen=True)
class TimeToDecision:
    """What the lead page says about when this lead will decide, and on what basis."""

    is_learned: bool
    weeks: int | None  # ~N weeks until a decision is as likely as not; None: not within reach
    within_weeks: int | None  # with ``weeks`` None: the longest reach of the history, in weeks
    probabilities: tuple[tuple[int, float], ...]  # (days, P(decision within them from now))
    basis: str

    @property
    def odds(self) -> str:
        """ "12 % within 30 days, 40 % within 90 days, ..." (empty without a model)."""
        return ", ".join(f"{p:.0%} within {days} days" for days, p in self.probabilities)


def get_time_to_decision(lead: Lead, *, now: datetime | None = None) -> TimeToDecision | None:
    """When ``lead`` (open) is likely to decide, from the active model; without one, the
    basis says the horizon comes from the rules. ``None`` for a closed lead, and for one not
    scored yet (it has no horizon either: the page says "not scored yet")."""
    if lead.outcome != Outcome.OPEN or (lead.scored_at is None and lead.rating is None):
        return None
    active = get_active_scoring()
    model = active.time_to_close
    if model is None:
        return TimeToDecision(
            False,
            None,
            None,
            (),
            "the scorecard's rules (no time to decision in use: it is learned from closed "
            "leads with their capture and closing dates; `leadsieve train` says why not)",
        )
    when = now or timezone.now()
    frame = lead_frame([lead.pk])
    age = lead_ages_days(frame["created_at"], when)
    p = model.predict_decision_proba(frame, HORIZON_DAYS, age_days=age)[0]
    median = float(model.predict_median_days(frame, age_days=age)[0])
    version = get_active_model_version()
    trained = f", trained {version.trained_at:%Y-%m-%d}" if version is not None else ""
    basis = (
        f"the time to decision of {model.n_rows_:,} leads ({model.n_decided_:,} decided)"
        f"{trained}; open {age[0]:.0f} days"
    )
    weeks = None if math.isinf(median) else max(1, math.ceil(median / 7.0))
    reach = None if weeks is not None else max(1, math.floor((model.max_days_ - age[0]) / 7.0))
    return TimeToDecision(
        True,
        weeks,
        reach,
        tuple((h, float(v)) for h, v in zip(HORIZON_DAYS, p, strict=True)),
        basis,
    )


__all__ = [
    "TimeToDecision",
    "describe_time_to_close",
    "fit_time_to_close",
    "get_time_to_decision",
    "horizon_from_time_to_close",
    "lead_ages_days",
]
