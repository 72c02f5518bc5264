"""Time to decision on Olist: first contact → won date, judged out of fold.

Every MQL is a lead; the 842 closed deals decided on ``won_date``; every other lead is censored
at the data's end (the last ``won_date``, 2018-11-14): Olist's table has no lost dates, so
"decision" here is "won". Covariates are what the conversion model sees on Olist (origin as
``source``, landing page as ``campaign``), nothing after first contact.

For each seed (0, 1, 2), 5-fold cross-validation gives every lead an out-of-fold risk and
P(won within 90 days); we report Harrell's concordance (mean ± sd over seeds) and, at 90 days,
the censored calibration gap (per decile of prediction: mean predicted vs the Kaplan–Meier
estimate of that decile) of the model and of the Kaplan–Meier baseline (the training folds'
curve, the same probability for every lead).

``python bench/_ttc_eval.py [DATA_DIR]`` prints the figures and one JSON line.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _predictive_data import DATA_DIR

from leadsieve.engine.time_to_close import (
    TimeToCloseModel,
    calibration_at,
    concordance_index,
    kaplan_meier,
    survival_at,
)
from leadsieve.engine.types import FeatureColumn, FeatureSpec

SEEDS = (0, 1, 2)
N_FOLDS = 5
CALIBRATION_DAYS = 90.0
TARGET_CINDEX = 0.60


def olist_durations(
    data_dir: Path = DATA_DIR,
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, FeatureSpec]:
    """Olist leads, days from first contact to won (or to the data's end) and who won."""
    folder = data_dir / "olist-marketing-funnel"
    mql = pd.read_csv(folder / "olist_marketing_qualified_leads_dataset.csv")
    deals = pd.read_csv(folder / "olist_closed_deals_dataset.csv")
    won_at = pd.to_datetime(mql["mql_id"].map(deals.set_index("mql_id")["won_date"]))
    first = pd.to_datetime(mql["first_contact_date"])
    end = won_at.max()
    decided = won_at.notna().to_numpy()
    until = won_at.where(won_at.notna(), end)
    days = ((until - first).dt.total_seconds() / 86400.0).clip(lower=0.0).to_numpy(dtype=float)
    leads = pd.DataFrame(
        {"source": mql["origin"].astype(object), "campaign": mql["landing_page_id"].astype(object)}
    )
    spec = FeatureSpec(
        columns=(FeatureColumn("source", "categorical"), FeatureColumn("campaign", "categorical"))
    )
    return leads, days, decided, spec


def _one_seed(
    leads: pd.DataFrame, days: np.ndarray, decided: np.ndarray, spec: FeatureSpec, seed: int
) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    # Folds stratified on the decision: each holds its share of the 842 won leads.
    fold = np.empty(len(days), dtype=int)
    for value in (True, False):
        rows = np.flatnonzero(decided == value)
        fold[rows] = rng.permutation(len(rows)) % N_FOLDS
    risk = np.zeros(len(days))
    p90 = np.zeros(len(days))
    km90 = np.zeros(len(days))
    for k in range(N_FOLDS):
        train, test = fold != k, fold == k
        model = TimeToCloseModel(random_state=seed).fit(
            leads[train], days[train], decided[train], feature_spec=spec
        )
        risk[test] = model.risk_score(leads[test])
        p90[test] = model.predict_decision_proba(leads[test], [CALIBRATION_DAYS])[:, 0]
        km_days, km_survival = kaplan_meier(days[train], decided[train])
        km90[test] = 1.0 - survival_at(km_days, km_survival, np.array([CALIBRATION_DAYS]))[0]
    _, gap_model = calibration_at(CALIBRATION_DAYS, days, decided, p90)
    # The baseline in the model's deciles: a constant cannot rank, and its gap per decile is
    # what the model's ranking has to beat.
    _, gap_km = calibration_at(CALIBRATION_DAYS, days, decided, km90, rank_by=p90)
    km_all, s_all = kaplan_meier(days, decided)
    return {
        "cindex": concordance_index(days, decided, risk),
        "gap90_model": gap_model,
        "gap90_km": float(gap_km),
        "mean_p90": float(p90.mean()),
        "km_p90": 1.0 - float(survival_at(km_all, s_all, np.array([CALIBRATION_DAYS]))[0]),
    }


def evaluate_olist_ttc(data_dir: Path = DATA_DIR) -> dict[str, float]:
    """The time-to-decision figures of issue #20 on Olist; keys start with ``olist_ttc_``."""
    leads, days, decided, spec = olist_durations(data_dir)
    started = time.process_time()
    runs = [_one_seed(leads, days, decided, spec, seed) for seed in SEEDS]
    cpu = time.process_time() - started
    c = np.array([r["cindex"] for r in runs])
    gap_model = np.array([r["gap90_model"] for r in runs])
    gap_km = np.array([r["gap90_km"] for r in runs])
    print(
        f"olist time to decision ({int(decided.sum())} won of {len(days)}, the rest censored): "
        f"concordance {c.mean():.4f} ± {c.std(ddof=1):.4f} over seeds {SEEDS} "
        f"(target ≥ {TARGET_CINDEX:.2f}: {'holds' if c.mean() >= TARGET_CINDEX else 'MISSED'}); "
        f"at 90 days calibration gap {gap_model.mean():.4f} ± {gap_model.std(ddof=1):.4f} "
        f"vs Kaplan–Meier baseline {gap_km.mean():.4f} ± {gap_km.std(ddof=1):.4f}; "
        f"mean P(won ≤ 90 d) {runs[0]['mean_p90']:.4f} vs Kaplan–Meier {runs[0]['km_p90']:.4f}; "
        f"{cpu / (len(SEEDS) * N_FOLDS):.2f} s CPU per fit"
    )
    return {
        "olist_ttc_cindex": round(float(c.mean()), 4),
        "olist_ttc_cindex_sd": round(float(c.std(ddof=1)), 4),
        "olist_ttc_cal90_gap": round(float(gap_model.mean()), 4),
        "olist_ttc_cal90_gap_km": round(float(gap_km.mean()), 4),
        "olist_ttc_p90_mean": round(runs[0]["mean_p90"], 4),
        "olist_ttc_p90_km": round(runs[0]["km_p90"], 4),
    }


if __name__ == "__main__":
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else DATA_DIR
    print(json.dumps(evaluate_olist_ttc(folder), sort_keys=True))
