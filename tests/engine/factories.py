"""Tiny builders for engine tests: a lead frame, activities, a one-criterion scorecard, fast
conversion-model settings and the dense-matrix reference of its linear contributions."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from leadsieve.engine import ConversionModel, Criterion, Scorecard
from leadsieve.engine.features import PAIR_SEPARATOR

NOW = pd.Timestamp("2026-11-23 12:00", tz="UTC")
# A conversion model small enough for unit tests (seconds, not minutes).
FAST_MODEL: dict[str, Any] = {  # Any: ConversionModel parameters of mixed types
    "random_state": 0,
    "n_inner_folds": 3,
    "gbm_max_rounds": 60,
    "gbm_early_stopping": 10,
    "lr_cs": (0.1, 1.0),
}


def dense_linear_contributions(model: ConversionModel, frame: pd.DataFrame) -> np.ndarray:
    """What ``linear_contributions`` must equal: the dense matrix times the coefficients,
    summed per model column, a pair feature credited half to each of its two columns."""
    encoder = model.encoder_
    dense = encoder.linear_matrix(frame) * model.lr_coef_
    names = encoder.columns
    expected = np.zeros((len(frame), len(names)))
    for k, source in enumerate(encoder.linear_sources()):
        parts = source.split(PAIR_SEPARATOR)
        for part in parts:
            expected[:, names.index(part)] += dense[:, k] / len(parts)
    return expected


LEAD_DEFAULTS: dict[str, Any] = {  # Any: one value per column, of that column's type
    "job_title": "Head of Sales",
    "country": "DE",
    "need": "pipeline visibility",
    "budget": 20_000.0,
    "timeline": "half_year",
    "decision_role": "influencer",
    "consent": True,
    "do_not_contact": False,
    "email_domain": "acme.example",
    "source": "webform",
    "campaign": "autumn",
    "created_at": NOW - pd.Timedelta(days=10),
    "company__industry": "software",
    "company__size": 120.0,
    "company__country": "DE",
    "company__revenue_band": "10-50m",
    "custom__plan": "pro",
}


def make_lead(**overrides: Any) -> dict[str, Any]:  # Any: column values of mixed types
    """One lead as a dict of column values, defaults overridden."""
    return {**LEAD_DEFAULTS, **overrides}


def make_leads(*rows: dict[str, Any]) -> pd.DataFrame:  # Any: column values of mixed types
    """A lead frame from ``make_lead`` dicts; ids 1..n unless given."""
    frame = pd.DataFrame([make_lead(**row) for row in rows] or [make_lead()])
    if "id" not in frame.columns:
        frame.insert(0, "id", np.arange(1, len(frame) + 1))
    return frame


def make_activities(*events: tuple[int, str, float, str, str]) -> pd.DataFrame:
    """Activities from (lead_id, kind, days_ago, url, subject) tuples, relative to NOW."""
    return pd.DataFrame(
        {
            "lead_id": [e[0] for e in events],
            "kind": [e[1] for e in events],
            "occurred_at": pd.to_datetime(
                [NOW - pd.Timedelta(days=e[2]) for e in events], utc=True
            ),
            "url": [e[3] for e in events],
            "subject": [e[4] for e in events],
        }
    )


def one_criterion(**fields: Any) -> Scorecard:  # Any: Criterion fields of mixed types
    """A scorecard holding just one criterion (name 'c', fit, 10 points unless given)."""
    base: dict[str, Any] = {"name": "c", "dimension": "fit", "points": 10.0}  # Any: see above
    return Scorecard(criteria=(Criterion(**{**base, **fields}),))


def varied_leads_and_events(n: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``n`` leads whose values hit every kind of default criterion, and their events."""
    rng = np.random.default_rng(seed)

    def pick(values: list[object]) -> list[object]:
        return [values[i] for i in rng.integers(0, len(values), n)]

    leads = make_leads(
        *(
            {
                "job_title": t,
                "country": c,
                "budget": b,
                "timeline": tl,
                "decision_role": r,
                "do_not_contact": d,
                "email_domain": e,
                "company__industry": i,
                "company__size": s,
                "consent": k,
            }
            for t, c, b, tl, r, d, e, i, s, k in zip(
                pick(["CEO", "Head of Sales", "Student", "", None, "VP Marketing", "intern"]),
                pick(["US", "DE", "", None, "BR"]),
                pick([np.nan, 500.0, 20_000.0, 250_000.0]),
                pick(["", "now", "quarter", "year", None]),
                pick(["", "decision_maker", "influencer", None]),
                pick([False, False, False, True]),
                pick(["acme.example", "gmail.com", "rival.example", ""]),
                pick(["software", "education", "", "retail"]),
                pick([np.nan, 3.0, 120.0, 5_000.0]),
                pick([True, False]),
                strict=True,
            )
        )
    )
    kinds = ["page_visit", "form_submit", "email_replied", "meeting", "email_opened", "bogus"]
    events = make_activities(
        *(
            (int(lead), str(kind), float(days), str(url), str(subject))
            for lead, kind, days, url, subject in zip(
                rng.integers(1, n + 1, 6 * n),
                [kinds[i] for i in rng.integers(0, len(kinds), 6 * n)],
                rng.uniform(-3, 90, 6 * n),
                [["/pricing", "/blog", ""][i] for i in rng.integers(0, 3, 6 * n)],
                [["Request a demo", "", "Re: proposal"][i] for i in rng.integers(0, 3, 6 * n)],
                strict=True,
            )
        )
    )
    return leads, events
