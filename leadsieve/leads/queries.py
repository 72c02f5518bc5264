"""Scoped reads for the sales workspace: every lead a page shows comes through here.

Why one module: the access rule (admin: all; manager: the team's leads; rep: their own plus
the team's unassigned ones; merged leads never) lives in ``scope_leads_for_user`` and every
list, detail, export and htmx endpoint starts from it, so a view cannot forget it.
A lead outside the scope is a 404, never a 403: a guessed URL learns nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import cmp_to_key
from typing import Any

from django.core import signing
from django.db.models import Count, DecimalField, ExpressionWrapper, F, Q, QuerySet, Sum
from django.db.models.expressions import OrderBy
from django.http import Http404
from django.utils.dateparse import parse_datetime

from leadsieve.accounts.models import User
from leadsieve.leads.models import (
    LOW_RATING,
    Activity,
    Lead,
    LeadChange,
    Outcome,
    RatingSource,
    Status,
)
from leadsieve.segments.models import SegmentMember
from leadsieve.stages.models import Stage, StageChange

logger = logging.getLogger(__name__)

PAGE_SIZE = 50
TIMELINE_LIMIT = 100
BOARD_CARDS_PER_STAGE = 50
# A status filter value meaning "every status but disqualified" (the board's leads).
NOT_DISQUALIFIED = "not_disqualified"
CURSOR_SALT = "leadsieve.leads.cursor"
COUNT_LIMIT = 1_000


@dataclass(frozen=True)
class SortKey:
    """One column of a keyset: nullable columns sort their nulls last in both directions."""

    field: str
    descending: bool
    nullable: bool = False


# The sort a user picks → the keyset columns; ``id`` last makes every position unique.
SORTS: dict[str, tuple[SortKey, ...]] = {
    "-rating": (SortKey("rating", True, True), SortKey("id", True)),
    "rating": (SortKey("rating", False, True), SortKey("id", False)),
    "-created": (SortKey("created_at", True), SortKey("id", True)),
    "created": (SortKey("created_at", False), SortKey("id", False)),
    "-activity": (SortKey("last_activity_at", True, True), SortKey("id", True)),
    "activity": (SortKey("last_activity_at", False, True), SortKey("id", False)),
    "name": (SortKey("last_name", False), SortKey("first_name", False), SortKey("id", False)),
    "-name": (SortKey("last_name", True), SortKey("first_name", True), SortKey("id", True)),
}
DEFAULT_SORT = "-rating"
TEXT_SORTS = frozenset({"name", "-name"})


class InvalidCursor(ValueError):
    """The page cursor was tampered with, is from another sort, or is malformed."""


@dataclass(frozen=True)
class LeadFilters:
    """What the lead list is narrowed to; empty values mean "any"."""

    text: str = ""
    status: str = ""
    fit_grade: str = ""
    horizon: str = ""
    source_id: int | None = None
    campaign_id: int | None = None
    owner: str = ""  # "", "me", "none" or a user id as text
    rating_min: int | None = None
    rating_max: int | None = None
    created_from: dt.datetime | None = None
    created_to: dt.datetime | None = None
    activity_from: dt.datetime | None = None
    activity_to: dt.datetime | None = None
    team_id: int | None = None
    stage_id: int | None = None
    segment: SegmentRule | None = None


@dataclass(frozen=True)
class SegmentRule:
    """A segment as a filter: its saved filters AND, for a list, membership."""

    segment_id: int
    name: str
    filters: LeadFilters
    is_list: bool


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


# --- Scope ---------------------------------------------------------------------------------


def scope_leads_for_user(user: Any) -> QuerySet[Lead]:
    """The leads ``user`` may see, merged ones excluded. ``Any``: AnonymousUser or User."""
    leads = Lead.objects.filter(merged_into__isnull=True)
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return leads.none()
    if user.is_admin_role():
        return leads
    if user.is_manager_role():
        if user.team_id is None:
            return leads.filter(owner=user)
        return leads.filter(team_id=user.team_id)
    if user.team_id is None:
        return leads.filter(owner=user)
    return leads.filter(Q(owner=user) | Q(team_id=user.team_id, owner__isnull=True))


def lead_scope_condition(user: Any, *, prefix: str = "lead__") -> Q:
    """``scope_leads_for_user`` as a condition on a related ``lead`` (a join, not
    ``lead_id IN (subquery)``), so the database walks a due-date index and stops after a page.

    Equivalent to the scope by construction; ``tests/ui/test_today.py`` checks it per role.
    Today's tasks and deadlines and the duplicates queue read through it.
    """
    live = Q(**{f"{prefix}merged_into__isnull": True})
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Q(pk__in=[])
    if user.is_admin_role():
        return live
    own = Q(**{f"{prefix}owner": user})
    if user.team_id is None:
        return live & own
    team = Q(**{f"{prefix}team_id": user.team_id})
    if user.is_manager_role():
        return live & team
    return live & (own | (team & Q(**{f"{prefix}owner__isnull": True})))


def get_lead_for_user(user: Any, lead_id: int) -> Lead:
    """The lead with its profile relations, or ``Http404`` when missing or out of scope."""
    lead = (
        scope_leads_for_user(user)
        .select_related("company", "owner", "team", "source", "campaign", "stage")
        .filter(pk=lead_id)
        .first()
    )
    if lead is None:
        raise Http404("No such lead.")
    return lead


def list_leads_by_ids_for_user(user: Any, lead_ids: Sequence[int]) -> list[Lead]:
    """The selected leads in scope; callers compare lengths to refuse a partial selection."""
    return list(scope_leads_for_user(user).filter(pk__in=set(lead_ids)).order_by("id"))


def list_assignable_owners_for_user(user: Any) -> QuerySet[User]:
    """Who ``user`` may hand leads to: anyone (admin), the team (manager), themselves (rep)."""
    users = User.objects.filter(is_active=True).order_by("first_name", "last_name", "username")
    if user.is_admin_role():
        return users
    if user.is_manager_role() and user.team_id is not None:
        return users.filter(team_id=user.team_id)
    return users.filter(pk=user.pk)


# --- The lead list ---------------------------------------------------------------------------


def filter_leads(leads: QuerySet[Lead], filters: LeadFilters, user: Any) -> QuerySet[Lead]:
    """Apply the list filters; text searches name, email and company (stated or resolved)."""
    if filters.text:
        for word in filters.text.split()[:5]:
            leads = leads.filter(
                Q(first_name__icontains=word)
                | Q(last_name__icontains=word)
                | Q(email__icontains=word)
                | Q(company_name__icontains=word)
                | Q(company__name__icontains=word)
            )
    status = filters.status
    if status == NOT_DISQUALIFIED:
        leads = leads.exclude(status=Status.DISQUALIFIED)
        status = ""
    exact = {
        "status": status,
        "fit_grade": filters.fit_grade,
        "horizon": filters.horizon,
        "source_id": filters.source_id,
        "campaign_id": filters.campaign_id,
    }
    leads = leads.filter(**{k: v for k, v in exact.items() if v not in ("", None)})
    if filters.team_id is not None:
        leads = leads.filter(team_id=filters.team_id)
    if filters.stage_id is not None:
        leads = leads.filter(stage_id=filters.stage_id)
    if filters.segment is not None:
        leads = filter_leads(leads, filters.segment.filters, user)
        if filters.segment.is_list:
            members = SegmentMember.objects.filter(segment_id=filters.segment.segment_id)
            leads = leads.filter(pk__in=members.values("lead_id"))
    if filters.owner == "me":
        leads = leads.filter(owner=user)
    elif filters.owner == "none":
        leads = leads.filter(owner__isnull=True)
    elif filters.owner:
        leads = leads.filter(owner_id=int(filters.owner))
    ranges = {
        "rating__gte": filters.rating_min,
        "rating__lte": filters.rating_max,
        "created_at__gte": filters.created_from,
        "created_at__lt": filters.created_to,
        "last_activity_at__gte": filters.activity_from,
        "last_activity_at__lt": filters.activity_to,
    }
    return leads.filter(**{k: v for k, v in ranges.items() if v is not None})


def _ordering(sort: str) -> list[OrderBy]:
    return [
        F(key.field).desc(nulls_last=True) if key.descending else F(key.field).asc(nulls_last=True)
        for key in SORTS[sort]
    ]


def _after(keys: Sequence[SortKey], values: Sequence[Any]) -> Q:
    """Rows strictly after the cursor position in the sort order (nulls last, ids unique).

    A disjunction over the keys: equal on every earlier key and after on this one. A null
    cursor value has nothing after it but other nulls, which the equality terms handle.
    """
    condition = Q(pk__in=[])
    equal = Q()
    for key, value in zip(keys, values, strict=True):
        if value is not None:
            lookup = "lt" if key.descending else "gt"
            later = Q(**{f"{key.field}__{lookup}": value})
            if key.nullable:
                later |= Q(**{f"{key.field}__isnull": True})
            condition |= equal & later
            equal &= Q(**{key.field: value})
        else:
            equal &= Q(**{f"{key.field}__isnull": True})
    return condition


def _cursor_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def encode_cursor(sort: str, lead: Lead) -> str:
    """An opaque, signed position: the sort and the last row's keyset values."""
    values = [_cursor_value(getattr(lead, key.field)) for key in SORTS[sort]]
    return signing.dumps({"s": sort, "v": values}, salt=CURSOR_SALT, compress=True)


def decode_cursor(sort: str, cursor: str) -> list[Any]:
    """The keyset values of ``cursor``; ``InvalidCursor`` when it cannot be trusted."""
    try:
        payload = signing.loads(cursor, salt=CURSOR_SALT)
    except signing.BadSignature:
        raise InvalidCursor("the cursor is damaged or was altered") from None
    keys = SORTS.get(sort, ())
    if not isinstance(payload, dict) or payload.get("s") != sort:
        raise InvalidCursor("the cursor belongs to another sort order")
    values = payload.get("v")
    if not isinstance(values, list) or len(values) != len(keys):
        raise InvalidCursor("the cursor is malformed")
    decoded: list[Any] = []
    for key, value in zip(keys, values, strict=True):
        if value is not None and key.field.endswith("_at"):
            value = parse_datetime(value) if isinstance(value, str) else None
            if value is None:
                raise InvalidCursor("the cursor is malformed")
        decoded.append(value)
    return decoded


def after_cursor(sort: str, cursor: str) -> Q:
    """Rows after ``cursor`` in ``sort`` order: the keyset filter every paged list uses."""
    return _after(SORTS[sort], decode_cursor(sort, cursor))


def order_for(sort: str) -> list[OrderBy]:
    """The ``order_by`` terms matching ``sort``'s keyset."""
    return _ordering(sort)


def scope_parts_for_user(user: Any) -> list[QuerySet[Lead]]:
    """The user's scope as disjoint parts whose union is ``scope_leads_for_user``.

    A rep's scope is an OR (their own leads, or the team's unassigned ones). Databases answer
    "OR ... ORDER BY rating LIMIT 51" by collecting every matching row and sorting them all;
    each part alone walks an index in order and stops after 51 rows.
    """
    if user.is_rep_role() and user.team_id is not None and user.is_active:
        leads = Lead.objects.filter(merged_into__isnull=True)
        return [
            leads.filter(owner=user),
            leads.filter(team_id=user.team_id, owner__isnull=True),
        ]
    return [scope_leads_for_user(user)]


def _compare(keys: Sequence[SortKey]) -> Callable[[Lead, Lead], int]:
    """The SQL order of ``keys`` (nulls last) in Python, to merge the parts' pages."""

    def compare(a: Lead, b: Lead) -> int:
        for key in keys:
            left, right = getattr(a, key.field), getattr(b, key.field)
            if left == right:
                continue
            if left is None or right is None:
                return 1 if left is None else -1
            result = -1 if left < right else 1
            return -result if key.descending else result
        return 0

    return compare


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
    for part in parts:
        leads = filter_leads(part, filters, user)
        if after is not None:
            leads = leads.filter(_after(keys, after))
        # ``queued``: the routing queue's reason, shown for unowned leads (a one-to-one join).
        leads = leads.select_related("owner", "company", "source", "campaign", "queued")
        rows.extend(leads.order_by(*_ordering(sort))[: limit + 1])
    if len(parts) > 1:
        rows.sort(key=cmp_to_key(_compare(keys)))
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
        .order_by(*_ordering(sort))
        .iterator(chunk_size=2000)
    )


# Spreadsheets run a cell starting with one of these as a formula (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
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


def neutralise_cell(value: Any) -> str:
    """The cell as text a spreadsheet shows and never evaluates: formulas get a leading '."""
    if value is None:
        return ""
    text = value.isoformat() if isinstance(value, dt.datetime) else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


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
        from leadsieve.scoring.services import explain_lead
    except ImportError:
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


def count_qualified_rated_low(user: Any) -> dict[str, int]:
    """Per status (``mql``, ``sql``): the user's open qualified leads that the conversion
    model rates under ``LOW_RATING``. Many of them means the scorecard's rules qualify leads
    the team's history says rarely close: rules that need work."""
    rows = (
        scope_leads_for_user(user)
        .filter(
            outcome=Outcome.OPEN,
            status__in=(Status.MQL, Status.SQL),
            rating_source=RatingSource.MODEL,
            rating__lt=LOW_RATING,
        )
        .values_list("status")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {Status.MQL: 0, Status.SQL: 0, **dict(rows)}
