"""Fast multi-row INSERT for the batch paths (assignment, deadlines).

``bulk_create`` prepares every value of every row through the field machinery, which
costs more than the database write at 10k rows. The batch services already hold clean
values, so this writes them with one ``executemany``, adapting only datetimes and JSON.
Optional ``ON CONFLICT (…) DO UPDATE`` (SQLite ≥ 3.24 and PostgreSQL) makes it an upsert.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.db import connection, models

BATCH = 2000


def _column(model: type[models.Model], name: str) -> str:
    return str(_concrete(model, name).column)


def _concrete(model: type[models.Model], name: str) -> models.Field[Any, Any]:
    field = model._meta.get_field(name)
    if not isinstance(field, models.Field) or not field.column:
        raise ValueError(f"{model.__name__}.{name} is not a column")
    return field


def insert_rows(
    model: type[models.Model],
    names: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    conflict: Sequence[str] = (),
    update: Sequence[str] = (),
    ignore_conflicts: bool = False,
) -> int:
    """Insert ``rows`` (values in the order of ``names``, field names); rows sent.

    ``conflict`` + ``update``: upsert on that unique key; ``ignore_conflicts``: skip rows
    that break any unique constraint (a repeated tick).
    """
    ops = connection.ops
    fields = [_concrete(model, name) for name in names]
    quote = ops.quote_name
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} "
        f"({', '.join(quote(_column(model, n)) for n in names)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))})"
    )
    if conflict:
        columns = ", ".join(quote(_column(model, n)) for n in conflict)
        sets = ", ".join(
            f"{quote(c)} = EXCLUDED.{quote(c)}" for c in (_column(model, n) for n in update)
        )
        sql += f" ON CONFLICT ({columns}) DO UPDATE SET {sets}"
    elif ignore_conflicts:
        sql += " ON CONFLICT DO NOTHING"
    kinds = [f.get_internal_type() for f in fields]
    times = [i for i, kind in enumerate(kinds) if kind == "DateTimeField"]
    jsons = [i for i, kind in enumerate(kinds) if kind == "JSONField"]
    adapted: dict[datetime, Any] = {}
    batch: list[list[Any]] = []
    n_rows = 0
    with connection.cursor() as cursor:
        for row in rows:
            values = list(row)
            for i in times:
                value = values[i]
                if value is not None:
                    if value not in adapted:
                        adapted[value] = ops.adapt_datetimefield_value(value)
                    values[i] = adapted[value]
            for i in jsons:
                values[i] = fields[i].get_db_prep_save(values[i], connection)
            batch.append(values)
            if len(batch) >= BATCH:
                cursor.executemany(sql, batch)
                n_rows += len(batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)
            n_rows += len(batch)
    return n_rows
