"""Scoring a batch's new leads before they are inserted: one write per new lead.

A bulk capture used to insert its new leads unscored and update every one of them after the
commit (``rescore_touched_leads``): two writes of each row, its indexes and the board's count
triggers. ``score_new_leads`` scores the rows the batch writer is about to insert, from the
values it will insert them with (``frames.arriving_lead_columns``), with the same engine call
and the same rules (``reconcile_scores``) as rescoring a stored lead that was never scored;
the writer inserts the leads with their scores, and the history rows (a snapshot per lead,
an audit row per status the scorecard set) follow the insert, as the rescoring wrote them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from django.db import connection, transaction
from django.db.models import Field
from django.utils import timezone

from leadsieve.leads.models import Lead
from leadsieve.scoring.frames import arriving_activity_columns, arriving_lead_columns
from leadsieve.scoring.history import write_history
from leadsieve.scoring.queries import get_active_scoring
from leadsieve.scoring.reconciling import (
    STATE_FIELDS,
    WRITTEN_COLUMNS,
    engine_columns,
    reconcile_scores,
    score_leads,
)
from leadsieve.scoring.snapshot_reasons import request_snapshot_reasons


@dataclass(frozen=True)
class ArrivingScores:
    """What to insert the new leads with, and the history to write once they are stored."""

    columns: dict[str, list[Any]]  # Lead attname → one value per lead, in the given order
    record: Callable[[], tuple[int, int]]  # writes the history rows: (statuses, snapshots)


def score_new_leads(
    leads: Mapping[str, Sequence[Any]],
    activities: Mapping[str, Sequence[Any]],
    *,
    as_of: datetime | None = None,
) -> ArrivingScores:
    """Score leads about to be inserted (``arriving_lead_columns``' ``leads``: the values the
    writer inserts, ``id`` included) with their activities (``lead_id``, ``kind``,
    ``occurred_at``, ``url``, ``subject``), as ``rescore_leads(ids, explain_later=True)``
    would right after their insert: the same columns (``WRITTEN_COLUMNS``, ``scored_at``,
    ``scorecard_version``) and, through ``record`` after the insert, the same snapshots
    (reasons filled later) and status audit rows. Raises what the scoring raises (no
    active scorecard, ...): the caller then inserts the leads unscored.
    """
    when = as_of or timezone.now()
    active = get_active_scoring()
    state = {name: _default(name) for name in STATE_FIELDS if name not in leads}
    frame = arriving_lead_columns(leads, extra=state, only=engine_columns(active))
    for name in STATE_FIELDS:
        if name in leads:  # an import's historical outcome
            frame[name] = np.asarray(list(leads[name]), dtype=object)
    events = arriving_activity_columns(activities)
    if len(events["lead_id"]):
        keep = np.asarray(events["occurred_at"] <= when)  # rescoring reads until ``when``
        events = {name: values[keep] for name, values in events.items()}
    scores = score_leads(frame, events, active, as_of=when, explain=False)
    new = reconcile_scores(frame, scores)
    columns = {name: new.columns[name].tolist() for name in WRITTEN_COLUMNS}
    # None keeps the stored reason (a person's, with a manual status): here, the default.
    columns["status_reason"] = [
        state.get("status_reason", "") if reason is None else reason
        for reason in columns["status_reason"]
    ]
    count = len(new.ids)
    columns["scored_at"] = [connection.ops.adapt_datetimefield_value(when)] * count
    columns["scorecard_version"] = [active.scorecard_number] * count

    def record() -> tuple[int, int]:
        n_status, n_snapshots = write_history(
            new, frame, events, active, at=when, explain_later=True
        )
        if n_snapshots:
            transaction.on_commit(request_snapshot_reasons)
        return n_status, n_snapshots

    return ArrivingScores(columns, record)


def _default(name: str) -> Any:  # Any: the field's default value
    """What a lead inserted without ``name`` holds: its default ('' for blank text, None
    for a nullable field without one)."""
    field = Lead._meta.get_field(name)
    assert isinstance(field, Field)
    return field.get_default()
