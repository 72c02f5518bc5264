"""Backtest metrics: does a scorecard or model rank and calibrate well on past outcomes?

Used by the benchmark, by retraining (is the new model better?) and by "backtest a scorecard
change before turning it on" (PRODUCT.md step 10). Inputs are plain arrays of outcomes (1 won,
0 lost) and probabilities; outputs are dicts and frames, CSV text, and an SVG chart.

Definitions callers may rely on:

* ECE: 10 equal-frequency bins of the predicted probability; the count-weighted mean of
  ``|observed rate − mean predicted|``.
* Rating bands: 1–10, 11–20, …, 91–100 of ``rating(p)``; ``gap_pts`` is
  ``100 * |observed − mean predicted|`` in the band.
* Lift by decile: decile 1 holds the highest-probability tenth; lift is its conversion rate
  over the overall rate.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

from leadsieve.engine.calibrate import log_loss
from leadsieve.engine.ratings import rating

N_ECE_BINS = 10
BAND_LABELS: tuple[str, ...] = tuple(f"{10 * i + 1}-{10 * i + 10}" for i in range(10))


def expected_calibration_error(y: np.ndarray, p: np.ndarray, n_bins: int = N_ECE_BINS) -> float:
    """ECE over equal-frequency bins (ties in ``p`` broken by order, so bins stay equal)."""
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    order = np.argsort(p, kind="stable")
    total = 0.0
    for chunk in np.array_split(order, n_bins):
        if chunk.size:
            total += chunk.size * abs(y[chunk].mean() - p[chunk].mean())
    return float(total / len(y))


def bootstrap_sd(
    y: np.ndarray,
    p: np.ndarray,
    *,
    random_state: int = 0,
    n_resamples: int = 100,
    max_rows: int = 50_000,
) -> tuple[float, float]:
    """Sd of ROC-AUC and of log-loss over ``n_resamples`` bootstrap resamples of (y, p).

    Resamples holding one outcome only are skipped. Above ``max_rows`` each resample draws
    ``max_rows`` rows and the sd is scaled by ``sqrt(max_rows / len(y))`` to the full size.
    """
    y = np.asarray(y, dtype=int)
    p = np.asarray(p, dtype=float)
    rng = np.random.default_rng(random_state)
    n = min(len(y), max_rows)
    aucs, losses = [], []
    for _ in range(n_resamples):
        pick = rng.integers(0, len(y), n)
        if y[pick].min() == y[pick].max():
            continue
        aucs.append(roc_auc_score(y[pick], p[pick]))
        losses.append(log_loss(y[pick], p[pick]))
    scale = np.sqrt(n / len(y))
    return float(np.std(aucs) * scale), float(np.std(losses) * scale)


def classification_metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """ROC-AUC, PR-AUC, log-loss, Brier and ECE of probabilities ``p`` against outcomes."""
    y = np.asarray(y, dtype=int)
    p = np.asarray(p, dtype=float)
    return {
        "roc_auc": float(roc_auc_score(y, p)),
        "pr_auc": float(average_precision_score(y, p)),
        "log_loss": log_loss(y, p),
        "brier": float(np.mean((p - y) ** 2)),
        "ece": expected_calibration_error(y, p),
    }


def rating_bands(y: np.ndarray, p: np.ndarray) -> pd.DataFrame:
    """Conversion per rating band of ten, with counts and the gap to the predicted rate."""
    ratings = rating(p)
    band = (ratings - 1) // 10
    frame = pd.DataFrame({"band": band, "y": np.asarray(y, dtype=float), "p": p})
    grouped = frame.groupby("band").agg(
        n=("y", "size"), observed=("y", "mean"), predicted=("p", "mean")
    )
    grouped = grouped.reindex(range(10))
    grouped["n"] = grouped["n"].fillna(0).astype(int)
    grouped["gap_pts"] = 100 * (grouped["observed"] - grouped["predicted"]).abs()
    grouped.index = pd.Index(BAND_LABELS, name="rating_band")
    return grouped


def max_band_gap(y: np.ndarray, p: np.ndarray, min_count: int = 100) -> float:
    """Largest calibration gap, in rating points, over bands holding at least ``min_count``."""
    bands = rating_bands(y, p)
    full = bands[bands["n"] >= min_count]
    return float(full["gap_pts"].max()) if len(full) else 0.0


def conversion_by(y: np.ndarray, groups: np.ndarray | pd.Series, name: str) -> pd.DataFrame:
    """Count and conversion rate per value of ``groups`` (e.g. fit grade or status)."""
    frame = pd.DataFrame({name: np.asarray(groups), "y": np.asarray(y, dtype=float)})
    return frame.groupby(name).agg(n=("y", "size"), conversion=("y", "mean"))


def threshold_precision_recall(y: np.ndarray, selected: np.ndarray) -> dict[str, float]:
    """Precision and recall of a yes/no selection (e.g. "status is MQL or SQL")."""
    y = np.asarray(y, dtype=bool)
    selected = np.asarray(selected, dtype=bool)
    hits = float(np.sum(y & selected))
    return {
        "n_selected": float(selected.sum()),
        "precision": hits / selected.sum() if selected.any() else 0.0,
        "recall": hits / y.sum() if y.any() else 0.0,
    }


def lift_by_decile(y: np.ndarray, p: np.ndarray) -> pd.DataFrame:
    """Conversion and lift per decile of probability, decile 1 the highest."""
    y = np.asarray(y, dtype=float)
    order = np.argsort(-np.asarray(p, dtype=float), kind="stable")
    base = y.mean() if len(y) else 0.0
    rows = []
    for i, chunk in enumerate(np.array_split(order, 10), start=1):
        rate = float(y[chunk].mean()) if chunk.size else 0.0
        rows.append(
            {
                "decile": i,
                "n": int(chunk.size),
                "conversion": rate,
                "lift": rate / base if base else 0.0,
            }
        )
    return pd.DataFrame(rows).set_index("decile")


def backtest_report(
    y: np.ndarray,
    p: np.ndarray,
    *,
    fit_grade: np.ndarray | None = None,
    qualified: np.ndarray | None = None,
) -> dict[str, object]:
    """All metrics in one dict: scalars plus frames (bands, grades, deciles)."""
    report: dict[str, object] = dict(classification_metrics(y, p))
    report["max_band_gap_pts"] = max_band_gap(y, p)
    report["rating_bands"] = rating_bands(y, p)
    report["lift"] = lift_by_decile(y, p)
    if fit_grade is not None:
        report["by_fit_grade"] = conversion_by(y, fit_grade, "fit_grade")
    if qualified is not None:
        report["mql_threshold"] = threshold_precision_recall(y, qualified)
    return report


def report_csv(report: dict[str, object]) -> str:
    """The report as CSV text: a metric/value section, then one section per table."""
    out = io.StringIO()
    out.write("metric,value\n")
    for key, value in report.items():
        if isinstance(value, float | int):
            out.write(f"{key},{value:.6g}\n")
        elif isinstance(value, dict):
            for sub, number in value.items():
                out.write(f"{key}.{sub},{number:.6g}\n")
    for key, value in report.items():
        if isinstance(value, pd.DataFrame):
            out.write(f"\n# {key}\n")
            value.to_csv(out)
    return out.getvalue()


def calibration_svg(y: np.ndarray, p: np.ndarray, *, title: str = "Rating calibration") -> str:
    """An SVG reliability chart (observed vs predicted per rating band) as text."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bands = rating_bands(y, p).dropna()
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 100], [0, 100], color="grey", linestyle="--", label="perfect")
    ax.plot(100 * bands["predicted"], 100 * bands["observed"], marker="o", label="observed")
    ax.set_xlabel("rating (predicted %)")
    ax.set_ylabel("observed conversion %")
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 100)
    ax.set_title(title)
    ax.legend(loc="upper left")
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg")
    plt.close(fig)
    return buffer.getvalue()
