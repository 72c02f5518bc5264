"""Reads of the rep's pages: the lead list and its export, the lead page's timeline and
score "why", the pipeline board (Today lives in ``worklist``).

Every read starts from ``leads.queries.scope_leads_for_user`` (or its parts), so a page
cannot widen who sees what; the filters come from ``segments.filters``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import cmp_to_key
from typing import Any

from django.db import OperationalError, connection, transaction
from django.db.models import Count, DecimalField, ExpressionWrapper, F, Q, QuerySet, Sum

from leadsieve.accounts.models import Team, User
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
from leadsieve.stages.counts import StageTotal, sum_stage_counts
from leadsieve.stages.models import Stage, StageChange

logger = logging.getLogger(__name__)

PAGE_SIZE = 50
TIMELINE_LIMIT = 100
BOARD_CARDS_PER_STAGE = 20
# The list's count: counted exactly within this budget, else estimated (see count_leads_for_user).
COUNT_BUDGET_S = 0.05
SQLITE_PROGRESS_STEPS = 1_000  # SQLite virtual-machine steps between two looks at the clock
SAMPLE_BLOCKS = 12
SAMPLE_BLOCK_SIZE = 1_000


# The list's joins; ``queued``: the routing queue's reason, shown for unowned leads.
LIST_RELATED = ("owner", "company", "source", "campaign", "queued")
# What ``Lead.is_closed`` (the ``open`` sort's partition key) reads, for ``only``.
PARTITION_FIELDS = ("outcome", "status")
# A board column's cards, best rated first (one stage: no open/closed split to walk).
BOARD_SORT = "-rating"
# What a board card shows: rating, name, company, owner (see workspace/_board_cards.html).
CARD_RELATED = ("owner", "company")
CARD_FIELDS = ("first_name", "last_name", "email", "phone", "company_name", "rating", "stage_id")


@dataclass(frozen=True)
class LeadPage:
    leads: list[Lead]
    next_cursor: str | None
    is_first: bool


@dataclass(frozen=True)
class LeadCount:
    n: int
    is_estimate: bool = False


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
    # The keyset cursor of the column's next cards, None when every card is shown.
    next_cursor: str | None = None

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
    related: Sequence[str] = LIST_RELATED,
    only: Sequence[str] | None = None,
) -> LeadPage:
    """One page of the user's leads: keyset pagination (no OFFSET), a fixed number of queries.

    ``after`` is what ``decode_cursor`` returned for the previous page's ``next_cursor``.
    Names sort in the database's collation, which Python cannot copy: they use one query.
    ``related`` are joined in; ``only``, when given, the lead's fields to load (the board's
    cards need a few of its sixty).
    """
    keys = SORTS[sort]
    parts = [scope_leads_for_user(user)] if sort in TEXT_SORTS else scope_parts_for_user(user)
    rows: list[Lead] = []
    n_queries = 0
    key_fields = [f for key in keys for f in (PARTITION_FIELDS if key.partition else (key.field,))]
    for part_of_order in keyset_slices(sort, after):
        for part in parts:
            leads = filter_leads(part, filters, user).filter(part_of_order.where)
            if part_of_order.after is not None:
                leads = leads.filter(part_of_order.after)
            # ``queued`` (in LIST_RELATED): the routing queue's reason, shown for unowned leads.
            leads = leads.select_related(*related)
            if only is not None:
                leads = leads.only(*only, *key_fields, *related)
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


def count_leads_for_user(
    user: Any, filters: LeadFilters, *, budget_s: float = COUNT_BUDGET_S
) -> LeadCount:
    """How many leads match: exact when that is cheap, else an estimate (``is_estimate``).

    1. Filters the kept counts can answer (scope, team, owner, stage, disqualified or not)
       are summed from them: exact, a few rows read.
    2. Otherwise the database counts, stopped after ``budget_s``: exact when it finishes.
    3. Past the budget, an estimate: PostgreSQL's planner's row estimate for the filtered
       query; on SQLite the share of matching leads among evenly spread samples of the scope
       (ranges of ids) times the scope's kept count.
    """
    where = counted_condition(user, filters)
    if where is not None:
        totals = sum_stage_counts(where, include_disqualified=True)
        return LeadCount(n=sum(total.n for total in totals.values()))
    leads = filter_leads(scope_leads_for_user(user), filters, user).order_by()
    n = _count_within(leads, budget_s)
    if n is not None:
        return LeadCount(n=n)
    if connection.vendor == "postgresql":
        estimate = _planner_estimate(leads)
    else:
        estimate = _sampled_estimate(user, leads)
    return LeadCount(n=_round_estimate(estimate), is_estimate=True)


def _count_within(leads: QuerySet[Lead], budget_s: float) -> int | None:
    """``leads.count()``, or None when the database needs longer than ``budget_s`` (or it is 0)."""
    if budget_s <= 0:
        return None
    if connection.vendor == "postgresql":
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT current_setting('statement_timeout')")
                previous = cursor.fetchone()[0]
                cursor.execute("SET LOCAL statement_timeout = %s", [max(int(budget_s * 1000), 1)])
                n = leads.count()
                # SET LOCAL outlives a released savepoint: put the caller's timeout back.
                cursor.execute("SELECT set_config('statement_timeout', %s, true)", [previous])
                return n
        except OperationalError:  # canceled by the timeout
            return None
    connection.ensure_connection()
    raw = connection.connection
    deadline = time.perf_counter() + budget_s
    raw.set_progress_handler(lambda: time.perf_counter() > deadline, SQLITE_PROGRESS_STEPS)
    try:
        return leads.count()
    except OperationalError:  # interrupted: a read rolls nothing back
        return None
    finally:
        raw.set_progress_handler(None, 0)


def _planner_estimate(leads: QuerySet[Lead]) -> int:
    plan = json.loads(leads.only("pk").explain(format="json"))
    return int(plan[0]["Plan"]["Plan Rows"])


def _sampled_estimate(user: Any, leads: QuerySet[Lead]) -> int:
    """The matching share of ``SAMPLE_BLOCKS`` id ranges spread over the table, times the
    scope's kept count: each range is a primary-key walk of ``SAMPLE_BLOCK_SIZE`` ids."""
    # Two queries: SQLite answers MIN or MAX alone from the primary key, both together by a scan.
    low = Lead.objects.order_by("id").values_list("id", flat=True).first()
    high = Lead.objects.order_by("-id").values_list("id", flat=True).first()
    if low is None or high is None:
        return 0
    step = max((high - low + 1) // SAMPLE_BLOCKS, 1)
    size = min(SAMPLE_BLOCK_SIZE, step)  # ranges never overlap: a small table is read whole
    in_scope = matched = 0
    scope = scope_leads_for_user(user).order_by()
    # One query per range: SQLite walks the primary key for a range, not for an OR of them.
    for start in range(low, high + 1, step):
        block = Q(id__gte=start, id__lt=start + size)
        in_scope += scope.filter(block).count()
        matched += leads.filter(block).count()
    if not in_scope:
        return 0
    scope_where = counted_condition(user, LeadFilters())
    assert scope_where is not None  # no filter: the kept counts always answer
    scope_total = sum(
        t.n for t in sum_stage_counts(scope_where, include_disqualified=True).values()
    )
    return round(scope_total * matched / in_scope)


def _round_estimate(n: int) -> int:
    """Two significant figures (412,345 → 410,000): an estimate should not look exact."""
    if n < 100:
        return n
    digits = len(str(n)) - 2
    return round(n, -digits)


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
    """Activities, stage moves and edits, newest first: three queries whatever the length,
    and one each for the names of the owners and teams the edits name."""
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
    changes = list(
        LeadChange.objects.filter(lead=lead).exclude(action="stage").select_related("user")[:limit]
    )
    names = _names_of_changed_ids(changes)
    for change in changes:
        detail = change.describe(names)
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


def _names_of_changed_ids(changes: list[LeadChange]) -> dict[str, dict[Any, str]]:
    """The names behind the owner and team ids the changes hold ("owner: – → Bob", not
    "owner: – → 3"): a query for each of the two, only when a change names one."""
    ids: dict[str, set[Any]] = {"owner": set(), "team": set()}
    for change in changes:
        for name, found in ids.items():
            pair = change.changes.get(name)
            if isinstance(pair, list):
                found.update(value for value in pair if isinstance(value, int))
    names: dict[str, dict[Any, str]] = {}
    if ids["owner"]:
        names["owner"] = {
            user.pk: str(user)  # the name a person is shown by (User.__str__)
            for user in User.objects.filter(pk__in=ids["owner"])
        }
    if ids["team"]:
        names["team"] = dict(Team.objects.filter(pk__in=ids["team"]).values_list("pk", "name"))
    return names


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


def counted_condition(user: Any, filters: LeadFilters) -> Q | None:
    """``filters`` over ``user``'s scope as a condition on the kept counts (``StageCount``), or
    None when they ask for more than team, owner, stage and disqualified-or-not (a segment, a
    search, a rating range...): those are counted from the leads.

    Mirrors ``scope_leads_for_user``; the tests compare both per role.
    """
    status_ok = filters.status in ("", NOT_DISQUALIFIED, Status.DISQUALIFIED)
    rest = replace(filters, status="", owner="", team_id=None, stage_id=None)
    if not status_ok or rest != LeadFilters():
        return None
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Q(pk__in=[])
    if user.is_admin_role():
        where = Q()
    elif user.team_id is None:
        where = Q(owner_id=user.pk)
    elif user.is_manager_role():
        where = Q(team_id=user.team_id)
    else:
        where = Q(owner_id=user.pk) | Q(team_id=user.team_id, owner_id__isnull=True)
    if filters.status == Status.DISQUALIFIED:
        where &= Q(is_disqualified=True)
    elif filters.status == NOT_DISQUALIFIED:
        where &= Q(is_disqualified=False)
    if filters.team_id is not None:
        where &= Q(team_id=filters.team_id)
    if filters.stage_id is not None:
        where &= Q(stage_id=filters.stage_id)
    if filters.owner == "me":
        where &= Q(owner_id=user.pk)
    elif filters.owner == "none":
        where &= Q(owner_id__isnull=True)
    elif filters.owner:
        where &= Q(owner_id=int(filters.owner))
    return where


def _counted_board_totals(user: Any, filters: LeadFilters) -> dict[int | None, StageTotal] | None:
    where = counted_condition(user, filters)
    if where is None:
        return None
    return sum_stage_counts(where, include_disqualified=True)


def _grouped_board_totals(user: Any, filters: LeadFilters) -> dict[int | None, StageTotal]:
    """Totals per stage read from the leads: one grouped query per scope part (a segment)."""
    weighted = ExpressionWrapper(
        F("expected_value") * F("rating"),
        output_field=DecimalField(max_digits=20, decimal_places=2),
    )
    totals: dict[int | None, StageTotal] = {}
    for part in scope_parts_for_user(user):
        rows = (
            filter_leads(part, filters, user)
            .values("stage_id")
            .annotate(n=Count("id"), value=Sum("expected_value"), weighted=Sum(weighted))
            .order_by()
        )
        for row in rows:
            total = totals.get(row["stage_id"], StageTotal())
            totals[row["stage_id"]] = StageTotal(
                n=total.n + row["n"],
                value=total.value + Decimal(str(row["value"] or 0)),
                weighted=total.weighted + Decimal(str(row["weighted"] or 0)),
            )
    return totals


def list_board_for_user(
    user: Any, filters: LeadFilters | None = None, *, limit: int = BOARD_CARDS_PER_STAGE
) -> list[BoardColumn]:
    """The pipeline board: one column per active stage, disqualified leads left out.

    Counts and values come from the kept counts (``stages.counts``: a few rows whatever the
    number of leads); a segment, which they cannot answer, groups the leads instead. Each
    column then reads its first ``limit`` cards (best rated first) through the list's keyset
    query, which stops early; ``list_board_column`` reads the next ones.
    """
    filters = board_filters(filters or LeadFilters())
    stages = list(Stage.objects.filter(is_active=True))
    if not stages:
        return []
    totals = _counted_board_totals(user, filters)
    if totals is None:
        totals = _grouped_board_totals(user, filters)
    columns = []
    for stage in stages:
        total = totals.get(stage.pk, StageTotal())
        page = list_leads_for_user(
            user,
            replace(filters, stage_id=stage.pk),
            sort=BOARD_SORT,
            limit=limit,
            related=CARD_RELATED,
            only=CARD_FIELDS,
        )
        columns.append(
            BoardColumn(
                stage=stage,
                n_leads=total.n,
                total_value=total.value.quantize(Decimal("1")),
                weighted_value=(total.weighted / 100).quantize(Decimal("1")),
                leads=page.leads,
                next_cursor=page.next_cursor,
            )
        )
    return columns


def list_board_column(
    user: Any,
    filters: LeadFilters,
    stage: Stage,
    *,
    after: Sequence[Any] | None,
    limit: int = BOARD_CARDS_PER_STAGE,
) -> LeadPage:
    """The next cards of one column ("show more"): the keyset page after ``after``."""
    return list_leads_for_user(
        user,
        replace(board_filters(filters), stage_id=stage.pk),
        sort=BOARD_SORT,
        after=after,
        limit=limit,
        related=CARD_RELATED,
        only=CARD_FIELDS,
    )
