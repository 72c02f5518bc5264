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

DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "data"

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
