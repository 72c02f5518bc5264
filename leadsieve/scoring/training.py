"""Training the conversion model on the team's own closed leads (won/lost).

No leakage by construction: the model only sees the columns of ``frames.feature_spec()``,
which are profile fields known when the lead arrived (post-contact registry fields are
flagged and dropped by the engine; status, outcome, stage, owner and rating are never even
read). Activities are not features at all, so nothing that happened after ``created_at`` —
least of all the meeting that closed the deal — can reach the model. The engine's leakage
report still runs on every column and its warnings are stored with the model.

From ``MIN_CLOSED`` (100) closed leads the model starts from the scorecard's prior
(``scoring/prior.py``) and moves toward what the team's outcomes teach as they grow; its
``trust`` (stored in the metrics, printed by ``train``) says how far to trust it at this
amount of history, as intervals.

Quality is measured honestly (``scoring.holdout``): a time split (the newest
``holdout_fraction`` of the closed leads, by ``created_at``, predicted by a model fitted on the
older ones) when the creation dates spread, else stratified cross-validation, with the reason
in words; then the stored model is refitted on everything. The leakage guard's verdicts keep
flagged columns out of the model, and the new version replaces the champion only if its
holdout is not worse (``scoring.champion``).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from django.db import transaction
from django.db.models import Count

from leadsieve.engine.exceptions import EngineError
from leadsieve.engine.leakage import leakage_report
from leadsieve.engine.model import ConversionModel
from leadsieve.engine.types import ENGINE_VERSION, FeatureColumn, FeatureSpec
from leadsieve.leads.models import Lead, Outcome
from leadsieve.scoring.champion import Comparison, judge_challenger
from leadsieve.scoring.field_history import share_set_after_contact
from leadsieve.scoring.frames import feature_spec, lead_frame
from leadsieve.scoring.holdout import MIN_PER_OUTCOME as MIN_SAME_ROWS_PER_OUTCOME
from leadsieve.scoring.holdout import Measured, figures_on_rows, measure
from leadsieve.scoring.models import ModelTrigger, ModelVersion
from leadsieve.scoring.prior import arrival_prior, model_probability
from leadsieve.scoring.queries import get_active_scoring
from leadsieve.scoring.services import activate_model_version
from leadsieve.scoring.time_to_close import fit_time_to_close

MIN_CLOSED = 100
MIN_PER_OUTCOME = 10
HOLDOUT_FRACTION = 0.2
# Judging a champion on the challenger's rows needs this many it never trained on.
MIN_SAME_ROWS = 30


class TooLittleHistory(Exception):
    """Not enough closed leads to learn from; the scorecard keeps rating leads."""


def _report(progress: Callable[[str], None] | None, message: str) -> None:
    if progress is not None:
        progress(message)


def _fit_progress(progress: Callable[[str], None] | None) -> Callable[[str, int], None]:
    """The engine's ``(stage, fits_left)`` reports as lines for people, each stage once."""
    last: list[str] = []

    def report(stage: str, fits_left: int) -> None:
        if progress is None or (last and last[-1] == stage and fits_left % 5):
            return
        last.append(stage)
        progress(f"  {stage}: {fits_left} fits left")

    return report


def _check_history(n_won: int, n_lost: int, min_closed: int) -> None:
    n_closed = n_won + n_lost
    if n_closed < min_closed or min(n_won, n_lost) < MIN_PER_OUTCOME:
        raise TooLittleHistory(
            f"Only {n_closed} closed leads ({n_won} won, {n_lost} lost): training needs at "
            f"least {min_closed} closed leads with {MIN_PER_OUTCOME} or more of each outcome. "
            "Ratings keep coming from the scorecard until then."
        )


def _leakage(frame: pd.DataFrame, y: np.ndarray, spec: FeatureSpec) -> list[dict[str, Any]]:
    """Every column's verdict from the engine's guard, with field history where it exists."""
    after = share_set_after_contact(frame, [c.name for c in spec.columns])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # returned as data and printed by the command
        findings = leakage_report(frame, y, spec, set_after_contact=after)
    return [
        {
            "column": f.column,
            "auc": round(f.auc, 4),
            "is_flagged": f.is_flagged,
            "post_contact": f.post_contact,
            "message": f.message,
            "reasons": list(f.reasons),
            "profile_auc": None if f.profile_auc is None else round(f.profile_auc, 4),
            "set_after_contact": f.set_after_contact,
        }
        for f in findings
    ]


def _without_flagged(spec: FeatureSpec, leakage: list[dict[str, Any]]) -> FeatureSpec:
    """The spec with every flagged column marked post-contact: the model never sees it."""
    flagged = {f["column"] for f in leakage if f["is_flagged"]}
    return FeatureSpec(
        columns=tuple(
            FeatureColumn(c.name, c.kind, post_contact=c.post_contact or c.name in flagged)
            for c in spec.columns
        )
    )


def _against_scorecard(
    measured: Measured, y: np.ndarray, prior: np.ndarray, seed: int
) -> Comparison:
    """The scorecard's probability of each lead as it arrived, on the challenger's rows,
    measured the same way (``holdout.figures_on_rows``)."""
    rows = measured.rows
    return Comparison(
        incumbent="the scorecard",
        incumbent_figures=figures_on_rows(y[rows], prior[rows], measured.fold, random_state=seed),
        challenger_figures=measured.figures,
        rows=f"on the same {len(rows)} leads",
    )


def _against_champion(
    champion: ModelVersion,
    measured: Measured,
    frame: pd.DataFrame,
    y: np.ndarray,
    closed_at: pd.Series,
    seed: int,
) -> Comparison:
    """The champion's stored model re-scored on the challenger's judged rows that closed after
    it was trained (it never saw them), when there are ``MIN_SAME_ROWS`` of them with
    ``MIN_SAME_ROWS_PER_OUTCOME`` of each outcome; else its own stored holdout, said to be on
    different leads. A row without a closing date counts as seen (it may have been)."""
    name = f"model {champion.pk}"
    closed = pd.to_datetime(closed_at.iloc[measured.rows], utc=True)
    is_unseen = (closed > pd.Timestamp(champion.trained_at)).to_numpy()  # NaT: False
    unseen = measured.rows[is_unseen]
    y_unseen = y[unseen]
    n_won = int(y_unseen.sum())
    if len(unseen) >= MIN_SAME_ROWS and min(n_won, len(unseen) - n_won) >= (
        MIN_SAME_ROWS_PER_OUTCOME
    ):
        try:
            model = ConversionModel.from_dict(champion.artefact_dict())
            p_champion = model_probability(
                model,
                get_active_scoring().scorecard,
                frame.iloc[unseen].reset_index(drop=True),
            )
        except (EngineError, KeyError, ValueError):
            p_champion = None  # an old artefact this engine cannot read: its stored figures
        if p_champion is not None:
            return Comparison(
                incumbent=name,
                incumbent_figures=figures_on_rows(y_unseen, p_champion, None, random_state=seed),
                challenger_figures=figures_on_rows(
                    y_unseen, measured.p[is_unseen], None, random_state=seed
                ),
                rows=f"on the same {len(unseen)} leads, closed after {name} was trained",
            )
    return Comparison(
        incumbent=name,
        incumbent_figures=(champion.metrics or {}).get("holdout") or {},
        challenger_figures=measured.figures,
        rows=(
            f"measured on different leads ({name} on its own holdout: only {len(unseen)} of "
            f"the leads judged now closed after it was trained, {MIN_SAME_ROWS} needed)"
        ),
    )


def _decide(
    measured: Measured,
    frame: pd.DataFrame,
    y: np.ndarray,
    closed_at: pd.Series,
    prior: np.ndarray,
    *,
    activate: bool,
    seed: int,
) -> tuple[bool, str]:
    """Whether the new version takes over, and why (the champion/challenger rule against the
    champion, or against the scorecard when no model rates leads)."""
    champion = ModelVersion.objects.filter(is_active=True).first()
    comparison = (
        _against_scorecard(measured, y, prior, seed)
        if champion is None
        else _against_champion(champion, measured, frame, y, closed_at, seed)
    )
    decision = judge_challenger(measured.figures, comparison)
    if not activate:
        return False, f"stored without being used (--no-activate); {decision.reason}"
    return decision.is_promoted, decision.reason


def _scorecard_prior(frame: pd.DataFrame) -> np.ndarray:
    """The active scorecard's probability of each closed lead as it arrived: the model's
    prior (``scoring/prior.py``)."""
    return arrival_prior(get_active_scoring().scorecard, frame)


def trust_words(trust: dict[str, float]) -> str:
    """How far to trust the rating at this amount of history, in words with intervals."""
    if not trust:
        return "trust: not measured (model stored before it was)"
    return (
        f"trust at {int(trust['n_closed'])} closed leads: out-of-fold ROC-AUC {trust['auc']:.2f}"
        f" (90 % interval {trust['auc_low']:.2f}–{trust['auc_high']:.2f}); a rating is good to"
        f" about ±{trust['rating_margin_pts']:.0f} points"
    )


def train_model(
    *,
    min_closed: int = MIN_CLOSED,
    random_state: int = 0,
    holdout_fraction: float = HOLDOUT_FRACTION,
    activate: bool = True,
    user: Any = None,  # Any: the user model
    model_params: dict[str, Any] | None = None,  # Any: ConversionModel keyword arguments
    progress: Callable[[str], None] | None = None,
    trigger: str = ModelTrigger.MANUAL,
) -> ModelVersion:
    """Fit a conversion model on closed leads, store it as a ``ModelVersion`` and, when it is
    not worse than the champion (``scoring.champion``), activate it.

    Raises ``TooLittleHistory`` (with a message for people) when there are fewer than
    ``min_closed`` closed leads. Rescoring is the caller's next step (``leadsieve train``
    does it), so ratings switch to the model in one visible pass.
    """
    closed = Lead.objects.filter(outcome__in=[Outcome.WON, Outcome.LOST], merged_into__isnull=True)
    counts = dict(closed.order_by().values_list("outcome").annotate(n=Count("id")))
    n_won, n_lost = counts.get(Outcome.WON, 0), counts.get(Outcome.LOST, 0)
    _check_history(n_won, n_lost, min_closed)
    _report(progress, f"reading {n_won + n_lost} closed leads ({n_won} won)")
    frame = lead_frame(closed, extra=("outcome", "closed_at"))
    y = (frame.pop("outcome").to_numpy(dtype=object) == Outcome.WON).astype(int)
    closed_at = frame.pop("closed_at")
    spec = feature_spec()
    params = {"random_state": random_state, **(model_params or {})}

    _report(progress, "checking every column for leakage")
    leakage = _leakage(frame, y, spec)
    spec = _without_flagged(spec, leakage)
    prior = _scorecard_prior(frame)
    measured = measure(frame, y, spec, params, holdout_fraction, progress, prior)
    holdout = measured.figures
    _report(progress, "fitting the model on all closed leads")
    model = ConversionModel(**params).fit(
        frame, y, feature_spec=spec, prior=prior, progress=_fit_progress(progress)
    )
    _report(progress, trust_words(model.trust_))
    metrics = {
        "holdout": holdout,
        "leakage": leakage,
        "leakage_warnings": [f["message"] for f in leakage if f["is_flagged"]],
        "selection": model.selection_,
        "trust": model.trust_,
        "prior_weight": round(model.prior_weight_, 4),
        "base_rate": round(float(y.mean()), 4),
    }
    time_to_close, metrics["time_to_close"] = fit_time_to_close(
        spec, random_state=random_state, progress=progress
    )
    _report(progress, "judging it against what rates leads now, and storing it")
    is_promoted, decision = _decide(
        measured, frame, y, closed_at, prior, activate=activate, seed=random_state
    )
    with transaction.atomic():
        version = ModelVersion.objects.create(
            artefact=model.to_json(),
            engine_version=ENGINE_VERSION,
            feature_spec=spec.to_dict(),
            n_rows=len(y),
            n_won=int(y.sum()),
            metrics=metrics,
            time_to_close=time_to_close,
            created_by=user,
            trigger=trigger,
            decision=decision[:400],
        )
        if is_promoted:
            activate_model_version(version)
    return version
