"""Reads of the rep's pages: the lead list and its export, the lead page's timeline and
score "why", the pipeline board (Today lives in ``worklist``).

Every read starts from ``leads.queries.scope_leads_for_user`` (or its parts), so a page
cannot widen who sees what; the filters come from ``segments.filters``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import cmp_to_key
from typing import Any

from django.db.models import Count, DecimalField, ExpressionWrapper, F, Sum

from leadsieve.accounts.models import User
from leadsieve.leads.models import Activity, Lead, LeadChange, Status
from leadsieve.leads.queries import (
    DEFAULT_SORT,
    SORTS,
    TEXT_SORTS,
    compare_for,
    encode_cursor,
    keyset_slices,
    neutralise_cell,
    order_for,
    scope_leads_for_user,
    scope_parts_for_user,
)
from leadsieve.scoring.models import ScoreSnapshot
from leadsieve.scoring.services import explain_lead
from leadsieve.segments.filters import NOT_DISQUALIFIED, LeadFilters, filter_leads
from leadsieve.stages.models import Stage, StageChange

logger = logging.getLogger(__name__)

PAGE_SIZE = 50
TIMELINE_LIMIT = 100
BOARD_CARDS_PER_STAGE = 50
COUNT_LIMIT = 1_000


@dataclass(frozen=True)
class LeadPage:
    leads: list[Lead]
    next_cursor: str | None
    is_first: bool


@dataclass(frozen=True)
class LeadCount:
    n: int
    is_capped: bool


@dataclass(frozen=True)
class TimelineEntry:
    at: dt.datetime
    kind: str  # "activity", "stage" or "change"
    title: str
    detail: str
    who: str


@dataclass(frozen=True)
class ReasonRow:
    dimension: str
    label: str
    points: float | None


@dataclass(frozen=True)
class ScoreWhy:
    """Scorecard criteria that gave or took points, and the model's strongest factors."""

    criteria: list[ReasonRow]
    raising: list[ReasonRow]
    lowering: list[ReasonRow]
    probability: float | None


@dataclass(frozen=True)
class BoardColumn:
    """One stage of the board: its count and values over every lead, and the best-rated cards.

    ``total_value`` sums ``Lead.expected_value``; ``weighted_value`` sums value x rating / 100
    (a lead without a value or a rating adds nothing to either).
    """

    stage: Stage
    n_leads: int
    total_value: Decimal = Decimal(0)
    weighted_value: Decimal = Decimal(0)
    leads: list[Lead] = field(default_factory=list)

    @property
    def n_more(self) -> int:
        return max(self.n_leads - len(self.leads), 0)


# --- The lead list ---------------------------------------------------------------------------


def list_leads_for_user(
    user: Any,
    filters: LeadFilters,
    *,
    sort: str = DEFAULT_SORT,
    after: Sequence[Any] | None = None,
    limit: int = PAGE_SIZE,
) -> LeadPage:
    """One page of the user's leads: keyset pagination (no OFFSET), a fixed number of queries.

    ``after`` is what ``decode_cursor`` returned for the previous page's ``next_cursor``.
    Names sort in the database's collation, which Python cannot copy: they use one query.
    """
    keys = SORTS[sort]
    parts = [scope_leads_for_user(user)] if sort in TEXT_SORTS else scope_parts_for_user(user)
    rows: list[Lead] = []
    n_queries = 0
    for part_of_order in keyset_slices(sort, after):
        for part in parts:
            leads = filter_leads(part, filters, user).filter(part_of_order.where)
            if part_of_order.after is not None:
                leads = leads.filter(part_of_order.after)
            # ``queued``: the routing queue's reason, shown for unowned leads (one-to-one join).
            leads = leads.select_related("owner", "company", "source", "campaign", "queued")
            rows.extend(leads.order_by(*part_of_order.order)[: limit + 1])
            n_queries += 1
        if len(rows) > limit:
            break  # a later slice sorts after every row of this one
    if n_queries > 1:
        rows.sort(key=cmp_to_key(compare_for(keys)))
    has_more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(sort, rows[-1]) if has_more and rows else None
    return LeadPage(leads=rows, next_cursor=next_cursor, is_first=after is None)


def count_leads_for_user(user: Any, filters: LeadFilters, *, limit: int = COUNT_LIMIT) -> LeadCount:
    """How many leads match, exact up to ``limit``; beyond it, "more than ``limit``".

    An exact count of a million-lead team reads every matching row on each page view; a
    bounded count (``COUNT`` over ``LIMIT limit + 1``) costs at most ``limit`` rows.
    """
    leads = filter_leads(scope_leads_for_user(user), filters, user)
    n = leads.order_by()[: limit + 1].count()
    return LeadCount(n=min(n, limit), is_capped=n > limit)


def iter_leads_for_export(user: Any, filters: LeadFilters, sort: str) -> Iterator[Lead]:
    """Every filtered lead in list order, streamed in chunks for the CSV export."""
    leads = filter_leads(scope_leads_for_user(user), filters, user)
    return (
        leads.select_related("owner", "company", "source", "campaign")
        .order_by(*order_for(sort))
        .iterator(chunk_size=2000)
    )


EXPORT_COLUMNS = (
    "id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "job_title",
    "company",
    "status",
    "fit_grade",
    "rating",
    "rating_source",
    "horizon",
    "owner",
    "source",
    "campaign",
    "created_at",
    "last_activity_at",
)


def iter_export_rows_for_user(user: Any, filters: LeadFilters, sort: str) -> Iterator[list[str]]:
    """The CSV export of the current filter: a header, then one neutralised row per lead."""
    yield list(EXPORT_COLUMNS)
    for lead in iter_leads_for_export(user, filters, sort):
        company = lead.company.name if lead.company else lead.company_name
        row = [
            lead.pk,
            lead.first_name,
            lead.last_name,
            lead.email,
            lead.phone,
            lead.job_title,
            company,
            lead.status,
            lead.fit_grade,
            lead.rating,
            lead.rating_source,
            lead.horizon,
            lead.owner.username if lead.owner else "",
            lead.source.name if lead.source else "",
            lead.campaign.name if lead.campaign else "",
            lead.created_at,
            lead.last_activity_at,
        ]
        yield [neutralise_cell(cell) for cell in row]


# --- The lead page ---------------------------------------------------------------------------


def _who(user: User | None) -> str:
    return str(user) if user is not None else "LeadSieve"


@dataclass(frozen=True)
class RatingHistoryRow:
    at: dt.datetime
    rating: int | None
    status: str
    fit_grade: str

    @property
    def status_label(self) -> str:
        return Status(self.status).label if self.status in Status.values else self.status


RATING_HISTORY_LIMIT = 8
# Rescoring writes a snapshot each pass: read this many to find the last few changes.
RATING_HISTORY_SCAN = 60


def list_rating_history_for_lead(
    lead: Lead, *, limit: int = RATING_HISTORY_LIMIT
) -> list[RatingHistoryRow]:
    """The lead's last rating, status and fit changes, newest first (one query on the
    ``(lead, at)`` index); a rescoring that changed none of them is not repeated."""
    snapshots = ScoreSnapshot.objects.filter(lead=lead).order_by("-at", "-id")
    rows = [
        RatingHistoryRow(
            at=row["at"], rating=row["rating"], status=row["status"], fit_grade=row["fit_grade"]
        )
        for row in snapshots.values("at", "rating", "status", "fit_grade")[:RATING_HISTORY_SCAN]
    ]
    # Keep the oldest snapshot of each run of equal ones: when the value was reached.
    kept = []
    for i, row in enumerate(rows):
        older = rows[i + 1] if i + 1 < len(rows) else None
        if older is None or (older.rating, older.status, older.fit_grade) != (
            row.rating,
            row.status,
            row.fit_grade,
        ):
            kept.append(row)
    return kept[:limit]


def list_timeline_for_lead(lead: Lead, *, limit: int = TIMELINE_LIMIT) -> list[TimelineEntry]:
    """Activities, stage moves and edits, newest first: three queries whatever the length."""
    entries: list[TimelineEntry] = []
    activities = (
        Activity.objects.filter(lead=lead).select_related("user").order_by("-occurred_at", "-id")
    )
    for activity in activities[:limit]:
        title = activity.get_kind_display()
        detail = activity.subject or activity.url
        if detail.strip().casefold() == title.casefold():  # "Email opened / Email Opened"
            detail = ""
        entries.append(
            TimelineEntry(
                at=activity.occurred_at,
                kind="activity",
                title=title,
                detail=detail,
                who=_who(activity.user),
            )
        )
    moves = StageChange.objects.filter(lead=lead).select_related("user", "from_stage", "to_stage")
    for move in moves[:limit]:
        origin = move.from_stage.name if move.from_stage else "–"
        entries.append(
            TimelineEntry(
                at=move.changed_at,
                kind="stage",
                title=f"Stage: {origin} → {move.to_stage.name}",
                detail=move.reason,
                who=_who(move.user),
            )
        )
    # Stage moves also write a LeadChange(action="stage"); the StageChange above tells it.
    changes = LeadChange.objects.filter(lead=lead).exclude(action="stage").select_related("user")
    for change in changes[:limit]:
        detail = change.describe()
        if change.note:
            detail = f"{detail} — {change.note}" if detail else change.note
        entries.append(
            TimelineEntry(
                at=change.changed_at,
                kind="change",
                title=change.action.replace("_", " ").capitalize(),
                detail=detail,
                who=_who(change.user) + (f" via {change.via}" if change.via != "web" else ""),
            )
        )
    entries.sort(key=lambda entry: entry.at, reverse=True)
    return entries[:limit]


def get_score_explanation(lead: Lead) -> ScoreWhy | None:
    """The "why" of the lead's score from the scoring app, or None while it cannot say.

    An unscored lead, no active scorecard yet, or a failure inside the scoring app shows
    "not scored yet" rather than breaking the page a rep needs to work the lead.
    """
    if lead.scored_at is None and lead.rating is None:
        return None
    try:
        explanation = explain_lead(lead)
    except Exception:  # the explanation is optional; the page is not
        logger.warning("explaining lead %s failed", lead.pk, exc_info=True)
        return None
    return ScoreWhy(
        criteria=[
            ReasonRow(dimension=reason.dimension, label=reason.label, points=reason.points)
            for reason in explanation.criteria
        ],
        raising=[
            ReasonRow(dimension="model", label=factor.label, points=factor.effect)
            for factor in explanation.raising
        ],
        lowering=[
            ReasonRow(dimension="model", label=factor.label, points=factor.effect)
            for factor in explanation.lowering
        ],
        probability=explanation.probability,
    )


# --- The board (Today lives in ``worklist``) ------------------------------------------------


def board_filters(filters: LeadFilters) -> LeadFilters:
    """The board's leads: ``filters`` without disqualified leads (they leave the pipeline)."""
    return replace(filters, status=NOT_DISQUALIFIED)


def list_board_for_user(
    user: Any, filters: LeadFilters | None = None, *, limit: int = BOARD_CARDS_PER_STAGE
) -> list[BoardColumn]:
    """The pipeline board: one column per active stage, disqualified leads left out.

    Counts and values of every column come from one grouped query per scope part (a rep's
    scope is two: own leads and the team's unassigned ones, each an index walk instead of one
    OR over the team); each column then reads its ``limit`` best-rated cards through the
    list's keyset query, which stops early. The query count never depends on the leads.
    """
    filters = board_filters(filters or LeadFilters())
    stages = list(Stage.objects.filter(is_active=True))
    if not stages:
        return []
    weighted = ExpressionWrapper(
        F("expected_value") * F("rating"),
        output_field=DecimalField(max_digits=20, decimal_places=2),
    )
    totals: dict[int | None, list[Any]] = {}
    for part in scope_parts_for_user(user):
        rows = (
            filter_leads(part, filters, user)
            .values("stage_id")
            .annotate(n=Count("id"), value=Sum("expected_value"), weighted=Sum(weighted))
            .order_by()
        )
        for row in rows:
            total = totals.setdefault(row["stage_id"], [0, Decimal(0), Decimal(0)])
            total[0] += row["n"]
            total[1] += Decimal(str(row["value"] or 0))
            total[2] += Decimal(str(row["weighted"] or 0))
    columns = []
    for stage in stages:
        n, value, weighted_sum = totals.get(stage.pk, [0, Decimal(0), Decimal(0)])
        page = list_leads_for_user(user, replace(filters, stage_id=stage.pk), limit=limit)
        columns.append(
            BoardColumn(
                stage=stage,
                n_leads=n,
                total_value=value,
                weighted_value=(weighted_sum / 100).quantize(Decimal("1")),
                leads=page.leads,
            )
        )
    return columns
