"""Keeping ``LeadMilestones`` current: rebuild a lead's row from its history, and find which
leads need it by reading the history tables past a watermark.

Nothing in capture, scoring or routing calls this module: each history table has an
ascending id, so ``refresh_milestones`` reads the rows added since its last run
(``MilestoneStream.watermark``) in every table that can move a milestone, rebuilds the rows
of the leads they name, then moves the watermarks. Capture pays nothing; the figures lag by
at most one tick (the tick queues one background refresh: ``tasks.request_milestones_refresh``).

On PostgreSQL a transaction that took an id earlier may commit after one that took a later
id: an id below the watermark not seen yet is kept as a *gap* and looked for again at each
run, for ``GAP_TTL`` (a rolled-back insert leaves a gap for ever). SQLite writes one
transaction at a time, so its ids arrive in order.

The first run (no watermarks yet) also *backfills*: it walks every existing lead by id, a
slice per run, with the same rebuild; the rebuild only reads history, so running it twice
(or a refresh racing a backfill) writes the same row.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from django.db import models, transaction
from django.db.models import Max, Q
from django.utils import timezone

from leadsieve.cadences.models import Appointment, AppointmentOutcome
from leadsieve.insights.cells import (
    ROW_FIELDS,
    cells_ready,
    lock_cells,
    rebuild_all_cells,
    rebuild_dirty_days,
    update_cells,
)
from leadsieve.insights.models import LeadMilestones, MilestoneStream, RatingBand
from leadsieve.leads.models import (
    HIGH_RATING,
    LOW_RATING,
    Activity,
    ActivityKind,
    Lead,
    LeadChange,
    Outcome,
    Status,
)
from leadsieve.leads.services.bulk import db_datetime, insert_rows
from leadsieve.routing.models import Assignment
from leadsieve.scoring.models import ScoreSnapshot
from leadsieve.stages.models import StageChange

logger = logging.getLogger(__name__)

# Leads rebuilt per transaction, and history rows read per stream per run.
REFRESH_BATCH = 500
STREAM_BATCH = 20_000
# Ids as ranges (``leads_in``) up to this many runs of consecutive ids.
MAX_RANGES = 8
# A run stops after this long and queues its continuation (background.py's rule).
RUN_SECONDS = 5.0
GAP_TTL = timedelta(minutes=10)
MAX_GAPS = 5_000
BACKFILL = "backfill"
APPOINTMENT_STAGE = "appointment"

# A rep's own touch: the first is the first attempt (automatic cadence emails have no user).
ATTEMPT_KINDS = (
    ActivityKind.CALL,
    ActivityKind.EMAIL_SENT,
    ActivityKind.MEETING,
    ActivityKind.SOCIAL,
)
# A real contact: the lead answered, a call connected, a meeting took place.
CONTACT_KINDS = (ActivityKind.EMAIL_REPLIED, ActivityKind.MEETING)
CONNECTED_OUTCOMES = frozenset({"connected", "answered", "reached", "conversation"})
ORIGIN_KINDS = (ActivityKind.FORM_SUBMIT, ActivityKind.CAPTURE)
# A score taken while the lead was one of these gives its rating at SQL.
SQL_STATUSES = (Status.SQL, Status.CONVERTED)


@dataclass(frozen=True)
class Stream:
    """A history table read past its watermark: its model and the column naming the lead."""

    name: str
    model: type[models.Model]
    lead_field: str = "lead_id"


STREAMS: tuple[Stream, ...] = (
    Stream("lead", Lead, "id"),
    Stream("leadchange", LeadChange),
    Stream("stagechange", StageChange),
    Stream("appointment", Appointment),
    Stream("assignment", Assignment),
    Stream("activity", Activity),
    Stream("snapshot", ScoreSnapshot),
)


def rating_band(rating: int | None) -> str:
    if rating is None:
        return ""
    if rating < LOW_RATING:
        return RatingBand.COLD
    if rating < HIGH_RATING:
        return RatingBand.WARM
    return RatingBand.HOT


def _earliest(current: datetime | None, moment: datetime | None) -> datetime | None:
    if moment is None:
        return current
    return moment if current is None or moment < current else current


def _is_connected_call(payload: Any) -> bool:
    if not isinstance(payload, dict):
        return False
    if payload.get("connected") is True:
        return True
    return str(payload.get("outcome", "")).lower() in CONNECTED_OUTCOMES


LEAD_FIELDS = (
    "id",
    "created_at",
    "merged_into_id",
    "source_id",
    "source__kind",
    "campaign_id",
    "created_via",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "landing_page",
    "owner_id",
    "team_id",
    "assigned_at",
    "fit_grade",
    "rating",
    "scored_at",
    "status",
    "status_reason",
    "outcome",
    "outcome_reason",
    "closed_at",
    "updated_at",
    "expected_value",
)


class MilestoneRow(SimpleNamespace):
    """A ``LeadMilestones`` row being built: its fields as attributes, without the cost of a
    model instance (a refresh builds one per lead)."""


WRITTEN_FIELDS = [field for field in LeadMilestones._meta.concrete_fields if not field.primary_key]
# Every written column's default (a refresh sets ``refreshed_at`` itself).
ROW_DEFAULTS: dict[str, Any] = {
    field.attname: None if field.attname == "refreshed_at" else field.get_default()
    for field in WRITTEN_FIELDS
}
DATETIME_COLUMNS = frozenset(
    field.attname for field in WRITTEN_FIELDS if isinstance(field, models.DateTimeField)
)


def leads_in(ids: Sequence[int], field: str = "lead_id") -> Q:
    """``field`` in ``ids``, as a few ranges when the ids are a few runs of consecutive ids
    (a capture batch's new leads), else as an IN list: Django prepares an IN list value by
    value, some 5 µs an id on a foreign key, more than the database's lookups of them."""
    runs: list[list[int]] = []
    for pk in sorted(set(ids)):
        if runs and pk == runs[-1][1] + 1:
            runs[-1][1] = pk
        else:
            runs.append([pk, pk])
    if not runs or len(runs) > MAX_RANGES:
        return Q(**{f"{field}__in": list(ids)})
    found = Q()
    for first, last in runs:
        found |= Q(**{f"{field}__gte": first, f"{field}__lte": last})
    return found


def _status_history(ids: Sequence[int]) -> dict[int, list[tuple[datetime, str, str]]]:
    """Per lead, (moment, new status, note) of every status change, oldest first."""
    found: dict[int, list[tuple[datetime, str, str]]] = defaultdict(list)
    rows = (
        LeadChange.objects.filter(leads_in(ids), changes__has_key="status")
        .order_by("changed_at", "id")
        .values_list("lead_id", "changed_at", "changes", "note")
    )
    for lead_id, moment, changes, note in rows:
        pair = (changes or {}).get("status")
        new = pair[-1] if isinstance(pair, list) and pair else pair
        if isinstance(new, str):
            found[lead_id].append((moment, new, note or ""))
    return found


def build_rows(ids: Sequence[int], *, now: datetime | None = None) -> list[MilestoneRow]:
    """The milestone rows of the live leads among ``ids``, from their history."""
    now = now or timezone.now()
    live = Lead.objects.filter(leads_in(ids, "id"), merged_into__isnull=True)
    leads = list(live.values(*LEAD_FIELDS))
    ids = [lead["id"] for lead in leads]
    if not ids:
        return []
    statuses = _status_history(ids)

    snapshots: dict[int, list[tuple[datetime, str, int | None, str]]] = defaultdict(list)
    for lead_id, at, status, rating, grade in (
        ScoreSnapshot.objects.filter(leads_in(ids))
        .order_by("at", "id")
        .values_list("lead_id", "at", "status", "rating", "fit_grade")
    ):
        snapshots[lead_id].append((at, status, rating, grade))

    stages: dict[int, list[tuple[datetime, str, bool, bool, str]]] = defaultdict(list)
    for lead_id, moment, slug, is_won, is_lost, reason in (
        StageChange.objects.filter(leads_in(ids))
        .order_by("changed_at", "id")
        .values_list(
            "lead_id",
            "changed_at",
            "to_stage__slug",
            "to_stage__is_won",
            "to_stage__is_lost",
            "reason",
        )
    ):
        stages[lead_id].append((moment, slug, is_won, is_lost, reason))

    set_at: dict[int, datetime | None] = {}
    held_at: dict[int, datetime | None] = {}
    for lead_id, created, outcome, updated in Appointment.objects.filter(leads_in(ids)).values_list(
        "lead_id", "created_at", "outcome", "updated_at"
    ):
        set_at[lead_id] = _earliest(set_at.get(lead_id), created)
        if outcome == AppointmentOutcome.HELD:
            held_at[lead_id] = _earliest(held_at.get(lead_id), updated)

    assigned = dict(
        Assignment.objects.filter(leads_in(ids), rep__isnull=False)
        .values("lead_id")
        .annotate(first=models.Min("assigned_at"))
        .values_list("lead_id", "first")
    )

    attempt: dict[int, datetime | None] = {}
    contact: dict[int, datetime | None] = {}
    origin: dict[int, dict[str, str]] = {}
    touches = Activity.objects.filter(
        leads_in(ids), kind__in=[*ATTEMPT_KINDS, *CONTACT_KINDS, *ORIGIN_KINDS]
    ).order_by("occurred_at", "id")
    for lead_id, kind, moment, user_id, payload in touches.values_list(
        "lead_id", "kind", "occurred_at", "user_id", "payload"
    ):
        if kind in ORIGIN_KINDS:
            if lead_id not in origin and isinstance(payload, dict):
                origin[lead_id] = {
                    "web_form": str(payload.get("form", ""))[:60],
                    "import_file": str(payload.get("file", ""))[:120],
                }
            continue
        if kind in ATTEMPT_KINDS and user_id is not None:
            attempt[lead_id] = _earliest(attempt.get(lead_id), moment)
        if kind in CONTACT_KINDS or (kind == ActivityKind.CALL and _is_connected_call(payload)):
            contact[lead_id] = _earliest(contact.get(lead_id), moment)

    rows = []
    for lead in leads:
        pk = lead["id"]
        row = MilestoneRow(
            **dict(
                ROW_DEFAULTS,
                lead_id=pk,
                captured_at=lead["created_at"],
                kind=lead["source__kind"] or "",
                channel=lead["created_via"] or "",
                source_id=lead["source_id"],
                campaign_id=lead["campaign_id"],
                utm_source=lead["utm_source"][:120],
                utm_medium=lead["utm_medium"][:120],
                utm_campaign=lead["utm_campaign"][:160],
                landing_page=lead["landing_page"][:200],
                owner_id=lead["owner_id"],
                team_id=lead["team_id"],
                assigned_at=assigned.get(pk) or lead["assigned_at"],
                first_attempt_at=attempt.get(pk),
                first_contact_at=contact.get(pk),
                appointment_set_at=set_at.get(pk),
                appointment_held_at=held_at.get(pk),
                refreshed_at=now,
            )
        )
        if pk in origin:
            row.__dict__.update(origin[pk])
        first = snapshots[pk][0] if snapshots.get(pk) else None
        row.rating_at_capture = first[2] if first else lead["rating"]
        row.fit_grade = (first[3] if first else "") or lead["fit_grade"] or ""
        row.rating_band = rating_band(row.rating_at_capture)
        row.rating_at_sql = next(
            (
                rating
                for _, status, rating, _ in snapshots.get(pk, [])
                if status in SQL_STATUSES and rating is not None
            ),
            None,
        )
        _apply_statuses(row, lead, statuses.get(pk, []), snapshots.get(pk, []))
        _apply_stages(row, lead, stages.get(pk, []))
        _apply_durations(row)
        rows.append(row)
    return rows


def _apply_statuses(
    row: MilestoneRow,
    lead: dict[str, Any],
    changes: list[tuple[datetime, str, str]],
    snapshots: list[tuple[datetime, str, int | None, str]],
) -> None:
    seen: list[tuple[datetime, str, str]] = [*changes, *((at, s, "") for at, s, _, _ in snapshots)]
    for moment, status, note in sorted(seen, key=lambda item: item[0]):
        if status == Status.MQL:
            row.mql_at = _earliest(row.mql_at, moment)
        elif status == Status.SQL:
            row.sql_at = _earliest(row.sql_at, moment)
        elif status == Status.DISQUALIFIED and row.disqualified_at is None:
            row.disqualified_at = moment
            row.exit_reason = note[:300]
    # Backfill: a status with no history row (an imported lead) counts from the lead's dates.
    current = lead["status"]
    fallback = lead["scored_at"] or lead["created_at"]
    if current == Status.MQL and row.mql_at is None:
        row.mql_at = fallback
    if current == Status.SQL and row.sql_at is None:
        row.sql_at = fallback
    if current == Status.DISQUALIFIED:
        if row.disqualified_at is None:
            row.disqualified_at = lead["updated_at"] or fallback
        row.exit_reason = (lead["status_reason"] or row.exit_reason)[:300]
    else:
        # Requalified since: no longer an exit.
        row.disqualified_at = None
        row.exit_reason = ""


def _apply_stages(
    row: MilestoneRow, lead: dict[str, Any], moves: list[tuple[datetime, str, bool, bool, str]]
) -> None:
    won_at = lost_at = None
    lost_reason = ""
    for moment, slug, is_won, is_lost, reason in moves:
        if slug == APPOINTMENT_STAGE:
            row.appointment_set_at = _earliest(row.appointment_set_at, moment)
        if is_won:
            won_at = _earliest(won_at, moment)
        if is_lost and lost_at is None:
            lost_at, lost_reason = moment, reason
    outcome = lead["outcome"]
    closed = lead["closed_at"] or lead["updated_at"]
    if outcome == Outcome.WON:
        row.won_at = won_at or closed
        value = lead["expected_value"]
        row.won_value = Decimal(value) if value is not None else None
    elif outcome == Outcome.LOST:
        row.lost_at = lost_at or closed
        row.exit_reason = (lead["outcome_reason"] or lost_reason)[:300]


def _seconds(start: datetime | None, end: datetime | None) -> int | None:
    if start is None or end is None or end < start:
        return None
    return int((end - start).total_seconds())


def _apply_durations(row: MilestoneRow) -> None:
    row.capture_to_mql_s = _seconds(row.captured_at, row.mql_at)
    row.mql_to_sql_s = _seconds(row.mql_at, row.sql_at)
    row.sql_to_won_s = _seconds(row.sql_at, row.won_at)
    row.capture_to_won_s = _seconds(row.captured_at, row.won_at)


def _insert_rows(rows: list[MilestoneRow]) -> None:
    """Insert rows through the batch writer's ``insert_rows`` (COPY on PostgreSQL): the
    ORM's bulk upsert prepared every field of every row in Python (half of a refresh's CPU
    after a bulk capture). Only the moments need adapting (the table has no JSON column).
    The caller deleted the rows being replaced."""
    columns: dict[str, list[Any]] = {}
    for name in ROW_DEFAULTS:
        values = [getattr(row, name) for row in rows]
        if name in DATETIME_COLUMNS:
            values = [None if value is None else db_datetime(value) for value in values]
        columns[name] = values
    insert_rows(LeadMilestones, columns, [row.lead_id for row in rows])


def refresh_leads(
    lead_ids: Iterable[int], *, now: datetime | None = None, mark_cells: bool = True
) -> int:
    """Rebuild the milestone rows of ``lead_ids`` (merged or deleted ones lose theirs);
    ``REFRESH_BATCH`` leads per transaction. Returns how many rows were written.

    The day cells follow in the same transaction (``mark_cells``; the backfill builds every
    day's cells once it ends instead): under the cells' lock the rows being replaced are read
    and ``cells.update_cells`` moves the cells from them to the new rows. The lock also keeps
    two refreshes (or a refresh and the backfill) from replacing one lead's row at once."""
    ids = sorted(set(lead_ids))
    written = 0
    for start in range(0, len(ids), REFRESH_BATCH):
        chunk = ids[start : start + REFRESH_BATCH]
        rows = build_rows(chunk, now=now)
        with transaction.atomic():
            lock_cells()
            before = (
                list(LeadMilestones.objects.filter(leads_in(chunk)).values("lead_id", *ROW_FIELDS))
                if mark_cells
                else []
            )
            LeadMilestones.objects.filter(leads_in(chunk)).delete()
            _insert_rows(rows)
            if mark_cells:
                update_cells(
                    before,
                    [
                        {"lead_id": row.lead_id, **{f: getattr(row, f) for f in ROW_FIELDS}}
                        for row in rows
                    ],
                )
        written += len(rows)
    return written


# --- Reading the history past the watermarks --------------------------------------------------


@dataclass
class RefreshResult:
    n_refreshed: int = 0
    n_backfilled: int = 0
    is_done: bool = True


def _state(name: str) -> MilestoneStream:
    state, _ = MilestoneStream.objects.get_or_create(name=name)
    return state


def _start_backfill() -> None:
    """Set every stream's watermark to now and plan the backfill of every existing lead."""
    with transaction.atomic():
        for stream in STREAMS:
            top = stream.model._default_manager.aggregate(top=Max("id"))["top"] or 0
            MilestoneStream.objects.update_or_create(
                name=stream.name, defaults={"watermark": top, "gaps": []}
            )
        top_lead = Lead.objects.aggregate(top=Max("id"))["top"] or 0
        MilestoneStream.objects.update_or_create(
            name=BACKFILL, defaults={"watermark": 0, "until": top_lead}
        )


def _read_stream(stream: Stream, state: MilestoneStream, now: datetime) -> tuple[set[int], bool]:
    """The leads named by rows past the watermark (and by gaps that arrived), and whether
    rows past the batch are left to read; moves the watermark and the gaps in ``state``
    (saved by the caller once the leads are rebuilt)."""
    table = stream.model._default_manager
    rows = list(
        table.filter(id__gt=state.watermark)
        .order_by("id")
        .values_list("id", stream.lead_field)[:STREAM_BATCH]
    )
    leads = {lead for _, lead in rows if lead is not None}
    gaps = {int(pk): seen for pk, seen in state.gaps}
    if gaps:
        for pk, lead in table.filter(id__in=list(gaps)).values_list("id", stream.lead_field):
            gaps.pop(pk, None)
            if lead is not None:
                leads.add(lead)
    if rows:
        seen_ids = {pk for pk, _ in rows}
        stamp = now.isoformat()
        for missing in range(state.watermark + 1, rows[-1][0]):
            if missing not in seen_ids and len(gaps) < MAX_GAPS:
                gaps[missing] = stamp
        state.watermark = rows[-1][0]
    oldest = (now - GAP_TTL).isoformat()
    state.gaps = [[pk, seen] for pk, seen in sorted(gaps.items()) if seen >= oldest]
    return leads, len(rows) == STREAM_BATCH


def refresh_milestones(
    *, seconds: float = RUN_SECONDS, now: datetime | None = None
) -> RefreshResult:
    """Rebuild the rows of every lead whose history moved since the last run, then go on
    with the backfill, until done or ``seconds`` passed (``is_done`` says which)."""
    now = now or timezone.now()
    started = time.monotonic()
    result = RefreshResult()
    if not MilestoneStream.objects.filter(name=BACKFILL).exists():
        _start_backfill()
    # Every stream is read before any lead is rebuilt: a captured lead appears in several
    # (the lead, its capture activity, its first score) and is rebuilt once, not per stream.
    # The watermarks are saved after the rebuild, as before.
    states = {stream.name: _state(stream.name) for stream in STREAMS}
    while True:
        leads: set[int] = set()
        has_more = False
        for stream in STREAMS:
            found, left = _read_stream(stream, states[stream.name], now)
            leads |= found
            has_more = has_more or left
        result.n_refreshed += refresh_leads(leads, now=now)
        with transaction.atomic():  # one commit for every watermark
            for state in states.values():
                state.updated_at = now
                state.save()
        # A stream that filled its batch has more rows: read on (a full read of every
        # stream again would find nothing).
        if not has_more or time.monotonic() - started > seconds:
            break
    if time.monotonic() - started > seconds:
        result.is_done = False
        if cells_ready():
            rebuild_dirty_days()
        return result
    backfill = _state(BACKFILL)
    until = backfill.until or 0
    while backfill.watermark < until:
        ids = list(
            Lead.objects.filter(id__gt=backfill.watermark, id__lte=until)
            .order_by("id")
            .values_list("id", flat=True)[:REFRESH_BATCH]
        )
        if not ids:
            backfill.watermark = until
        else:
            result.n_backfilled += refresh_leads(ids, now=now, mark_cells=False)
            backfill.watermark = ids[-1]
        backfill.updated_at = now
        backfill.save(update_fields=["watermark", "updated_at"])
        if backfill.watermark < until and time.monotonic() - started > seconds:
            result.is_done = False
            return result
    if not cells_ready():
        rebuild_all_cells()
    else:
        rebuild_dirty_days()
    return result


def rebuild_milestones() -> int:
    """Start over: forget every watermark and rebuild every lead's row (a command's work)."""
    MilestoneStream.objects.all().delete()
    total = 0
    while True:
        result = refresh_milestones(seconds=60.0)
        total += result.n_refreshed + result.n_backfilled
        if result.is_done:
            return total


def figures_as_of() -> datetime | None:
    """When the milestones were last brought up to date (shown under each report)."""
    last: datetime | None = MilestoneStream.objects.aggregate(last=models.Min("updated_at"))["last"]
    return last


def as_of_note() -> tuple[str, ...]:
    moment = figures_as_of()
    if moment is None:
        return ("The history has not been read yet: figures appear after the next tick.",)
    return (f"Figures as of {moment:%Y-%m-%d %H:%M} UTC (refreshed every tick).",)
