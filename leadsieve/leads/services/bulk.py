"""Set-based writes for capture and import: explicit ids, one statement per table.

The ORM's ``bulk_create`` builds a model instance per row and cannot hand back ids on every
backend; a one-million-row import cannot afford either. Ids are allocated first (from the
sequence on PostgreSQL, past the highest id on SQLite, where ``BEGIN IMMEDIATE`` already
holds the write lock), so activities, audit rows and merge records can point at leads that
are inserted in the same statement batch.

On PostgreSQL a batch goes through a staging table (``STAGING_MIN_ROWS`` rows or more):
``COPY`` carries only the columns whose values vary from row to row into a temporary table
shaped like the target, then one statement moves them over, ``INSERT ... SELECT`` (or
``UPDATE ... FROM`` for ``update_rows``) with every constant column written once as a
literal. Lookups bind their values as one array (``= ANY(%s)``), whatever their number.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import Any

from django.db import connection, models

from leadsieve.leads.models import IdentityClaim
from leadsieve.leads.services.deferred import active_writer

EXECUTEMANY_BATCH = 5_000
# Values per ``IN`` lookup. Without table statistics SQLite's planner scans the whole table
# instead of probing the index once a list passes ~4,000 values (EXPLAIN QUERY PLAN).
LOOKUP_CHUNK = 900
# Longer constant text is bound as a parameter rather than repeated in the statement.
LITERAL_MAX_CHARS = 300
# PostgreSQL: batches of at least this many rows are copied into a staging table and moved
# with one statement; smaller ones (a single capture) are copied straight into the table.
STAGING_MIN_ROWS = 20
_SEQUENCES: dict[str, str] = {}  # table → its id sequence (PostgreSQL), asked once


def lock_identity_keys(keys: Iterable[str]) -> None:
    """Serialise captures that could create the same lead; call inside the transaction.

    SQLite runs every transaction as ``BEGIN IMMEDIATE`` (see settings), so writers are
    already serialised. On PostgreSQL the capture claims each key: it inserts the keys'
    hashes into ``IdentityClaim`` (sorted, so two captures never wait on each other in
    a circle) and deletes them again at once. Until this transaction ends, a concurrent
    capture inserting one of the same hashes waits on the table's unique index: an
    uncommitted row, even one its own transaction deleted, makes a would-be inserter wait
    for that transaction's end (PostgreSQL's "Index Uniqueness Checks"). Once it commits,
    the waiter goes on, and its reads (a new snapshot per statement, READ COMMITTED) find
    the lead this capture made. Captures with no key in common never wait on each other,
    however many keys they hold. (Advisory locks, one per key, would overflow
    PostgreSQL's shared lock table at a bulk call's thousand keys, and one global lock
    for big batches made every bulk call wait for the one before.) Claiming a key again
    in the same transaction (a bulk call's second group of rows) does not wait.
    """
    if connection.vendor != "postgresql":
        return
    hashes = sorted({_key_hash(key) for key in keys if key})
    if not hashes:
        return
    table = connection.ops.quote_name(IdentityClaim._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (key) SELECT k FROM unnest(%s::bigint[]) AS k ORDER BY k "
            "ON CONFLICT DO NOTHING",
            [hashes],
        )
        cursor.execute(f"DELETE FROM {table} WHERE key = ANY(%s::bigint[])", [hashes])


def _key_hash(key: str) -> int:
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def allocate_ids(model: type[models.Model], count: int) -> list[int]:
    """``count`` fresh primary keys for ``model``; call inside the writing transaction."""
    if count == 0:
        return []
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The sequence named once: ``pg_get_serial_sequence`` per row cost more than
            # ``nextval`` itself (a catalog lookup for each id).
            sequence = _SEQUENCES.get(table)
            if sequence is None:
                cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
                sequence = _SEQUENCES.setdefault(table, cursor.fetchone()[0])
            cursor.execute(
                "SELECT nextval(%s::regclass) FROM generate_series(1, %s)", [sequence, count]
            )
            return [row[0] for row in cursor.fetchall()]
        cursor.execute(f'SELECT COALESCE(MAX(id), 0) FROM "{table}"')
        highest = cursor.fetchone()[0]
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        row = cursor.fetchone()
        start = max(highest, row[0] if row else 0) + 1
    return list(range(start, start + count))


def id_block(model: type[models.Model]) -> Callable[[int], list[int]]:
    """``allocate_ids`` for a count known only later: on SQLite the first free id is read
    now (the transaction holds the write lock, so it stays free), and the ids are handed
    out without a query, which with an import's writer thread would wait for its writes;
    on PostgreSQL the sequence is asked when the count is known."""
    if connection.vendor == "postgresql":
        return partial(allocate_ids, model)
    start = allocate_ids(model, 1)[0]
    return lambda count: list(range(start, start + count))


def fetch_ids(
    model: type[models.Model],
    column: str,
    values: Sequence[Any],
    *,
    where: str = "",
    also: str = "",
    also_params: Sequence[Any] = (),
) -> list[tuple[Any, ...]]:
    """``(value, id)`` of every row whose ``column`` is one of ``values``, oldest first.

    Raw ``IN`` lookups of ``LOOKUP_CHUNK`` values: the ORM's per-value compiling costs three
    times the lookup itself (on PostgreSQL one ``= ANY(%s)`` with all values as one array:
    a thousand placeholders cost the driver more to parse than the lookup). ``where`` adds a
    condition, e.g. a partial index's own condition, which SQLite needs word for word before
    it uses that index. ``also`` is an SQL expression on the row (columns named
    ``table.column``, parameters ``also_params``)
    returned as a third value: ``(value, id, also)``.
    """
    found: list[tuple[Any, ...]] = []
    table = connection.ops.quote_name(model._meta.db_table)
    name = connection.ops.quote_name(column)
    extra = f" AND {where}" if where else ""
    third = f", {also}" if also else ""
    text = json_rows(list(values)) if connection.vendor == "sqlite" and values else None
    if text is not None:
        # One statement for all values, the JSON list as the outer loop probing the index.
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {table}.{name}, {table}.id{third} FROM json_each(%s) AS j "
                f"CROSS JOIN {table} WHERE {table}.{name} = j.value{extra} ORDER BY {table}.id",
                [*also_params, text],
            )
            found.extend(cursor.fetchall())
        return found
    if connection.vendor == "postgresql":
        if not values:
            return found
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {table}.{name}, {table}.id{third} FROM {table} "
                f"WHERE {name} = ANY(%s){extra} ORDER BY id",
                [*also_params, list(values)],
            )
            found.extend(cursor.fetchall())
        return found
    with connection.cursor() as cursor:
        for start in range(0, len(values), LOOKUP_CHUNK):
            chunk = list(values[start : start + LOOKUP_CHUNK])
            cursor.execute(
                f"SELECT {table}.{name}, {table}.id{third} FROM {table} "
                f"WHERE {name} IN ({', '.join(['%s'] * len(chunk))}){extra} ORDER BY id",
                [*also_params, *chunk],
            )
            found.extend(cursor.fetchall())
    return found


def db_datetime(value: datetime | None) -> Any:
    """One aware datetime as the backend stores it."""
    return connection.ops.adapt_datetimefield_value(value)


def db_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str, allow_nan=False)


def insert_rows(
    model: type[models.Model],
    columns: Mapping[str, Sequence[Any]],
    ids: Sequence[int] | None,
    *,
    ignore_conflicts: bool = False,
) -> None:
    """Insert one row per id (the primary key's value); ``columns`` maps attnames to values
    already fit for the DB
    (see ``db_datetime`` / ``db_json``); every other column takes the field's default.
    ``ids=None`` lets the database number the rows (as many as the columns' values);
    ``ignore_conflicts`` skips rows a unique constraint already holds.

    A column with the same value on every row (defaults, the batch's channel, source, time)
    is written once into the statement as a literal: binding a parameter costs about as much
    as a B-tree insert, and a lead has some sixty columns of which an import varies a dozen.
    PostgreSQL takes the rows through ``COPY`` instead (but with ``ignore_conflicts``): of
    the varying columns only, through a staging table (``_copy_through_staging``), once the
    batch has ``STAGING_MIN_ROWS`` rows.
    """
    count = len(ids) if ids is not None else len(next(iter(columns.values())))
    if count == 0:
        return
    names = [str(model._meta.pk.column)] if ids is not None else []
    values: list[Sequence[Any]] = [ids] if ids is not None else []
    placeholders = ["%s"] if ids is not None else []
    every: list[Sequence[Any]] = list(values)  # every column's values, literals included
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        name = field.attname
        if name in columns:
            column = columns[name]
            if len(column) != count:
                raise ValueError(f"{model.__name__}.{name}: {len(column)} values for {count} rows")
        else:
            column = [_default(field)] * count
        every.append(column)
        is_json = isinstance(field, models.JSONField) and connection.vendor == "postgresql"
        cast = "::jsonb" if is_json else ""
        names.append(name)
        literal = _literal(column[0]) if column.count(column[0]) == count else None
        if literal is None:
            values.append(column)
            placeholders.append("%s" + cast)
        else:
            placeholders.append(literal + cast)
    quote = connection.ops.quote_name
    table, listed = quote(model._meta.db_table), ", ".join(quote(n) for n in names)
    if connection.vendor == "postgresql" and not ignore_conflicts:
        if count >= STAGING_MIN_ROWS and len(values) < len(every):
            varying = [n for n, p in zip(names, placeholders, strict=True) if p.startswith("%s")]
            selected = [
                f"s.{quote(n)}" if p.startswith("%s") else p.replace("%%", "%")
                for n, p in zip(names, placeholders, strict=True)
            ]
            _copy_through_staging(
                model,
                varying,
                values,
                f"INSERT INTO {table} ({listed}) SELECT {', '.join(selected)} FROM moved s",
            )
            return
        # COPY, each row encoded by psycopg in C: ``executemany`` sends a statement per
        # row, formatted in Python (most of a 1,000-lead bulk call's CPU on PostgreSQL).
        with (
            connection.cursor() as cursor,
            cursor.cursor.copy(f"COPY {table} ({listed}) FROM STDIN") as copy,
        ):
            for row in zip(*every, strict=True):
                copy.write_row(row)
        return
    into = f"INSERT INTO {table} ({listed})"
    rows = list(zip(*values, strict=True)) if values else [()] * count
    if ids is not None and not ignore_conflicts:
        # SQLite: the rows as one JSON text, inserted by one statement that runs in C with
        # the GIL released (``executemany`` takes the GIL back for every row, and in a
        # busy server the thread holding the write lock waits for it each time). An
        # import's writer thread runs it while the next chunk is prepared.
        text = json_rows(rows)
        if text is not None:
            bound = iter(range(len(values)))
            selected = [p if p != "%s" else f"value ->> {next(bound)}" for p in placeholders]
            statement = f"{into} SELECT {', '.join(selected)} FROM json_each(%s)"
            writer = active_writer()
            if writer is not None:
                writer.submit(statement, text)
                return
            with connection.cursor() as cursor:
                cursor.execute(statement, [text])
            return
    sql = (
        f"{into} VALUES ({', '.join(placeholders)})"
        f"{' ON CONFLICT DO NOTHING' if ignore_conflicts else ''}"
    )
    with connection.cursor() as cursor:
        for start in range(0, len(rows), EXECUTEMANY_BATCH):
            cursor.executemany(sql, rows[start : start + EXECUTEMANY_BATCH])


def _copy_through_staging(
    model: type[models.Model],
    names: Sequence[str],
    columns: Sequence[Sequence[Any]],
    then: str,
    *,
    analyze: bool = False,
) -> None:
    """PostgreSQL: ``COPY`` the ``columns`` (named ``names``, one value per row each) into the
    model's staging table, then run ``then``, a statement reading the rows as ``moved``
    (they leave the staging table in the same statement).

    The staging table is temporary (this connection's), shaped like the model's table with
    no constraint, index or trigger, and emptied at each commit; created on first use. Its
    name carries a digest of the table's columns, so a migration's new shape gets a new one.
    ``analyze``: give the planner the staged rows' count first, for a ``then`` that joins
    them (temporary tables are never analysed on their own: unanalysed, the staged rows
    count as one, and an ``UPDATE ... FROM`` joined them in a nested loop over every lead,
    minutes for an import chunk's merges).
    """
    quote = connection.ops.quote_name
    table = model._meta.db_table
    shape = ",".join(str(f.column) for f in model._meta.concrete_fields)
    staging = quote(f"stage_{table}_{hashlib.blake2b(shape.encode(), digest_size=4).hexdigest()}")
    listed = ", ".join(quote(n) for n in names)
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {staging} ON COMMIT DELETE ROWS AS "
            f"SELECT * FROM {quote(table)} WITH NO DATA"
        )
        with cursor.cursor.copy(f"COPY {staging} ({listed}) FROM STDIN") as copy:
            for row in zip(*columns, strict=True):
                copy.write_row(row)
        if analyze:
            cursor.execute(f"ANALYZE {staging}")
        cursor.execute(f"WITH moved AS (DELETE FROM {staging} RETURNING *) {then}")


def json_rows(rows: Sequence[Any]) -> str | None:
    """The rows as one JSON text for SQLite's ``json_each``, or None when JSON cannot carry
    them exactly (NaN or infinity; NUL in text, which SQLite's JSON functions would cut):
    the caller then binds them row by row."""
    try:
        text = json.dumps(rows, ensure_ascii=False, allow_nan=False, default=_json_default)
    except (TypeError, ValueError):
        return None
    return None if "\\u0000" in text else text


def _json_default(value: Any) -> str:
    if isinstance(value, Decimal):
        return str(value)  # as the driver binds it: text, read as a number by the column
    raise TypeError(f"no JSON for {type(value).__name__}")


def _literal(value: Any) -> str | None:
    """``value`` as an SQL literal both backends read the same way, or None to bind it.

    Only plain types: text is quoted (``'`` doubled, ``%`` doubled for the driver's
    ``%s`` placeholders) and never contains NUL; anything else is bound as a parameter.
    """
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and len(value) <= LITERAL_MAX_CHARS and "\x00" not in value:
        return "'" + value.replace("'", "''").replace("%", "%%") + "'"
    return None


def concrete_field(model: type[models.Model], name: str) -> models.Field[Any, Any]:
    """The concrete field named ``name`` (or with attname ``name``, e.g. ``company_id``)."""
    for field in model._meta.concrete_fields:
        if name in (field.name, field.attname):
            return field
    raise LookupError(f"{model.__name__} has no column {name!r}")


def update_rows(
    model: type[models.Model], fields: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """``UPDATE ... SET fields WHERE id``; each row is (values..., id), already adapted."""
    if not rows:
        return
    quote = connection.ops.quote_name
    assignments = []
    for name in fields:
        field = concrete_field(model, name)
        is_json = isinstance(field, models.JSONField) and connection.vendor == "postgresql"
        assignments.append(f"{quote(str(field.column))} = %s{'::jsonb' if is_json else ''}")
    table = quote(model._meta.db_table)
    writer = active_writer()
    text = json_rows(rows) if writer is not None else None
    if writer is not None and text is not None:
        n = len(fields)
        values = ", ".join(f"value ->> {j} AS c{j}" for j in range(n + 1))
        targets = ", ".join(a.replace("= %s", f"= t.c{j}") for j, a in enumerate(assignments))
        writer.submit(
            f"UPDATE {table} SET {targets} FROM (SELECT {values} FROM json_each(%s)) AS t "
            f"WHERE {table}.id = t.c{n}",
            text,
        )
        return
    if connection.vendor == "postgresql" and len(rows) >= STAGING_MIN_ROWS:
        columns = [str(concrete_field(model, name).column) for name in fields]
        _copy_through_staging(
            model,
            [*columns, "id"],
            list(zip(*rows, strict=True)),
            f"UPDATE {table} SET "
            + ", ".join(f"{quote(c)} = s.{quote(c)}" for c in columns)
            + f" FROM moved s WHERE {table}.id = s.id",
            analyze=True,
        )
        return
    sql = f"UPDATE {table} SET {', '.join(assignments)} WHERE id = %s"
    with connection.cursor() as cursor:
        for start in range(0, len(rows), EXECUTEMANY_BATCH):
            cursor.executemany(sql, list(rows[start : start + EXECUTEMANY_BATCH]))


def _default(field: models.Field[Any, Any]) -> Any:
    value = field.get_default()
    if isinstance(field, models.JSONField):
        return db_json(value)
    if isinstance(value, datetime):
        return db_datetime(value)
    return value


def adapt(field: models.Field[Any, Any], value: Any) -> Any:
    """One Python value as ``insert_rows``/``update_rows`` expect it."""
    if isinstance(field, models.JSONField):
        return db_json(value)
    if isinstance(value, datetime):
        return db_datetime(value)
    return value
