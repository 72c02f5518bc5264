"""Lead and activity rows → pandas frames shaped as the engine documents them.

Everything is read with ``values_list`` in chunks: no ``Lead`` object is ever built, so a
million leads cost a few seconds of database reading, not minutes of ORM instantiation.
Company fields come by join; the ``custom`` JSON is expanded to ``custom__<key>`` columns for
the keys registered in ``leads.FieldDefinition`` (unregistered keys are ignored: the team has
not said what they mean).

``feature_spec()`` says which of those columns the conversion model may learn from. Fields a
person fills in after contact (status, outcome, stage, owner, rating, ...) are never read here
at all, and registry fields marked ``is_post_contact`` are flagged so the engine drops them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
from django.db import connections
from django.db.models import FloatField, Model, Q, QuerySet, TextField
from django.db.models.functions import Cast

from leadsieve.engine.types import FeatureColumn, FeatureSpec
from leadsieve.leads.models import Activity, FieldDefinition, FieldType, Lead

CHUNK_SIZE = 50_000
MAX_IDS_PER_QUERY = 20_000
# Up to this many ids, the compiled SQL of a read is kept per process (keyed by the number of
# ids): scoring one lead on an event then spends no time in Django's query compiler.
CACHED_SQL_MAX_IDS = 16
# Lead fields read for the engine, with the frame column each becomes.
LEAD_COLUMNS: dict[str, str] = {
    "id": "id",
    "job_title": "job_title",
    "country": "country",
    "need": "need",
    "budget": "budget",
    "timeline": "timeline",
    "decision_role": "decision_role",
    "consent": "consent",
    "do_not_contact": "do_not_contact",
    "email": "email",
    "source__name": "source",
    "campaign__name": "campaign",
    "created_at": "created_at",
    "company__industry": "company__industry",
    "company__size": "company__size",
    "company__country": "company__country",
    "company__revenue_band": "company__revenue_band",
}
TEXT_COLUMNS: tuple[str, ...] = (
    "job_title",
    "country",
    "need",
    "timeline",
    "decision_role",
    "source",
    "campaign",
    "company__industry",
    "company__country",
    "company__revenue_band",
)
# What the conversion model may learn from, known at first contact.
# ``need`` is free text (no stable levels) and ``do_not_contact`` is usually set after a
# conversation went badly: it would leak the outcome, so it is marked post-contact.
BUILTIN_FEATURES: tuple[FeatureColumn, ...] = (
    FeatureColumn("job_title", "categorical"),
    FeatureColumn("country", "categorical"),
    FeatureColumn("budget", "numeric"),
    FeatureColumn("timeline", "categorical"),
    FeatureColumn("decision_role", "categorical"),
    FeatureColumn("consent", "bool"),
    FeatureColumn("do_not_contact", "bool", post_contact=True),
    FeatureColumn("email_domain", "categorical"),
    FeatureColumn("source", "categorical"),
    FeatureColumn("campaign", "categorical"),
    FeatureColumn("company__industry", "categorical"),
    FeatureColumn("company__size", "numeric"),
    FeatureColumn("company__country", "categorical"),
    FeatureColumn("company__revenue_band", "categorical"),
)
FIELD_KINDS: dict[str, str] = {
    FieldType.TEXT: "categorical",
    FieldType.CHOICE: "categorical",
    FieldType.NUMBER: "numeric",
    FieldType.BOOLEAN: "bool",
}
ACTIVITY_FIELDS: tuple[str, ...] = ("lead_id", "kind", "occurred_at", "url", "subject")

LeadSelection = QuerySet[Lead] | Iterable[int]


_SQL_CACHE: dict[tuple[object, ...], str] = {}


def _cached_rows(
    key: tuple[object, ...],
    build: Callable[[], QuerySet[Any]],
    expressions: Sequence[str | Cast],
    params: Sequence[Any],  # Any: values the database driver adapts
) -> list[tuple[Any, ...]]:
    """Rows of ``build().values_list(*expressions)``, compiling its SQL once per ``key``.

    ``params`` are the query's parameters as the caller computes them; the SQL is cached only
    when they equal what Django compiled, so a reused statement can never bind other values.
    """
    alias = "default"
    bound: list[Any] = list(params)  # Any: values the database driver adapts
    sql = _SQL_CACHE.get(key)
    if sql is None:
        queryset = build()
        alias = queryset.db
        query = queryset.values_list(*expressions).query
        sql, compiled = query.get_compiler(alias).as_sql()
        if list(compiled) == bound:
            _SQL_CACHE[key] = sql
        else:
            bound = list(compiled)
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, bound)
        rows: list[tuple[Any, ...]] = cursor.fetchall()
    return rows


def list_custom_fields() -> list[tuple[str, str, bool]]:
    """Registered custom attributes: ``(key, type, is_post_contact)``, ordered by key."""
    rows = _cached_rows(
        (connections["default"].vendor, "custom_fields"),
        lambda: FieldDefinition.objects.order_by("key"),
        ("key", "type", "is_post_contact"),
        (),
    )
    return [(key, kind, bool(post)) for key, kind, post in rows]


def feature_spec() -> FeatureSpec:
    """The columns the conversion model may see, from the built-ins and the field registry.

    Date fields are left out (no kind in the engine for them); post-contact registry fields
    are listed with ``post_contact=True`` so leakage reports can name them, and the engine's
    ``FeatureSpec.usable`` drops them.
    """
    columns = list(BUILTIN_FEATURES)
    for key, field_type, is_post_contact in list_custom_fields():
        kind = FIELD_KINDS.get(field_type)
        if kind is not None:
            columns.append(FeatureColumn(f"custom__{key}", kind, post_contact=is_post_contact))
    return FeatureSpec(columns=tuple(columns))


def _id_chunks(ids: Iterable[int], chunk_size: int) -> Iterator[QuerySet[Lead]]:
    """Querysets of at most ``chunk_size`` leads each (parameter lists stay well below
    SQLite's and PostgreSQL's limits)."""
    unique = np.unique(np.fromiter((int(i) for i in ids), dtype=np.int64))
    step = min(chunk_size, MAX_IDS_PER_QUERY)
    for start in range(0, len(unique), step):
        yield Lead.objects.filter(_among("id", unique[start : start + step]))


# Ids in at most this many runs of consecutive ids are read as ranges, not an IN list.
MAX_ID_RANGES = 8


def _among(field: str, ids: np.ndarray) -> Q:
    """``field`` is one of ``ids`` (sorted, distinct). A bulk capture's new leads have
    consecutive ids: a few ranges cost less to compile, bind and look up than an ``IN``
    list of a thousand values (the same rows, from the same index)."""
    breaks = np.flatnonzero(np.diff(ids) != 1)
    if not len(ids) or len(breaks) >= MAX_ID_RANGES or 2 * (len(breaks) + 1) >= len(ids):
        return Q(**{f"{field}__in": ids.tolist()})
    firsts = np.r_[ids[0], ids[breaks + 1]].tolist()
    lasts = np.r_[ids[breaks], ids[-1]].tolist()
    condition = Q()
    for first, last in zip(firsts, lasts, strict=True):
        condition |= Q(**{f"{field}__gte": first, f"{field}__lte": last})
    return condition


def _read_expressions(fields: Sequence[str], model: type[Model]) -> tuple[str | Cast, ...]:
    """Fields as read: times as ISO text and decimals as floats, so no per-row Python
    converter runs (pandas parses whole columns at once). Cached: Django copies expressions
    when it resolves them, so one tuple serves every query."""
    return _cached_expressions(tuple(fields), model)


@lru_cache(maxsize=64)
def _cached_expressions(fields: tuple[str, ...], model: type[Model]) -> tuple[str | Cast, ...]:
    expressions: list[str | Cast] = []
    for name in fields:
        if "__" in name:
            expressions.append(name)
            continue
        kind = model._meta.get_field(name.removesuffix("_id")).get_internal_type()
        if kind == "DateTimeField":
            expressions.append(Cast(name, TextField()))
        elif kind == "DecimalField":
            expressions.append(Cast(name, FloatField()))
        else:
            expressions.append(name)
    return tuple(expressions)


Columns = dict[str, Any]  # Any: numpy arrays or pandas arrays, one per frame column


def _columns(rows: list[tuple[object, ...]], names: Sequence[str]) -> Columns:
    """Rows → one object array per column (one C-level copy, no Python transposition)."""
    table = np.empty((len(rows), len(names)), dtype=object)
    if rows:
        table[:] = rows
    return {name: table[:, j] for j, name in enumerate(names)}


def _frame(columns: Columns) -> pd.DataFrame:
    """The frame, built once; object columns stay object.

    Object dtype on purpose: inferring pandas' Arrow-backed strings costs about a
    microsecond per value, more than scoring it; the engine factorises object columns fast.
    """
    return pd.DataFrame(
        {
            name: pd.Series(values, dtype=object, copy=False)
            if isinstance(values, np.ndarray) and values.dtype == object
            else values
            for name, values in columns.items()
        },
        copy=False,
    )


def _floats(values: np.ndarray) -> np.ndarray:
    """Numbers or None → float array with NaN."""
    out = np.full(len(values), np.nan)
    present = ~pd.isna(values)
    out[present] = values[present].astype(float)
    return out


def _texts(values: np.ndarray) -> np.ndarray:
    """Text or None → text with '' for missing (in place: the array is ours)."""
    values[pd.isna(values)] = ""
    return values


def _raw_rows(queryset: QuerySet[Any], expressions: Sequence[str | Cast]) -> list[tuple[Any, ...]]:
    """The rows of ``queryset.values_list(*expressions)`` straight from the database cursor.

    Skips Django's per-row converters (booleans, JSON): the frame builders convert whole
    columns at once instead. Times and decimals are already cast to text and float in SQL.
    """
    query = queryset.values_list(*expressions).query
    sql, params = query.get_compiler(queryset.db).as_sql()
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(sql, params)
        rows: list[tuple[Any, ...]] = cursor.fetchall()
    return rows


SMALL_PARSE = 64


def _utc(values: np.ndarray) -> pd.DatetimeIndex:
    """ISO text from either backend ('…+00', '…+00:00' or naive UTC) → UTC timestamps.

    A handful of values (one lead's row and events) are parsed by ``datetime.fromisoformat``:
    pandas' parser costs ~0.2 ms per call whatever the size, a tenth of an event's budget.
    """
    if not len(values):
        return pd.DatetimeIndex([], dtype="datetime64[ns, UTC]")
    if len(values) <= SMALL_PARSE:
        try:
            return pd.DatetimeIndex(
                np.array([_naive_utc(v) for v in values.tolist()], dtype="datetime64[ns]"),
                tz="UTC",
            )
        except (TypeError, ValueError):
            pass  # an unexpected format: pandas' parser below says what is wrong
    return pd.to_datetime(values, utc=True, format="ISO8601")


def _naive_utc(value: str | None) -> np.datetime64:
    if value is None:
        return np.datetime64("NaT")
    stamp = datetime.fromisoformat(value)
    if stamp.tzinfo is not None:
        stamp = stamp.astimezone(UTC).replace(tzinfo=None)
    return np.datetime64(stamp, "ns")


def lead_frame(
    selection: LeadSelection,
    *,
    extra: Sequence[str] = (),
    chunk_size: int = CHUNK_SIZE,
) -> pd.DataFrame:
    """One row per lead with the engine's documented columns (plus ``extra`` Lead fields).

    ``selection`` is a queryset (read as is, in one pass: callers batch large tables by id
    range) or an iterable of lead ids (read in chunks). ``extra`` names further plain Lead
    fields the caller needs next to the engine columns (the adapter reads the current status
    and rating this way in the same pass); the engine ignores them.
    """
    return _frame(lead_columns(selection, extra=extra, chunk_size=chunk_size))


def _fields_to_read(only: Collection[str] | None) -> tuple[list[str], dict[str, str]]:
    """The custom field keys and the Lead fields (with their frame column) that ``only``
    asks for; everything when ``only`` is ``None`` (``id`` is always read)."""
    custom_keys = [key for key, _, _ in list_custom_fields()]
    if only is not None:
        custom_keys = [key for key in custom_keys if f"custom__{key}" in only]
    read = {
        field: name
        for field, name in LEAD_COLUMNS.items()
        if only is None or name in ("id", *only) or (field == "email" and "email_domain" in only)
    }
    return custom_keys, read


def lead_columns(
    selection: LeadSelection,
    *,
    extra: Sequence[str] = (),
    chunk_size: int = CHUNK_SIZE,
    only: Collection[str] | None = None,
) -> Columns:
    """``lead_frame``'s columns as a dict of arrays: what the engine scores without pandas.

    ``only`` names the engine columns the caller needs (``id`` is always read): rescoring
    reads just what the active scorecard and model look at, so unused joins and text columns
    cost nothing.
    """
    custom_keys, read = _fields_to_read(only)
    fields = [*read, *extra, *(["custom"] if custom_keys else [])]
    names = [*read.values(), *extra, *(["custom"] if custom_keys else [])]
    expressions = _read_expressions(fields, Lead)
    rows: list[tuple[object, ...]] = []
    if isinstance(selection, QuerySet):
        rows = _raw_rows(selection.order_by("id"), expressions)
    else:
        ids = np.unique(np.fromiter((int(i) for i in selection), dtype=np.int64)).tolist()
        if 0 < len(ids) <= CACHED_SQL_MAX_IDS:
            key = (connections["default"].vendor, "leads", tuple(fields), len(ids))
            rows = _cached_rows(
                key, lambda: Lead.objects.filter(id__in=ids).order_by("id"), expressions, ids
            )
        else:
            for chunk in _id_chunks(ids, chunk_size):
                rows.extend(_raw_rows(chunk.order_by("id"), expressions))
    columns = _columns(rows, names)
    for name in extra:
        if Lead._meta.get_field(name.removesuffix("_id")).get_internal_type() == "DateTimeField":
            columns[name] = _utc(columns[name])
    return _typed_lead_columns(columns, custom_keys, _nullable_names(read))


@lru_cache(maxsize=64)
def _nullable_names_cached(read: tuple[tuple[str, str], ...]) -> frozenset[str]:
    return frozenset(
        name
        for field, name in read
        if "__" in field or Lead._meta.get_field(field.removesuffix("_id")).null
    )


def _nullable_names(read: dict[str, str]) -> frozenset[str]:
    """Frame columns that may hold NULL: nullable fields and every field read through a join
    (a lead without a company has no industry)."""
    return _nullable_names_cached(tuple(read.items()))


def _typed_lead_columns(
    columns: Columns, custom_keys: Sequence[str], nullable: frozenset[str]
) -> Columns:
    """Types the engine expects: float budget, bools, UTC times, '' for missing text.

    Text columns that cannot be NULL skip the missing-value pass (a scan of every value).
    """
    columns["id"] = columns["id"].astype(np.int64)
    for name in ("budget", "company__size"):
        if name in columns:
            columns[name] = _floats(columns[name])
    for name in ("consent", "do_not_contact"):
        if name in columns:
            columns[name] = columns[name].astype(bool)  # 0/1 on SQLite, bool on PostgreSQL
    for name in TEXT_COLUMNS:
        if name in columns and name in nullable:
            columns[name] = _texts(columns[name])
    if "created_at" in columns:
        columns["created_at"] = _utc(columns["created_at"])
    if "email" in columns:
        columns["email_domain"] = np.asarray(
            [
                e.rpartition("@")[2].strip().lower() if e else ""
                for e in columns.pop("email").tolist()
            ],
            dtype=object,
        )
    if custom_keys:
        custom = [
            json.loads(value) if isinstance(value, str) else value
            for value in columns.pop("custom").tolist()
        ]
        for key in custom_keys:
            columns[f"custom__{key}"] = np.asarray(
                [value.get(key) if isinstance(value, dict) else None for value in custom],
                dtype=object,
            )
    return columns


def activity_frame(
    lead_ids: Iterable[int],
    *,
    until: datetime | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> pd.DataFrame:
    """Every activity of the given leads (optionally up to ``until``), as the engine wants it.

    The engine drops events after each lead's cut-off itself; ``until`` only saves reading
    rows that could never count.
    """
    return _frame(activity_columns(lead_ids, until=until, chunk_size=chunk_size))


def activity_columns(
    lead_ids: Iterable[int],
    *,
    until: datetime | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> Columns:
    """``activity_frame``'s columns as a dict of arrays."""
    ids = np.unique(np.fromiter((int(i) for i in lead_ids), dtype=np.int64))
    expressions = _read_expressions(ACTIVITY_FIELDS, Activity)
    if 0 < len(ids) <= CACHED_SQL_MAX_IDS and until is not None:
        id_list = ids.tolist()
        field = Activity._meta.get_field("occurred_at")
        bound = field.get_db_prep_value(until, connections["default"], prepared=False)
        rows = _cached_rows(
            (connections["default"].vendor, "activities", len(id_list)),
            lambda: Activity.objects.filter(lead_id__in=id_list, occurred_at__lte=until).order_by(),
            expressions,
            [*id_list, bound],
        )
        return _activity_columns(rows)
    step = min(chunk_size, MAX_IDS_PER_QUERY)
    rows = []
    for start in range(0, len(ids), step):
        queryset = Activity.objects.filter(_among("lead_id", ids[start : start + step]))
        if until is not None:
            queryset = queryset.filter(occurred_at__lte=until)
        rows.extend(_raw_rows(queryset.order_by(), expressions))
    return _activity_columns(rows)


def activity_columns_between(first_id: int, last_id: int) -> Columns:
    """The activities of the leads with ids ``first_id`` to ``last_id``, as arrays."""
    rows = _raw_rows(
        Activity.objects.filter(lead_id__gte=first_id, lead_id__lte=last_id).order_by(),
        _read_expressions(ACTIVITY_FIELDS, Activity),
    )
    return _activity_columns(rows)


def _activity_columns(rows: list[tuple[object, ...]]) -> Columns:
    columns = _columns(rows, ACTIVITY_FIELDS)
    columns["lead_id"] = columns["lead_id"].astype(np.int64)
    columns["occurred_at"] = _utc(columns["occurred_at"])
    # ``url`` and ``subject`` are NOT NULL text: no missing-value pass.
    return columns


def arriving_lead_columns(
    leads: Mapping[str, Sequence[Any]],
    *,
    extra: Mapping[str, Any] | None = None,
    only: Collection[str] | None = None,
) -> Columns:
    """``lead_columns`` of leads not inserted yet, from the values they will be inserted
    with: ``leads`` maps Lead attnames (``id``, ``job_title``, ..., ``source_id``,
    ``company_id``, ``created_at``, ``custom`` as JSON text) to one value per lead, as the
    batch writer passes them to the database. ``extra`` maps further Lead fields to the
    value every one of these leads has (their defaults: a new lead's status, rating, ...).

    The same columns, types and missing values as reading the inserted rows back would give:
    source and campaign names and company fields are read by id, in one query each.
    """
    custom_keys, read = _fields_to_read(only)
    count = len(leads["id"])
    columns: Columns = {}
    joined: dict[str, dict[str, str]] = {}  # relation → {frame column: related field}
    for field, name in read.items():
        relation, _, related = field.partition("__")
        if related:
            joined.setdefault(relation, {})[name] = related
        else:
            columns[name] = _object_array(leads[field])
    for relation, wanted in joined.items():
        keys = leads[f"{relation}_id"]
        model = Lead._meta.get_field(relation).related_model
        assert isinstance(model, type)
        found = {
            row[0]: row[1:]
            for row in model._default_manager.filter(pk__in={k for k in keys if k is not None})
            .order_by()
            .values_list("pk", *wanted.values())
        }
        for j, name in enumerate(wanted):
            columns[name] = _object_array([found[k][j] if k in found else None for k in keys])
    if "created_at" in columns:
        columns["created_at"] = _object_array(
            [v if isinstance(v, str) or v is None else v.isoformat() for v in columns["created_at"]]
        )
    if custom_keys:
        columns["custom"] = _object_array(leads["custom"])
    for name, value in (extra or {}).items():
        column = _object_array([value] * count)
        if Lead._meta.get_field(name.removesuffix("_id")).get_internal_type() == "DateTimeField":
            column = _utc(column)
        columns[name] = column
    return _typed_lead_columns(columns, custom_keys, _nullable_names(read))


def arriving_activity_columns(activities: Mapping[str, Sequence[Any]]) -> Columns:
    """``activity_columns`` of activities not inserted yet: ``activities`` maps
    ``ACTIVITY_FIELDS`` to one value per activity (``occurred_at`` as aware datetimes)."""
    columns = {name: _object_array(activities[name]) for name in ACTIVITY_FIELDS}
    columns["lead_id"] = columns["lead_id"].astype(np.int64)
    columns["occurred_at"] = _utc(
        _object_array([None if v is None else v.isoformat() for v in columns["occurred_at"]])
    )
    return columns


def _object_array(values: Sequence[Any]) -> np.ndarray:
    array = np.empty(len(values), dtype=object)
    array[:] = list(values)
    return array
