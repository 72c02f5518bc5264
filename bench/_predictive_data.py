"""Reference data sets → lead frames in the engine's column contract.

``xeducation_frame`` and ``olist_frame`` are the one place that knows the raw CSV columns.
Later they can be swapped for "import through the product, then read the frames back"
without touching the benchmark.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from leadsieve.engine.types import FeatureColumn, FeatureSpec


def reference_data_dir() -> Path:
    """``shared/data`` beside the checkout, or beside any folder above it (a git worktree
    lives deeper than the main checkout)."""
    for folder in Path(__file__).resolve().parents[1:]:
        candidate = folder / "shared" / "data"
        if candidate.is_dir():
            return candidate
    return Path(__file__).resolve().parents[2] / "shared" / "data"


DATA_DIR = reference_data_dir()

# raw X Education column → (frame column, kind, post_contact)
XEDU_COLUMNS: dict[str, tuple[str, str, bool]] = {
    "Lead Origin": ("custom__lead_origin", "categorical", False),
    "Lead Source": ("source", "categorical", False),
    "Do Not Email": ("custom__do_not_email", "bool", False),
    "Do Not Call": ("custom__do_not_call", "bool", False),
    "TotalVisits": ("custom__total_visits", "numeric", False),
    "Total Time Spent on Website": ("custom__time_on_site", "numeric", False),
    "Page Views Per Visit": ("custom__page_views_per_visit", "numeric", False),
    "Country": ("country", "categorical", False),
    "Specialization": ("custom__specialization", "categorical", False),
    "How did you hear about X Education": ("custom__heard_from", "categorical", False),
    "What is your current occupation": ("custom__occupation", "categorical", False),
    "What matters most to you in choosing a course": ("custom__what_matters", "categorical", False),
    "Search": ("custom__ad_search", "bool", False),
    "Magazine": ("custom__ad_magazine", "bool", False),
    "Newspaper Article": ("custom__ad_newspaper_article", "bool", False),
    "X Education Forums": ("custom__ad_forums", "bool", False),
    "Newspaper": ("custom__ad_newspaper", "bool", False),
    "Digital Advertisement": ("custom__ad_digital", "bool", False),
    "Through Recommendations": ("custom__ad_recommendation", "bool", False),
    "Receive More Updates About Our Courses": ("custom__more_updates", "bool", False),
    "Update me on Supply Chain Content": ("custom__supply_chain_updates", "bool", False),
    "Get updates on DM Content": ("custom__dm_updates", "bool", False),
    "City": ("custom__city", "categorical", False),
    "I agree to pay the amount through cheque": ("custom__pay_by_cheque", "bool", False),
    "A free copy of Mastering The Interview": ("custom__free_copy", "bool", False),
    "Tags": ("custom__tags", "categorical", True),
    "Lead Quality": ("custom__lead_quality", "categorical", True),
    "Lead Profile": ("custom__lead_profile", "categorical", True),
    "Last Activity": ("custom__last_activity", "categorical", True),
    "Last Notable Activity": ("custom__last_notable_activity", "categorical", True),
    "Asymmetrique Activity Index": ("custom__activity_index", "categorical", True),
    "Asymmetrique Profile Index": ("custom__profile_index", "categorical", True),
    "Asymmetrique Activity Score": ("custom__activity_score", "numeric", True),
    "Asymmetrique Profile Score": ("custom__profile_score", "numeric", True),
}


def xeducation_frame(data_dir: Path = DATA_DIR) -> tuple[pd.DataFrame, np.ndarray, FeatureSpec]:
    """X Education leads as a lead frame, the outcomes, and the spec of every column.

    "Select" (the form default) becomes missing; Yes/No become bools.
    """
    raw = pd.read_csv(data_dir / "x-education-leads" / "Leads.csv")
    leads = pd.DataFrame({"id": raw["Lead Number"].astype(int)})
    for source, (name, kind, _) in XEDU_COLUMNS.items():
        column = raw[source]
        if kind == "categorical":
            column = column.astype(object).where(column.astype(object) != "Select", None)
        elif kind == "bool":
            column = column.map({"Yes": True, "No": False})
        leads[name] = column
    spec = FeatureSpec(
        columns=tuple(FeatureColumn(n, k, post) for n, k, post in XEDU_COLUMNS.values())
    )
    return leads, raw["Converted"].to_numpy(dtype=int), spec


def olist_frame(data_dir: Path = DATA_DIR) -> tuple[pd.DataFrame, np.ndarray, FeatureSpec]:
    """Olist MQLs as a lead frame (origin → source, landing page → campaign) and outcomes."""
    folder = data_dir / "olist-marketing-funnel"
    mql = pd.read_csv(folder / "olist_marketing_qualified_leads_dataset.csv")
    won = set(pd.read_csv(folder / "olist_closed_deals_dataset.csv")["mql_id"])
    leads = pd.DataFrame(
        {
            "id": np.arange(1, len(mql) + 1),
            "source": mql["origin"].astype(object),
            "campaign": mql["landing_page_id"].astype(object),
            "created_at": pd.to_datetime(mql["first_contact_date"], utc=True),
        }
    )
    spec = FeatureSpec(
        columns=(
            FeatureColumn("source", "categorical"),
            FeatureColumn("campaign", "categorical"),
        )
    )
    return leads, mql["mql_id"].isin(won).to_numpy(dtype=int), spec


def generated_frame(n: int = 41_000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, FeatureSpec]:
    """A lead history nobody tuned on: ``n`` closed leads, 10 numeric and 10 categorical
    columns, about 25 % won.

    The outcome mixes smooth numeric effects (logs, a threshold, a ratio, one interaction),
    categorical level effects of very different sizes (3 to 300 levels, one of them useless)
    and noise; numerics carry skew and missing values, as exported CRM fields do.
    """
    rng = np.random.default_rng(seed)
    num = {
        "custom__visits": rng.poisson(4, n).astype(float),
        "custom__time_on_site": rng.lognormal(5, 1.2, n),
        "custom__pages": rng.gamma(2, 1.5, n),
        "custom__employees": rng.lognormal(4, 1.5, n),
        "custom__revenue": rng.lognormal(13, 2, n),
        "custom__emails_opened": rng.poisson(2, n).astype(float),
        "custom__days_to_first_visit": rng.exponential(10, n),
        "custom__form_fields": rng.integers(2, 12, n).astype(float),
        "custom__score_a": rng.normal(0, 1, n),
        "custom__score_b": rng.normal(0, 1, n),
    }
    sizes = [3, 5, 8, 12, 20, 30, 50, 100, 300, 6]
    cats = {f"custom__cat_{i}": rng.integers(0, k, n) for i, k in enumerate(sizes)}
    effects = {
        name: rng.normal(0, s, sizes[i])
        for i, (name, s) in enumerate(
            zip(cats, [0.6, 0.4, 0.5, 0.3, 0.4, 0.3, 0.5, 0.3, 0.6, 0.0], strict=True)
        )
    }
    z = (
        -1.6
        + 0.35 * np.log1p(num["custom__visits"])
        + 0.4 * (np.log(num["custom__time_on_site"]) - 5)
        + 0.5 * (num["custom__pages"] > 4)
        + 0.25 * (np.log(num["custom__employees"]) - 4)
        - 0.02 * num["custom__days_to_first_visit"]
        + 0.3 * np.tanh(num["custom__score_a"] * 1.5)
        + 0.3 * num["custom__score_a"] * num["custom__score_b"]
        + 0.2 * np.log1p(num["custom__emails_opened"]) * (cats["custom__cat_0"] == 1)
        + 0.15 * np.log1p(num["custom__revenue"] / num["custom__employees"] / 1000)
    )
    for name, codes in cats.items():
        z = z + effects[name][codes]
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    leads = pd.DataFrame({"id": np.arange(1, n + 1)})
    for name, x in num.items():
        x = x.copy()
        x[rng.random(n) < 0.08] = np.nan
        leads[name] = x
    for name, codes in cats.items():
        values = np.array([f"v{c}" for c in codes], dtype=object)
        values[rng.random(n) < 0.05] = None
        leads[name] = values
    spec = FeatureSpec(
        columns=tuple(FeatureColumn(name, "numeric") for name in num)
        + tuple(FeatureColumn(name, "categorical") for name in cats)
    )
    return leads, y, spec
