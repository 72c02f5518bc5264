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

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime

import numpy as np
import pandas as pd
from django.db.models import QuerySet

from leadsieve.engine.types import FeatureColumn, FeatureSpec
from leadsieve.leads.models import Activity, FieldDefinition, FieldType, Lead

CHUNK_SIZE = 50_000
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


def list_custom_fields() -> list[tuple[str, str, bool]]:
    """Registered custom attributes: ``(key, type, is_post_contact)``, ordered by key."""
    return list(
        FieldDefinition.objects.order_by("key").values_list("key", "type", "is_post_contact")
    )


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


def _id_chunks(selection: LeadSelection, chunk_size: int) -> Iterator[QuerySet[Lead]]:
    """Querysets of at most ``chunk_size`` leads each, in id order."""
    if isinstance(selection, QuerySet):
        ids = np.fromiter(selection.order_by().values_list("id", flat=True), dtype=np.int64)
    else:
        ids = np.fromiter((int(i) for i in selection), dtype=np.int64)
    ids = np.unique(ids)
    # Parameter lists stay well below SQLite's and PostgreSQL's limits.
    step = min(chunk_size, 30_000)
    for start in range(0, len(ids), step):
        part = ids[start : start + step]
        yield Lead.objects.filter(id__in=part.tolist())


def lead_frame(
    selection: LeadSelection,
    *,
    extra: Sequence[str] = (),
    chunk_size: int = CHUNK_SIZE,
) -> pd.DataFrame:
    """One row per lead with the engine's documented columns (plus ``extra`` Lead fields).

    ``selection`` is a queryset or an iterable of lead ids. ``extra`` names further plain
    Lead fields the caller needs next to the engine columns (the adapter reads the current
    status and rating this way in the same pass); the engine ignores them.
    """
    custom_keys = [key for key, _, _ in list_custom_fields()]
    fields = [*LEAD_COLUMNS, *extra]
    if custom_keys:
        fields.append("custom")
    names = [*LEAD_COLUMNS.values(), *extra, *(["custom"] if custom_keys else [])]
    parts: list[pd.DataFrame] = []
    for chunk in _id_chunks(selection, chunk_size):
        rows = list(chunk.order_by("id").values_list(*fields))
        if rows:
            parts.append(pd.DataFrame.from_records(rows, columns=names))
    if not parts:
        frame = pd.DataFrame({name: pd.Series(dtype=object) for name in names})
    else:
        frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    return _finish_lead_frame(frame, custom_keys)


def _finish_lead_frame(frame: pd.DataFrame, custom_keys: Sequence[str]) -> pd.DataFrame:
    """Types the engine expects: float budget, bools, UTC times, '' for missing text."""
    frame["id"] = frame["id"].astype(np.int64)
    frame["budget"] = pd.to_numeric(frame["budget"], errors="coerce").astype(float)
    frame["company__size"] = pd.to_numeric(frame["company__size"], errors="coerce").astype(float)
    for column in ("consent", "do_not_contact"):
        frame[column] = frame[column].astype(bool)
    for column in TEXT_COLUMNS:
        frame[column] = frame[column].fillna("").astype(object)
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    email = frame.pop("email").fillna("").astype(str)
    domain = email.str.rpartition("@")[2] if len(email) else email
    frame["email_domain"] = domain.str.strip().str.lower().astype(object)
    if custom_keys:
        custom = frame.pop("custom").tolist()
        for key in custom_keys:
            frame[f"custom__{key}"] = [
                value.get(key) if isinstance(value, dict) else None for value in custom
            ]
    return frame


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
    ids = np.unique(np.fromiter((int(i) for i in lead_ids), dtype=np.int64))
    step = min(chunk_size, 30_000)
    parts: list[pd.DataFrame] = []
    for start in range(0, len(ids), step):
        queryset = Activity.objects.filter(lead_id__in=ids[start : start + step].tolist())
        if until is not None:
            queryset = queryset.filter(occurred_at__lte=until)
        rows = list(queryset.order_by().values_list(*ACTIVITY_FIELDS))
        if rows:
            parts.append(pd.DataFrame.from_records(rows, columns=list(ACTIVITY_FIELDS)))
    return _finish_activity_frame(parts)


def activity_frame_between(first_id: int, last_id: int) -> pd.DataFrame:
    """Activities of the leads with ids in ``[first_id, last_id]``: one range scan, no id list.

    Used by whole-table rescoring, where listing a million ids in ``IN (...)`` would be slower
    than the range the lead/time index already serves.
    """
    rows = list(
        Activity.objects.filter(lead_id__gte=first_id, lead_id__lte=last_id)
        .order_by()
        .values_list(*ACTIVITY_FIELDS)
    )
    parts = [pd.DataFrame.from_records(rows, columns=list(ACTIVITY_FIELDS))] if rows else []
    return _finish_activity_frame(parts)


def _finish_activity_frame(parts: list[pd.DataFrame]) -> pd.DataFrame:
    if not parts:
        frame = pd.DataFrame(
            {
                "lead_id": pd.Series(dtype=np.int64),
                "kind": pd.Series(dtype=object),
                "occurred_at": pd.Series(dtype="datetime64[ns, UTC]"),
                "url": pd.Series(dtype=object),
                "subject": pd.Series(dtype=object),
            }
        )
        return frame
    frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    frame["lead_id"] = frame["lead_id"].astype(np.int64)
    frame["occurred_at"] = pd.to_datetime(frame["occurred_at"], utc=True)
    return frame
