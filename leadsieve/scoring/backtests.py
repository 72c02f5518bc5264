"""Backtest a scorecard draft (and the current model) on closed leads before publishing it.

Each closed lead of the period is scored as it looked at its prediction moment:
``created_at + days_after_creation``, never later than when it closed, with only the
activities up to that moment (the engine drops later events itself). Its real outcome
(won/lost) then judges every subject side by side: the active scorecard, the draft, and the
active model when there is one, with the engine's metrics (ROC-AUC, PR-AUC, log-loss, Brier,
ECE, conversion by rating band and fit grade, MQL precision/recall, lift by decile).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from leadsieve.engine.backtest import backtest_report, calibration_svg, report_csv
from leadsieve.engine.scorecard import Scorecard
from leadsieve.leads.models import Lead, Outcome
from leadsieve.scoring.frames import activity_frame, lead_frame
from leadsieve.scoring.models import ScorecardVersion
from leadsieve.scoring.prior import model_probability
from leadsieve.scoring.queries import get_active_scoring
from leadsieve.scoring.training import TooLittleHistory

MIN_PER_OUTCOME = 5
SUMMARY_METRICS: tuple[str, ...] = (
    "roc_auc",
    "pr_auc",
    "log_loss",
    "brier",
    "ece",
    "max_band_gap_pts",
)


@dataclass
class BacktestResult:
    """Per subject (``active v3``, ``draft v4``, ``model 7``) the engine's full report."""

    period_start: datetime
    period_end: datetime
    n_leads: int
    n_won: int
    reports: dict[str, dict[str, Any]] = field(default_factory=dict)  # Any: engine report
    notes: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    outcomes: np.ndarray = field(default_factory=lambda: np.empty(0))
    probabilities: dict[str, np.ndarray] = field(default_factory=dict)

    def summary(self) -> pd.DataFrame:
        """One row per subject: the scalar metrics plus MQL precision and recall."""
        rows = []
        for name, report in self.reports.items():
            row: dict[str, Any] = {"subject": name}  # Any: mixed scalars
            row.update({k: report.get(k) for k in SUMMARY_METRICS})
            mql = report.get("mql_threshold") or {}
            row["mql_precision"] = mql.get("precision")
            row["mql_recall"] = mql.get("recall")
            rows.append(row)
        return pd.DataFrame(rows).set_index("subject")


def _cutoffs(frame: pd.DataFrame, days_after_creation: float) -> pd.Series:
    """Each lead's prediction moment, never after it closed."""
    moment = frame["created_at"] + timedelta(days=days_after_creation)
    closed = pd.to_datetime(frame["closed_at"], utc=True)
    moment = moment.where(closed.isna() | (moment <= closed), closed)
    return pd.Series(moment.to_numpy(), index=frame["id"].to_numpy())


def _scorecard_report(
    scorecard: Scorecard,
    frame: pd.DataFrame,
    activities: pd.DataFrame,
    y: np.ndarray,
    cutoffs: pd.Series,
) -> tuple[dict[str, Any], np.ndarray]:  # Any: engine report
    scores = scorecard.score(frame, activities, as_of=cutoffs)
    p = scores["probability"].to_numpy(dtype=float)
    status = scores["status"].astype(str).to_numpy()
    report = backtest_report(
        y,
        p,
        fit_grade=scores["fit_grade"].astype(str).to_numpy(),
        qualified=np.isin(status, ["mql", "sql"]),
    )
    return report, p


def backtest(
    candidate: ScorecardVersion | None,
    *,
    period_start: datetime,
    period_end: datetime,
    days_after_creation: float = 0.0,
    out_dir: Path | None = None,
) -> BacktestResult:
    """Compare ``candidate`` (a draft or any version) with the active scorecard and model.

    Uses closed leads created in ``[period_start, period_end)``. Raises ``TooLittleHistory``
    when the period holds fewer than 5 won or 5 lost leads. With ``out_dir``, writes one CSV
    and one SVG calibration chart per subject and lists them in ``files``.
    """
    closed = Lead.objects.filter(
        outcome__in=[Outcome.WON, Outcome.LOST],
        merged_into__isnull=True,
        created_at__gte=period_start,
        created_at__lt=period_end,
    )
    frame = lead_frame(closed, extra=("outcome", "closed_at"))
    y = (frame.pop("outcome").to_numpy(dtype=object) == Outcome.WON).astype(int)
    n_won = int(y.sum())
    if min(n_won, len(y) - n_won) < MIN_PER_OUTCOME:
        raise TooLittleHistory(
            f"{len(y)} closed leads ({n_won} won) created between {period_start:%Y-%m-%d} and "
            f"{period_end:%Y-%m-%d}: a backtest needs at least {MIN_PER_OUTCOME} won and "
            f"{MIN_PER_OUTCOME} lost leads. Widen the period."
        )
    cutoffs = _cutoffs(frame, days_after_creation)
    frame = frame.drop(columns="closed_at")
    activities = activity_frame(frame["id"].tolist(), until=cutoffs.max())
    active = get_active_scoring()
    result = BacktestResult(period_start, period_end, len(y), n_won, outcomes=y)

    subjects: list[tuple[str, Scorecard]] = [
        (f"active v{active.scorecard_number}", active.scorecard)
    ]
    if candidate is not None and candidate.pk != active.scorecard_version_id:
        subjects.append(
            (f"{candidate.status} v{candidate.number}", Scorecard.from_dict(candidate.config))
        )
    for name, scorecard in subjects:
        result.reports[name], result.probabilities[name] = _scorecard_report(
            scorecard, frame, activities, y, cutoffs
        )
    if active.model is not None and active.model_spec is not None:
        missing = {c.name: None for c in active.model_spec.columns if c.name not in frame.columns}
        p = model_probability(active.model, active.scorecard, frame.assign(**missing))
        name = f"model {active.model_version_id}"
        result.reports[name] = backtest_report(y, p)
        result.probabilities[name] = p
        result.notes.append(
            f"{name} was trained on closed leads, probably including these: its figures are "
            "optimistic (its honest figures are those of the time-split holdout that "
            "training reports)."
        )
    if out_dir is not None:
        result.files = write_backtest_files(result, out_dir)
    return result


def write_backtest_files(result: BacktestResult, out_dir: Path) -> list[Path]:
    """One ``<subject>.csv`` and ``<subject>.svg`` per subject plus ``summary.csv``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files = []
    for name, report in result.reports.items():
        slug = name.replace(" ", "_")
        csv_path = out_dir / f"backtest_{slug}.csv"
        csv_path.write_text(report_csv(report), encoding="utf-8")
        svg_path = out_dir / f"backtest_{slug}.svg"
        svg_path.write_text(
            calibration_svg(
                result.outcomes, result.probabilities[name], title=f"Calibration: {name}"
            ),
            encoding="utf-8",
        )
        files.extend([csv_path, svg_path])
    summary_path = out_dir / "backtest_summary.csv"
    result.summary().to_csv(summary_path)
    files.append(summary_path)
    return files
