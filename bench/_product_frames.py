"""The reference data sets, imported through the product and read back as the engine sees them.

``import_reference_data`` runs LeadSieve's own ``import-leads`` with the shipped mappings
(``examples/x-education.toml``, ``examples/olist.toml``) into a fresh SQLite database, then
``product_frames`` reads each data set back through the scoring app's adapter
(``leadsieve.scoring.frames``): the same frames, outcomes and feature spec (field registry,
post-contact fields flagged) that ``leadsieve train`` uses. Rows come back in file order
(ascending lead id), so the benchmark's folds are the protocol's folds.

Django is configured here, once per process, for a database in ``workdir``.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from _predictive_data import reference_data_dir

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = reference_data_dir()
XEDU_FILE = DATA_DIR / "x-education-leads" / "Leads.csv"
OLIST_FILE = DATA_DIR / "olist-marketing-funnel" / "olist_marketing_qualified_leads_dataset.csv"
MAPPINGS = {
    "xedu": REPO / "examples" / "x-education.toml",
    "olist": REPO / "examples" / "olist.toml",
}
FILES = {"xedu": XEDU_FILE, "olist": OLIST_FILE}


@dataclass(frozen=True)
class ImportedSet:
    """The lead ids one data set received, in file order."""

    first_id: int
    last_id: int
    seconds: float


def setup_django(workdir: Path) -> None:
    """Point Django at a fresh SQLite file in ``workdir`` and migrate it."""
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'reference.sqlite3'}"
    os.environ.setdefault("SECRET_KEY", "bench-only")
    os.environ["LEADSIEVE_DATA_DIR"] = str(workdir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadsieve.config.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def import_reference_data(name: str) -> ImportedSet:
    """Import one reference data set with its shipped mapping; the ids it received."""
    from django.core.management import call_command

    from leadsieve.leads.models import Lead

    before = Lead.objects.order_by("-id").values_list("id", flat=True).first() or 0
    started = time.perf_counter()
    call_command(
        "import_leads", str(FILES[name]), mapping=MAPPINGS[name], no_progress=True, verbosity=0
    )
    seconds = time.perf_counter() - started
    last = Lead.objects.order_by("-id").values_list("id", flat=True).first() or 0
    return ImportedSet(first_id=before + 1, last_id=last, seconds=seconds)


def product_frames(
    imported: ImportedSet, *, keep_columns: tuple[str, ...]
) -> tuple[pd.DataFrame, np.ndarray, object]:
    """Lead frame, outcomes (1 = won) and feature spec of one imported data set.

    ``keep_columns`` limits the spec to the columns the data set actually carries (both sets
    share one database, so the registry holds the other set's fields too; they are empty here).
    """
    from leadsieve.engine.types import FeatureSpec
    from leadsieve.leads.models import Lead
    from leadsieve.scoring.frames import feature_spec, lead_frame

    leads = Lead.objects.filter(id__gte=imported.first_id, id__lte=imported.last_id)
    frame = lead_frame(leads).sort_values("id").reset_index(drop=True)
    outcomes = dict(leads.values_list("id", "outcome"))
    y = np.array([outcomes[i] == "won" for i in frame["id"]], dtype=int)
    spec = feature_spec()
    kept = tuple(c for c in spec.columns if c.name in keep_columns)
    return frame, y, FeatureSpec(columns=kept)


def mapped_columns(name: str) -> tuple[str, ...]:
    """Frame columns the data set's mapping fills: what a team would let the model see.

    Identifiers (``external_id``) and the outcome columns are never features (BASELINES.md:
    row ids are never features; the mapping leaves X Education's second id, Lead Number, out).
    """
    import tomllib

    mapping = tomllib.loads(MAPPINGS[name].read_text(encoding="utf-8"))
    columns = []
    for target in mapping.get("columns", {}).values():
        if target in NOT_FEATURES:
            continue
        columns.append(target.replace("custom.", "custom__", 1))
    return tuple(columns)


NOT_FEATURES = frozenset({"external_id", "outcome", "closed_at", "created_at"})
