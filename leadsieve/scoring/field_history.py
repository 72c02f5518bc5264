"""When each feature column's value was set, from the leads' change history (``LeadChange``).

The leakage guard's second rule (``engine.leakage``) asks, per column, what share of the
filled values were set after the lead's first contact: a field the team fills in once they
have talked to the lead (a budget heard on the call, a "fit" picked after a demo) carries the
conversation's outcome into the model. A value set at capture has no change row; a value set
or changed later has one (``{field: [old, new]}``, custom fields as the whole ``custom``
object), and its last change is when the value the model would read was written.

First contact is the lead's first call, email sent, email reply or meeting.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import datetime
from typing import Any

import pandas as pd
from django.db.models import Min

from leadsieve.leads.models import Activity, ActivityKind, LeadChange

CONTACT_KINDS = (
    ActivityKind.CALL,
    ActivityKind.EMAIL_SENT,
    ActivityKind.EMAIL_REPLIED,
    ActivityKind.MEETING,
)
CUSTOM_PREFIX = "custom__"
ID_CHUNK = 20_000


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), ID_CHUNK):
        yield ids[start : start + ID_CHUNK]


def _is_blank(value: Any) -> bool:  # Any: a stored JSON value
    return value is None or value == ""


def _set_columns(changes: Mapping[str, Any], columns: Collection[str]) -> list[str]:
    """The frame columns a change row gave a (non-blank) value to."""
    found = []
    for field, pair in changes.items():
        old, new = [*pair, None, None][:2] if isinstance(pair, list) else (None, pair)
        if field == "custom":
            old, new = old if isinstance(old, dict) else {}, new if isinstance(new, dict) else {}
            found += [
                f"{CUSTOM_PREFIX}{key}"
                for key, value in new.items()
                if f"{CUSTOM_PREFIX}{key}" in columns
                and old.get(key) != value
                and not _is_blank(value)
            ]
        elif field in columns and not _is_blank(new):
            found.append(field)
    return found


def share_set_after_contact(frame: pd.DataFrame, columns: Collection[str]) -> dict[str, float]:
    """Per column of ``frame`` (which holds the leads' ``id``): the share of its filled values
    last set after the lead's first contact. Columns nobody ever changed after capture are
    0.0; a column filled for no lead is left out."""
    ids = [int(i) for i in frame["id"]]
    first_contact: dict[int, datetime] = {}
    for chunk in _chunks(ids):
        first_contact.update(
            Activity.objects.filter(lead_id__in=chunk, kind__in=CONTACT_KINDS)
            .values("lead_id")
            .annotate(first=Min("occurred_at"))
            .values_list("lead_id", "first")
        )
    last_set: dict[tuple[int, str], datetime] = {}
    if first_contact:
        for chunk in _chunks(sorted(first_contact)):
            rows = (
                LeadChange.objects.filter(lead_id__in=chunk)
                .order_by()
                .values_list("lead_id", "changed_at", "changes")
            )
            for lead_id, changed_at, changes in rows.iterator(chunk_size=5_000):
                for column in _set_columns(changes or {}, columns):
                    key = (lead_id, column)
                    if key not in last_set or changed_at > last_set[key]:
                        last_set[key] = changed_at
    position = {int(lead_id): i for i, lead_id in enumerate(frame["id"])}
    filled: dict[str, Any] = {}  # Any: a boolean numpy array per column
    for column in columns:
        if column in frame.columns:
            values = frame[column]
            mask = (values.notna() & (values.astype(str).str.strip() != "")).to_numpy()
            if mask.any():
                filled[column] = mask
    n_after = dict.fromkeys(filled, 0)
    for (lead_id, column), when in last_set.items():
        if column in filled and when > first_contact[lead_id] and filled[column][position[lead_id]]:
            n_after[column] += 1
    return {column: n_after[column] / int(mask.sum()) for column, mask in filled.items()}
