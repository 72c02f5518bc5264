"""Live calibration: do the ratings still tell the truth?

For the leads **closed** (won or lost) in the period, conversion per rating band, using the
rating each lead had when it was captured (its first score) and, apart, when it became
sales-qualified; against the rating itself (a rating is a win chance in %, so a band whose
leads are rated 75 on average should win about 75 % of the time). ROC-AUC of the rating
against the outcome, compared with the active model's training (holdout) figure, and the
drift of the score distribution of newly captured leads (PSI) against the period before the
model was trained (or, with no model, the period before this one).

Alarms (the page shows them above the tables): a band holding at least ``MIN_BAND_N`` closed
leads whose win rate is more than ``BAND_ALARM_PTS`` points from its mean rating; an AUC more
than ``AUC_ALARM_DROP`` below the training figure; a PSI above ``PSI_ALARM``.

``band_rows``, ``temperature_rows``, ``roc_auc`` and ``population_stability`` are pure (arrays
in, rows out); the tests check them against figures computed by hand.
"""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from django.db import connection
from django.db.models import BooleanField, Count, ExpressionWrapper, F, Q, QuerySet
from scipy.stats import mannwhitneyu

from leadsieve.insights.charts import BarChart, stacked_bars
from leadsieve.insights.models import LeadMilestones
from leadsieve.insights.speed import speed_scope
from leadsieve.insights.tables import Column, Report, ReportQuery, ReportQueryError, ReportTable
from leadsieve.leads.models import HIGH_RATING, LOW_RATING
from leadsieve.scoring.models import ModelVersion

BAND_ALARM_PTS = 10.0
AUC_ALARM_DROP = 0.05
PSI_ALARM = 0.25
# Fewer closed leads than this in a band: its rate is noise, no alarm is raised for it.
MIN_BAND_N = 20
PSI_EPSILON = 1e-4
BANDS = tuple((low, low + 9) for low in range(1, 100, 10))
TEMPERATURES = (
    ("hot", f"Hot ({HIGH_RATING}–100)", HIGH_RATING, 100),
    ("warm", f"Warm ({LOW_RATING}–{HIGH_RATING - 1})", LOW_RATING, HIGH_RATING - 1),
    ("cold", f"Cold (1–{LOW_RATING - 1})", 1, LOW_RATING - 1),
)


# --- Pure figures ----------------------------------------------------------------------------


def _band_row(label: str, ratings: np.ndarray, won: np.ndarray) -> dict[str, Any]:
    n = len(ratings)
    n_won = int(won.sum())
    rate = n_won / n if n else None
    mean = float(ratings.mean()) if n else None
    gap = None if rate is None or mean is None else round(100 * rate - mean, 2)
    return {
        "band": label,
        "n": n,
        "n_won": n_won,
        "win_rate": None if rate is None else round(rate, 4),
        "mean_rating": None if mean is None else round(mean, 2),
        "gap_pts": gap,
        "is_off": bool(gap is not None and n >= MIN_BAND_N and abs(gap) > BAND_ALARM_PTS),
    }


def band_rows(ratings: np.ndarray, won: np.ndarray) -> list[dict[str, Any]]:
    """One row per rating band of ten (1–10 … 91–100): closed leads, won, win rate, mean
    rating, the gap in points (win rate × 100 − mean rating) and whether it is off."""
    ratings = np.asarray(ratings, dtype=float)
    won = np.asarray(won, dtype=bool)
    rows = []
    for low, high in BANDS:
        inside = (ratings >= low) & (ratings <= high)
        rows.append(_band_row(f"{low}–{high}", ratings[inside], won[inside]))
    return rows


def temperature_rows(ratings: np.ndarray, won: np.ndarray) -> list[dict[str, Any]]:
    """Hot, warm and cold (the lead page's rating thresholds), hottest first."""
    ratings = np.asarray(ratings, dtype=float)
    won = np.asarray(won, dtype=bool)
    rows = []
    for key, label, low, high in TEMPERATURES:
        inside = (ratings >= low) & (ratings <= high)
        rows.append({"key": key, **_band_row(label, ratings[inside], won[inside])})
    return rows


def is_ordered(rows: list[dict[str, Any]]) -> bool:
    """Hot beats warm beats cold: win rates strictly fall from one to the next (bands
    without leads are left out)."""
    rates = [row["win_rate"] for row in rows if row["win_rate"] is not None]
    return all(a > b for a, b in itertools.pairwise(rates))


def roc_auc(ratings: np.ndarray, won: np.ndarray) -> float | None:
    """ROC-AUC of the rating against the outcome; None without both outcomes."""
    won = np.asarray(won, dtype=bool)
    if len(won) == 0 or won.min() == won.max():
        return None
    # The Mann-Whitney U of won against lost ratings over the pairs is the AUC (ties count
    # a half): scikit-learn's ``roc_auc_score`` without its argument checks, which took a
    # tenth of the page at a million leads.
    ratings = np.asarray(ratings, dtype=float)
    u = mannwhitneyu(ratings[won], ratings[~won], method="asymptotic").statistic
    return float(u / (int(won.sum()) * int((~won).sum())))


def band_counts(ratings: np.ndarray) -> np.ndarray:
    ratings = np.asarray(ratings, dtype=float)
    return np.array([((ratings >= lo) & (ratings <= hi)).sum() for lo, hi in BANDS], float)


def population_stability(expected: np.ndarray, actual: np.ndarray) -> float | None:
    """PSI of two sets of ratings over the ten rating bands (``psi_of_counts``)."""
    return psi_of_counts(band_counts(expected), band_counts(actual))


def psi_of_counts(expected: np.ndarray, actual: np.ndarray) -> float | None:
    """PSI from per-band counts: Σ (a − e) · ln(a / e) over the bands' shares, floored at
    ``PSI_EPSILON``. Below 0.1 stable, 0.1–0.25 moving, above 0.25 shifted. None if either
    side has no lead."""
    if expected.sum() == 0 or actual.sum() == 0:
        return None
    e = np.maximum(expected / expected.sum(), PSI_EPSILON)
    a = np.maximum(actual / actual.sum(), PSI_EPSILON)
    return float(np.sum((a - e) * np.log(a / e)))


# --- Reading ---------------------------------------------------------------------------------


def _filtered(rows: QuerySet[LeadMilestones], query: ReportQuery) -> QuerySet[LeadMilestones]:
    for name, column in (("rep", "owner_id"), ("team", "team_id"), ("source", "source_id")):
        value = query.filter_map.get(name)
        if value:
            try:
                rows = rows.filter(**{column: int(value)})
            except ValueError:
                raise ReportQueryError(name, f"{value!r} is not an id") from None
    return rows


def load_closed_frame(query: ReportQuery, user: Any) -> pd.DataFrame:
    """Leads closed (won or lost) in the period, from ``LeadMilestones``: the rating at capture
    (its first score, the current rating when it has none), the rating of its first score as
    SQL (NaN if it never was, or its score history does not say), won (bool)."""
    start, end = query.start(), query.end()
    in_scope = _filtered(LeadMilestones.objects.filter(speed_scope(user)), query)
    flags = {
        "is_won": ExpressionWrapper(Q(won_at__isnull=False), output_field=BooleanField()),
        "has_sql": ExpressionWrapper(Q(sql_at__isnull=False), output_field=BooleanField()),
    }
    # No lead id: it is not in the indexes (the milestones' key is not SQLite's rowid).
    fields = ("rating_at_capture", "is_won", "has_sql", "rating_at_sql")
    # Won in the period, then lost in it (and not won in it): two range reads on the closing
    # indexes, which hold every column read; flags and small ints only, no moment is parsed.
    # The rating at SQL is kept on the milestones (``rating_at_sql``). The database counts
    # the leads per distinct (rating, won, SQL, rating at SQL): a few hundred rows instead of
    # one per closed lead (a quarter's closings of a million-lead history are ~70,000);
    # the frame repeats each row by its count.
    won = Q(won_at__gte=start, won_at__lt=end)
    values: list[tuple[Any, ...]] = []
    with connection.cursor() as cursor:  # plain tuples: no converter per value
        for part in (
            in_scope.filter(won),
            in_scope.filter(Q(lost_at__gte=start, lost_at__lt=end) & ~won),
        ):
            grouped = (
                part.annotate(**flags)
                .order_by()
                .values(*fields)
                .annotate(n=Count("*"))
                .values_list(*fields, "n")
            )
            sql, params = grouped.query.sql_with_params()
            cursor.execute(sql, params)
            values.extend(cursor.fetchall())
    counts = np.array([row[-1] for row in values], dtype=np.int64)
    grouped_frame = pd.DataFrame(
        [row[:-1] for row in values], columns=["at_capture", "won", "has_sql", "at_sql"]
    )
    frame = grouped_frame.loc[grouped_frame.index.repeat(counts)].reset_index(drop=True)
    frame = frame.astype({"won": bool, "has_sql": bool})
    frame["at_capture"] = frame["at_capture"].astype(float)
    frame["at_sql"] = frame["at_sql"].astype(float).where(frame["has_sql"])
    return frame[frame["at_capture"].notna() | frame["at_sql"].notna()]


def captured_band_counts(
    query: ReportQuery, user: Any, start: datetime, end: datetime
) -> np.ndarray:
    """How many leads captured in ``[start, end)`` (in scope) fell in each rating band of ten
    by their rating at capture: one ``GROUP BY`` on the milestones."""
    rows = _filtered(
        LeadMilestones.objects.filter(
            speed_scope(user),
            captured_at__gte=start,
            captured_at__lt=end,
            rating_at_capture__isnull=False,
        ),
        query,
    )
    counts = np.zeros(len(BANDS))
    grouped = (
        rows.annotate(band=(F("rating_at_capture") - 1) / 10)
        .order_by()
        .values("band")
        .annotate(n=Count("*"))  # not a column: the index alone answers
        .values_list("band", "n")
    )
    for band, n in grouped:
        counts[min(max(int(band), 0), len(BANDS) - 1)] += n
    return counts


def training_figure() -> ModelVersion | None:
    """The model version the ratings come from (the active one, else the newest)."""
    return (
        ModelVersion.objects.filter(is_active=True).first()
        or ModelVersion.objects.order_by("-trained_at").first()
    )


def _training_auc(version: ModelVersion | None) -> float | None:
    if version is None:
        return None
    holdout = (version.metrics or {}).get("holdout") or {}
    value = holdout.get("roc_auc")
    return float(value) if isinstance(value, int | float) else None


# --- The report ------------------------------------------------------------------------------

BAND_COLUMNS = (
    Column("band", "Rating band"),
    Column("n", "Closed leads", "int"),
    Column("n_won", "Won", "int"),
    Column("win_rate", "Win rate", "rate"),
    Column("mean_rating", "Mean rating", "number"),
    Column("gap_pts", "Gap (points)", "number"),
    Column("alarm", "Off by > 10 points"),
)


def _shown_rows(rows: list[dict[str, Any]]) -> tuple[dict[str, Any], ...]:
    return tuple({**row, "alarm": "yes" if row["is_off"] else ""} for row in rows)


def _band_warnings(rows: list[dict[str, Any]], basis: str) -> tuple[str, ...]:
    return tuple(
        f"Band {row['band']} ({basis}) is off by {abs(row['gap_pts']):g} points: rated "
        f"{row['mean_rating']:g} on average, won {100 * row['win_rate']:.1f} % of "
        f"{row['n']} closed leads."
        for row in rows
        if row["is_off"]
    )


def _totals(ratings: np.ndarray, won: np.ndarray) -> dict[str, Any]:
    row = _band_row("All closed leads", ratings, won)
    return {**row, "alarm": ""}


def _band_table(
    key: str, title: str, ratings: np.ndarray, won: np.ndarray, basis: str
) -> ReportTable:
    rows = band_rows(ratings, won)
    return ReportTable(
        key=key,
        title=title,
        columns=BAND_COLUMNS,
        rows=_shown_rows(rows),
        totals=_totals(ratings, won),
        warnings=_band_warnings(rows, basis),
        notes=(
            f"A rating is a win chance in %: a band is off when its win rate is more than "
            f"{BAND_ALARM_PTS:g} points from its mean rating (judged from {MIN_BAND_N} closed "
            "leads up; smaller bands are noise).",
        ),
    )


def _summary_table(
    frame: pd.DataFrame, query: ReportQuery, user: Any
) -> tuple[ReportTable, dict[str, Any]]:
    won = frame["won"].to_numpy(bool)
    auc = roc_auc(frame["at_capture"].to_numpy(float), won)
    sql = frame.dropna(subset=["at_sql"])
    auc_sql = roc_auc(sql["at_sql"].to_numpy(float), sql["won"].to_numpy(bool))
    version = training_figure()
    trained_auc = _training_auc(version)
    length = query.end() - query.start()
    if version is not None:
        base_end = version.trained_at
        baseline_label = f"captured in the {length.days} days before model {version.pk} was trained"
    else:
        base_end = query.start()
        baseline_label = f"captured in the {length.days} days before the period"
    baseline = captured_band_counts(query, user, base_end - length, base_end)
    now = captured_band_counts(query, user, query.start(), query.end())
    psi = psi_of_counts(baseline, now)
    warnings = []
    if auc is not None and trained_auc is not None and auc < trained_auc - AUC_ALARM_DROP:
        warnings.append(
            f"AUC fell to {auc:.3f} from {trained_auc:.3f} at training "
            f"(more than {AUC_ALARM_DROP:g}): retrain the model or review the scorecard."
        )
    if psi is not None and psi > PSI_ALARM:
        warnings.append(
            f"The ratings of new leads drifted (PSI {psi:.3f} > {PSI_ALARM:g}) against those "
            f"{baseline_label}."
        )
    figures = {
        "n_closed": len(frame),
        "n_won": int(won.sum()),
        "auc_at_capture": None if auc is None else round(auc, 4),
        "auc_at_sql": None if auc_sql is None else round(auc_sql, 4),
        "auc_at_training": trained_auc,
        "auc_drop": None if auc is None or trained_auc is None else round(trained_auc - auc, 4),
        "psi": None if psi is None else round(psi, 4),
        "n_baseline": int(baseline.sum()),
        "n_captured": int(now.sum()),
    }
    table = ReportTable(
        key="summary",
        title="Ranking and drift",
        columns=(
            Column("n_closed", "Closed leads", "int"),
            Column("n_won", "Won", "int"),
            Column("auc_at_capture", "AUC (rating at capture)", "number"),
            Column("auc_at_sql", "AUC (rating at SQL)", "number"),
            Column("auc_at_training", "AUC at training", "number"),
            Column("auc_drop", "AUC drop", "number"),
            Column("psi", "Score drift (PSI)", "number"),
            Column("n_baseline", "Leads in baseline", "int"),
            Column("n_captured", "Leads captured now", "int"),
        ),
        rows=(figures,),
        warnings=tuple(warnings),
        notes=(
            "AUC: the chance a won lead was rated above a lost one (0.5 is a coin). PSI "
            f"compares the rating bands of leads captured in the period with those {baseline_label}"
            ": under 0.1 stable, 0.1–0.25 moving, over 0.25 shifted. A lead without score "
            "history counts with its current rating as its rating at capture.",
        ),
    )
    return table, figures


def _charts(temps: list[dict[str, Any]], bands: list[dict[str, Any]]) -> tuple[BarChart, ...]:
    hot = stacked_bars(
        chart_id="temperature",
        title="Hot beats warm beats cold?",
        description=(
            "Win rate of the leads closed in the period by their rating at capture: hot, warm, "
            "cold. The table beside gives every number."
        ),
        rows=[
            (row["band"], [None if row["win_rate"] is None else 100 * row["win_rate"]])
            for row in temps
        ],
        series=[("Win rate", "ok")],
        unit=" %",
    )
    calibration = stacked_bars(
        chart_id="calibration",
        title="Win rate per rating band",
        description=(
            "Win rate per rating band of ten; a well calibrated band wins about as often as its "
            "rating says (the table gives the mean rating and the gap)."
        ),
        rows=[
            (row["band"], [None if row["win_rate"] is None else 100 * row["win_rate"]])
            for row in bands
        ],
        series=[("Win rate", "response")],
        unit=" %",
    )
    return hot, calibration


def build(query: ReportQuery, user: Any) -> Report:
    """Calibration of the ratings on the leads closed in the period (``from``/``to`` are
    closing days here)."""
    frame = load_closed_frame(query, user)
    ratings = frame["at_capture"].to_numpy(float)
    won = frame["won"].to_numpy(bool)
    sql = frame.dropna(subset=["at_sql"])
    temps = temperature_rows(ratings, won)
    ordered = is_ordered(temps)
    temperature = ReportTable(
        key="temperature",
        title="Hot, warm, cold (rating at capture)",
        columns=(Column("band", "Rating"), *BAND_COLUMNS[1:6]),
        rows=tuple(temps),
        totals=_totals(ratings, won),
        warnings=() if ordered or len(frame) == 0 else ("Hot does not beat warm beat cold here.",),
        notes=("Hot beats warm beats cold." if ordered and len(frame) else "",)[: int(ordered)],
    )
    summary, _ = _summary_table(frame, query, user)
    at_capture = _band_table(
        "at_capture", "Conversion by rating at capture", ratings, won, "rating at capture"
    )
    at_sql = _band_table(
        "at_sql",
        "Conversion by rating when it became SQL",
        sql["at_sql"].to_numpy(float),
        sql["won"].to_numpy(bool),
        "rating at SQL",
    )
    return Report(
        name="calibration",
        title="Do the ratings still tell the truth?",
        query=query,
        tables=(at_capture, temperature, summary, at_sql),
        charts=_charts(temps, list(at_capture.rows)),
        notes=(
            "Leads closed (won or lost) between the two days; each is judged by the rating it "
            "had when captured, and apart by the rating it had when it became SQL.",
        ),
    )
