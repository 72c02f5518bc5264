"""``insert_rows`` writes set-based (COPY on PostgreSQL, one JSON text on SQLite): every value
must come back exactly as the ORM would have stored it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

pytestmark = pytest.mark.django_db

AWKWARD_TEXT = [
    "plain",
    "tab\there",
    "two\nlines\r\nand more",
    "back\\slash \\N and \\.",
    'it\'s 100% "quoted"',
    "accents: Zoë, Ñandú, 東京, emoji 🎉",
    "",
    "%s %(name)s {0}",
]


def _orm_and_bulk(
    values: list[dict[str, Any]],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The rows as ``Lead.objects.create`` stores them, and as ``insert_rows`` does."""
    from django.db import connection

    from leadsieve.leads.models import Lead
    from leadsieve.leads.services.bulk import (
        allocate_ids,
        concrete_field,
        db_datetime,
        db_json,
        insert_rows,
    )

    created = [Lead.objects.create(**row).pk for row in values]
    ids = allocate_ids(Lead, len(values))

    def adapt(field: Any, value: Any) -> Any:  # as capture hands values to insert_rows
        kind = field.get_internal_type()
        if kind == "JSONField":
            return db_json(value)
        if kind == "DateTimeField":
            return db_datetime(value)
        return field.get_db_prep_save(value, connection)

    columns = {
        name: [adapt(concrete_field(Lead, name), row[name]) for row in values] for name in values[0]
    }
    insert_rows(Lead, columns, ids)
    skip = {"id", "created_at", "updated_at"}

    def read(pks: list[int]) -> list[dict[str, Any]]:
        rows = Lead.objects.filter(pk__in=pks).order_by("pk").values()
        return [{k: v for k, v in row.items() if k not in skip} for row in rows]

    return read(created), read(ids)


def test_bulk_inserted_text_reads_back_exactly_as_the_orm_stores_it() -> None:
    rows = [
        {
            "first_name": text,
            "need": text + "\n" + text,
            "email": f"t{i}@example.org",
            "email_key": f"t{i}@example.org",
            "custom": {"note": text, "n": i, "yes": True, "nested": ["a", text]},
        }
        for i, text in enumerate(AWKWARD_TEXT)
    ]
    orm, bulk = _orm_and_bulk(rows)
    for row in orm + bulk:
        row.pop("email"), row.pop("email_key")
    assert bulk == orm


def test_bulk_inserted_numbers_times_and_flags_read_back_as_the_orm_stores_them() -> None:
    moment = dt.datetime(2026, 3, 2, 9, 30, 15, 123456, tzinfo=dt.UTC)
    rows = [
        {
            "email": f"n{i}@example.org",
            "budget": budget,
            "expected_value": Decimal("0.01") if i else None,
            "consent": bool(i % 2),
            "consent_at": moment if i % 2 else None,
            "last_activity_at": moment - dt.timedelta(days=i),
            "do_not_contact": False,
        }
        for i, budget in enumerate([Decimal("1500.50"), None, Decimal("999999999999.99")])
    ]
    orm, bulk = _orm_and_bulk(rows)
    for row in orm + bulk:
        row.pop("email")
    assert bulk == orm
