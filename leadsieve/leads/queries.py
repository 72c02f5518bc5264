"""Scoped reads of leads: who sees which lead, and the keyset order every paged list uses.

Why one module: the access rule (admin: all; manager: the team's leads; rep: their own plus
the team's unassigned ones; merged leads never) lives in ``scope_leads_for_user`` and every
list, detail, export and htmx endpoint starts from it, so a view cannot forget it.
A lead outside the scope is a 404, never a 403: a guessed URL learns nothing.
The workspace's pages (list, board, timeline) read through ``leadsieve.workspace.queries``,
the API's through ``leadsieve.api.queries``; both start from the scope here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core import signing
from django.db.models import Case, Count, F, Q, QuerySet, Value, When
from django.db.models.expressions import OrderBy
from django.http import Http404
from django.utils.dateparse import parse_datetime

from leadsieve.accounts.models import User
from leadsieve.leads.models import (
    LOW_RATING,
    Lead,
    Outcome,
    RatingSource,
    Status,
)

CURSOR_SALT = "leadsieve.leads.cursor"


@dataclass(frozen=True)
class SortKey:
    """One column of a keyset: nullable columns sort their nulls last in both directions.

    A ``partition`` key is a yes/no condition (``PARTITIONS``), not a column: False sorts
    first. No index can lead with it, so a list asks one query per value still ahead
    (``keyset_slices``), each ordered by the keys after it, walking their index.
    """

    field: str
    descending: bool
    nullable: bool = False
    partition: bool = False


# A lead no one works any more (won, lost or disqualified): the default order lists them
# after the workable ones. ``Lead.is_closed`` is the same test in Python.
CLOSED = Q(outcome__in=[Outcome.WON, Outcome.LOST]) | Q(status=Status.DISQUALIFIED)
PARTITIONS: dict[str, Q] = {"is_closed": CLOSED}

# The sort a user picks → the keyset columns; ``id`` last makes every position unique.
SORTS: dict[str, tuple[SortKey, ...]] = {
    "open": (
        SortKey("is_closed", False, partition=True),
        SortKey("rating", True, True),
        SortKey("id", True),
    ),
    "-rating": (SortKey("rating", True, True), SortKey("id", True)),
    "rating": (SortKey("rating", False, True), SortKey("id", False)),
    "-created": (SortKey("created_at", True), SortKey("id", True)),
    "created": (SortKey("created_at", False), SortKey("id", False)),
    "-activity": (SortKey("last_activity_at", True, True), SortKey("id", True)),
    "activity": (SortKey("last_activity_at", False, True), SortKey("id", False)),
    "name": (SortKey("last_name", False), SortKey("first_name", False), SortKey("id", False)),
    "-name": (SortKey("last_name", True), SortKey("first_name", True), SortKey("id", True)),
}
DEFAULT_SORT = "open"
TEXT_SORTS = frozenset({"name", "-name"})


class InvalidCursor(ValueError):
    """The page cursor was tampered with, is from another sort, or is malformed."""


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


# --- Keyset order and cursors ------------------------------------------------------------


def _order_key(key: SortKey) -> OrderBy:
    if key.partition:
        closed = Case(When(PARTITIONS[key.field], then=Value(1)), default=Value(0))
        return closed.asc()
    return (
        F(key.field).desc(nulls_last=True) if key.descending else F(key.field).asc(nulls_last=True)
    )


def _ordering(sort: str) -> list[OrderBy]:
    return [_order_key(key) for key in SORTS[sort]]


@dataclass(frozen=True)
class KeysetSlice:
    """One query of a keyset walk: rows matching ``where``, after ``after`` (or from the
    start when None), in ``order``."""

    where: Q
    order: list[OrderBy]
    after: Q | None


def keyset_slices(sort: str, after: Sequence[Any] | None) -> list[KeysetSlice]:
    """The queries that, run in order, walk ``sort`` from the position ``after``.

    One for a column sort. For a sort led by a partition key (``open``: workable leads,
    then closed ones), one per value still ahead, each ordered by the remaining columns so
    it walks their index and stops after a page; a caller stops once a page is full.
    """
    keys = SORTS[sort]
    if not keys[0].partition:
        following = after_keyset(keys, after) if after is not None else None
        return [KeysetSlice(where=Q(), order=_ordering(sort), after=following)]
    first, rest = keys[0], keys[1:]
    condition = PARTITIONS[first.field]
    slices = []
    for value in (False, True):
        if after is not None and value < bool(after[0]):
            continue
        following = None
        if after is not None and value == bool(after[0]):
            following = after_keyset(rest, after[1:])
        where = condition if value else ~condition
        slices.append(KeysetSlice(where, [_order_key(key) for key in rest], following))
    return slices


def after_keyset(keys: Sequence[SortKey], values: Sequence[Any]) -> Q:
    """Rows strictly after the cursor position in the sort order (nulls last, ids unique).

    A disjunction over the keys: equal on every earlier key and after on this one. A null
    cursor value has nothing after it but other nulls, which the equality terms handle.
    """
    condition = Q(pk__in=[])
    equal = Q()
    for key, value in zip(keys, values, strict=True):
        if key.partition:
            true = PARTITIONS[key.field]
            if not value:
                condition |= equal & true
            equal &= true if value else ~true
        elif value is not None:
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
    return after_keyset(SORTS[sort], decode_cursor(sort, cursor))


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


def compare_for(keys: Sequence[SortKey]) -> Callable[[Lead, Lead], int]:
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


# Spreadsheets run a cell starting with one of these as a formula (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: Any) -> str:
    """The cell as text a spreadsheet shows and never evaluates: formulas get a leading '."""
    if value is None:
        return ""
    text = value.isoformat() if isinstance(value, dt.datetime) else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


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
