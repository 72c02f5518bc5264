"""Reads for the API: token lookup and the scoped, cursor-paginated lead list.

Scope comes from ``leadsieve.leads.queries.scope_leads_for_user``, the one access rule
the UI uses too: an API token sees exactly what its user sees on the lead list.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.db import connection
from django.db.models import Field, Model, Q
from django.db.models.expressions import Col
from django.http import Http404

from leadsieve.accounts.models import Team, User
from leadsieve.api.models import ApiToken
from leadsieve.api.schemas import LeadListFilters, LeadOut
from leadsieve.leads.models import Lead
from leadsieve.leads.queries import after_cursor, encode_cursor, scope_leads_for_user

TOKEN_PREFIX = "ls_"  # noqa: S105 - a public marker, not a secret
# The API walks leads oldest first: new leads only ever append, so a client misses none.
API_SORT = "created"
# Plain ascending order on two NOT NULL columns (no NULLS LAST, unlike the workspace's sorts):
# the planners then walk the created_at index (whose entries end with the row id on SQLite)
# and stop after a page, instead of sorting every lead in scope.
API_ORDER = ("created_at", "id")
# The columns a lead is answered with: read as plain rows (``values()``), which the response
# schema validates in pydantic's core, several times faster than from model instances; and
# with no join, since ``LeadOut`` names related rows by id only.
LEAD_OUT_FIELDS = tuple(LeadOut.model_fields)


@dataclass(frozen=True)
class LeadPage:
    leads: list[dict[str, Any]]  # rows of LEAD_OUT_FIELDS
    next_cursor: str | None


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def split_token(raw: str) -> tuple[str, str] | None:
    """``ls_<prefix>_<secret>`` → (prefix, secret), or None when it cannot be one of ours
    (ours are short printable ASCII: a NUL would reach PostgreSQL and fail the query).
    """
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    if not (raw.isascii() and raw.isprintable()):
        return None
    prefix, _, secret = raw.removeprefix(TOKEN_PREFIX).partition("_")
    if not prefix or not secret:
        return None
    return prefix, secret


def get_active_token(raw: str) -> ApiToken | None:
    """The unrevoked token ``raw`` stands for, with an active user (and the user's team
    loaded); compared in constant time.

    Read on every API request, so read fresh every time: a token revoked, a user
    deactivated or moved to another team a moment ago is seen by the next request, in
    every server process. What is kept per process is only the statement
    (``_token_statement``): one plain, indexed ``SELECT`` of the token, its user and the
    user's team, whose rows become model instances (``Model.from_db``, with the backend's
    converters) without the ORM compiling a query per request (that compilation was most
    of the lookup's cost: 1.0 ms of CPU per request, against ~0.15 ms now).
    """
    parts = split_token(raw)
    if parts is None:
        return None
    token = _read_token(parts[0])
    if token is None or not hmac.compare_digest(token.secret_hash, hash_token(raw)):
        return None
    if not token.is_active() or not token.user.is_active:
        return None
    return token


_TOKEN_MODELS: tuple[type[Model], ...] = (ApiToken, User, Team)


@cache
def _token_statement() -> tuple[str, tuple[tuple[type[Model], tuple[Field[Any, Any], ...]], ...]]:
    """``SELECT`` token, user, team ``WHERE`` prefix, and each model's fields in its order."""
    quote = connection.ops.quote_name
    parts: list[tuple[type[Model], tuple[Field[Any, Any], ...]]] = []
    columns: list[str] = []
    for alias, model in zip(("t", "u", "m"), _TOKEN_MODELS, strict=True):
        fields = tuple(model._meta.concrete_fields)
        parts.append((model, fields))
        columns += [f"{alias}.{quote(field.column or field.attname)}" for field in fields]
    token, user, team = (quote(model._meta.db_table) for model in _TOKEN_MODELS)
    sql = (
        f"SELECT {', '.join(columns)} FROM {token} t "
        f"JOIN {user} u ON u.{quote('id')} = t.{quote('user_id')} "
        f"LEFT JOIN {team} m ON m.{quote('id')} = u.{quote('team_id')} "
        f"WHERE t.{quote('prefix')} = %s"
    )
    return sql, tuple(parts)


Converter = Callable[[Any, Any, Any], Any]


def _converters(field: Field[Any, Any]) -> tuple[Col, list[Converter]]:
    """What the ORM's compiler applies to a column of ``field`` read from this backend."""
    col = field.get_col(field.model._meta.db_table)
    return col, connection.ops.get_db_converters(col) + field.get_db_converters(connection)


def _read_token(prefix: str) -> ApiToken | None:
    """The token with ``prefix``, its user and the user's team, in one statement."""
    sql, parts = _token_statement()
    with connection.cursor() as cursor:
        cursor.execute(sql, [prefix])
        row = cursor.fetchone()
    if row is None:
        return None
    instances: list[Model | None] = []
    start = 0
    for model, fields in parts:
        values = list(row[start : start + len(fields)])
        start += len(fields)
        if values[0] is None:  # the LEFT JOIN found no team
            instances.append(None)
            continue
        for index, field in enumerate(fields):
            if values[index] is not None:
                col, converters = _converters(field)
                for converter in converters:
                    values[index] = converter(values[index], col, connection)
        names = [field.attname for field in fields]
        instances.append(model.from_db(connection.alias, names, values))
    token, user, team = instances
    assert isinstance(token, ApiToken) and isinstance(user, User)  # the JOIN guarantees both
    User._meta.get_field("team").set_cached_value(user, team)
    ApiToken._meta.get_field("user").set_cached_value(token, user)
    return token


def list_leads_for_api(user: Any, filters: LeadListFilters) -> LeadPage:
    """One page of the user's leads, oldest first by (created_at, id): a stable order in
    which new leads only ever append, so a client walking the cursor misses none.
    """
    leads = scope_leads_for_user(user)
    exact = {
        "status": filters.status,
        "owner_id": filters.owner,
        "source_id": filters.source,
        "campaign_id": filters.campaign,
    }
    leads = leads.filter(**{k: v for k, v in exact.items() if v is not None})
    ranges = {
        "created_at__gte": filters.created_after,
        "created_at__lt": filters.created_before,
        "updated_at__gte": filters.updated_after,
    }
    leads = leads.filter(**{k: v for k, v in ranges.items() if v is not None})
    if filters.email:
        email = filters.email.strip()
        leads = leads.filter(Q(email_key=email.lower()) | Q(email__iexact=email))
    if filters.q:
        for word in filters.q.split()[:5]:
            leads = leads.filter(
                Q(first_name__icontains=word)
                | Q(last_name__icontains=word)
                | Q(email__icontains=word)
                | Q(company_name__icontains=word)
            )
    if filters.cursor:
        leads = leads.filter(after_cursor(API_SORT, filters.cursor))
    rows = list(leads.order_by(*API_ORDER).values(*LEAD_OUT_FIELDS)[: filters.limit + 1])
    has_more = len(rows) > filters.limit
    rows = rows[: filters.limit]
    next_cursor = None
    if has_more:
        last = Lead(id=rows[-1]["id"], created_at=rows[-1]["created_at"])  # the keyset's columns
        next_cursor = encode_cursor(API_SORT, last)
    return LeadPage(leads=rows, next_cursor=next_cursor)


def get_lead_row_for_api(user: Any, lead_id: int) -> dict[str, Any]:
    """The lead as ``LEAD_OUT_FIELDS``, or ``Http404`` when missing or out of scope."""
    leads = scope_leads_for_user(user).filter(pk=lead_id).values(*LEAD_OUT_FIELDS)
    row: dict[str, Any] | None = next(iter(leads[:1]), None)  # no ORDER BY for one id
    if row is None:
        raise Http404("No such lead.")
    return row
