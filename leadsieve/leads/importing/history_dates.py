"""Historical dates in an import: created, qualified (MQL, SQL) and closed at.

A team switching to LeadSieve brings its history; its dates are what makes training honest
(a time split needs creation dates, the time-to-close model needs closing dates) and the
reports right (the milestones read them). The mapping names them (docs/capture.md):

- ``created_at``: when the lead arrived (the lead's own field);
- ``mql_at`` / ``sql_at``: when it became marketing- / sales-qualified. The lead has no such
  field: each becomes a status change in the lead's history (``LeadChange`` with
  ``{"status": [null, "mql"]}`` at that moment, ``via`` the file), which is where the
  milestones (``insights.milestones``) read MQL and SQL from, like a change made in the app;
- ``closed_at`` with the outcome: when it was won or lost (the lead's own field; the
  milestones' ``won_at`` / ``lost_at`` come from it).

Every date must lie in the history window (``date_windows``: 1970 to a day ahead) and the
dates of a row must be in order: created ≤ MQL ≤ SQL ≤ closed (a closing date before the
creation date alone is kept as given); a closing date needs an outcome
won or lost. A row breaking a rule is rejected with an error naming its row, the column and
the rule; its other rows import.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import pandas as pd
from django.utils import timezone

from leadsieve.leads.capture import FieldError, RowResult
from leadsieve.leads.date_windows import EARLIEST, HISTORY_AHEAD, HISTORY_MESSAGE
from leadsieve.leads.importing.mapping import LeadMapping
from leadsieve.leads.models import LeadChange, Outcome, Status
from leadsieve.leads.services.bulk import db_datetime, db_json, insert_rows

QUALIFIED_TARGETS = ("mql_at", "sql_at")
STATUS_OF = {"mql_at": Status.MQL, "sql_at": Status.SQL}
# Each pair must be in this order when both dates are given.
ORDER = (
    ("created_at", "mql_at", "is before the creation date"),
    ("created_at", "sql_at", "is before the creation date"),
    ("mql_at", "sql_at", "is before the MQL date"),
    # created_at → closed_at is not checked: real exports date a first contact a day after the
    # deal it led to (Olist: 1 of 842 won); the row keeps its dates, and the time-to-decision
    # fit leaves such a lead out (``scoring.time_to_close``).
    ("mql_at", "closed_at", "is before the MQL date"),
    ("sql_at", "closed_at", "is before the SQL date"),
)


def _bad_rows(
    mask: pd.Series,
    target: str,
    message: str,
    frame: pd.DataFrame,
    numbers: Sequence[int],
    mapping: LeadMapping,
) -> list[tuple[FieldError, str]]:
    column = mapping.column_for(target) or target
    raw = frame[column] if column in frame else pd.Series([""] * len(frame), index=frame.index)
    return [
        (FieldError(target, message, numbers[i], column), str(raw.iloc[i])[:200])
        for i in mask.to_numpy().nonzero()[0]
    ]


def date_errors(
    leads: pd.DataFrame, frame: pd.DataFrame, numbers: Sequence[int], mapping: LeadMapping
) -> list[tuple[FieldError, str]]:
    """The rows whose historical dates are out of the window, out of order, or a closing
    date without an outcome (``leads``: the mapped dates, parsed; ``frame``: the file's)."""
    errors: list[tuple[FieldError, str]] = []
    latest = pd.Timestamp(timezone.now() + HISTORY_AHEAD)
    for target in QUALIFIED_TARGETS:  # created_at and closed_at: capture checks them
        if target in leads:
            when = leads[target]
            outside = when.notna() & ((when < pd.Timestamp(EARLIEST)) | (when > latest))
            message = f"The date {HISTORY_MESSAGE}."
            errors += _bad_rows(outside, target, message, frame, numbers, mapping)
    for first, then, words in ORDER:
        if first in leads and then in leads:
            early, late = leads[first], leads[then]
            wrong = early.notna() & late.notna() & (late < early)
            errors += _bad_rows(wrong, then, f"The date {words}.", frame, numbers, mapping)
    if "closed_at" in leads:
        outcome = (
            leads["outcome"].astype(str).str.strip().str.lower()
            if "outcome" in leads
            else pd.Series("", index=leads.index)
        )
        undecided = leads["closed_at"].notna() & ~outcome.isin([Outcome.WON, Outcome.LOST])
        errors += _bad_rows(
            undecided,
            "closed_at",
            "A closing date needs an outcome won or lost (map the outcome, or leave the date "
            "empty for an open lead).",
            frame,
            numbers,
            mapping,
        )
    return errors


def record_qualification(
    results: Sequence[RowResult],
    qualified: dict[str, list[datetime | None]],
    *,
    via: str,
    user: object | None,
) -> int:
    """One status change per qualified date of each lead the import created (a merged row
    leaves the existing lead's history alone); returns how many were written."""
    lead_ids: list[int] = []
    moments_at: list[object] = []
    statuses: list[str] = []
    notes: list[str] = []
    for target, moments in qualified.items():
        change = db_json({"status": [None, str(STATUS_OF[target])]})
        for result, moment in zip(results, moments, strict=True):
            if result.created and result.lead_id is not None and moment is not None:
                lead_ids.append(result.lead_id)
                moments_at.append(db_datetime(moment))
                statuses.append(change)
                notes.append(f"{target} from the import")
    # insert_rows: literals for the columns every row shares, COPY on PostgreSQL (an ORM
    # bulk_create cost about 75 µs a row, as much again as the rest of the import).
    insert_rows(
        LeadChange,
        {
            "lead_id": lead_ids,
            "changed_at": moments_at,
            "user_id": [getattr(user, "pk", None)] * len(lead_ids),
            "via": [via[:60]] * len(lead_ids),
            "action": ["import_history"] * len(lead_ids),
            "changes": statuses,
            "note": notes,
        },
        None,
    )
    return len(lead_ids)
