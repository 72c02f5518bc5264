"""Leakage report: flags a column that alone predicts the outcome, not honest columns."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from leadsieve.engine import FeatureColumn, FeatureSpec, leakage_report
from leadsieve.engine.leakage import LeakageWarning

BENCH = Path(__file__).resolve().parents[2] / "bench"


def test_it_flags_a_synthetic_leak_and_not_noise() -> None:
    rng = np.random.default_rng(0)
    y = (rng.random(1000) < 0.4).astype(int)
    leads = pd.DataFrame(
        {
            "id": np.arange(1000),
            "status_note": np.where(y == 1, "signed", rng.choice(["lost", "later"], 1000)),
            "size": rng.normal(size=1000),
            "ok": rng.random(1000) < 0.5,
        }
    )
    spec = FeatureSpec(
        columns=(
            FeatureColumn("status_note", "categorical"),
            FeatureColumn("size", "numeric"),
            FeatureColumn("ok", "bool"),
            FeatureColumn("absent", "numeric"),
        )
    )
    with pytest.warns(LeakageWarning, match="status_note"):
        findings = leakage_report(leads, y, spec)
    assert [f.column for f in findings if f.is_flagged] == ["status_note"]
    assert {f.column for f in findings} == {"status_note", "size", "ok"}


def test_it_flags_tags_on_x_education_and_no_honest_column() -> None:
    sys.path.insert(0, str(BENCH))
    from _predictive_data import DATA_DIR, xeducation_frame

    if not (DATA_DIR / "x-education-leads" / "Leads.csv").exists():
        pytest.skip("reference data not available")
    leads, y, spec = xeducation_frame()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LeakageWarning)
        findings = leakage_report(leads, y, spec)
    flagged = {f.column for f in findings if f.is_flagged}
    assert "custom__tags" in flagged
    honest = {c.name for c in spec.usable}
    assert not flagged & honest
