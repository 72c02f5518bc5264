"""The board's kept counts (``StageCount``): the triggers that keep them, their upkeep, reads.

The lead table's triggers add a delta row per change in the writer's transaction (see
``StageCount``). Two upkeep steps: ``compact_stage_counts`` (the tick) folds the deltas into
one row per key so reads stay a handful of rows; ``recount_stage_counts`` (the
``recount-stages`` command, and after migrations that rebuild the lead table on SQLite)
recomputes every row from the leads.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection as default_connection
from django.db import transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Q, Sum

from leadsieve.stages.models import StageCount

COUNT_TABLE = "stages_stagecount"
COUNT_COLUMNS = "team_id, owner_id, stage_id, is_disqualified, n, value, weighted"
KEY_COLUMNS = "team_id, owner_id, stage_id, is_disqualified"
# What changes a lead's place or its values on the board.
WATCHED = (
    "team_id",
    "owner_id",
    "stage_id",
    "status",
    "merged_into_id",
    "expected_value",
    "rating",
)
TRIGGER_NAMES = ("stages_count_lead_insert", "stages_count_lead_delete", "stages_count_lead_update")


def _row(side: str, sign: str) -> str:
    """The values of one delta row for the lead's ``side`` (OLD or NEW)."""
    return (
        f"{side}.team_id, {side}.owner_id, {side}.stage_id, "
        f"({side}.status = 'disqualified'), {sign}1, "
        f"{sign}COALESCE({side}.expected_value, 0), "
        f"{sign}COALESCE({side}.expected_value * {side}.rating, 0)"
    )


def _changed(distinct: str) -> str:
    return " OR ".join(f"OLD.{column} {distinct} NEW.{column}" for column in WATCHED)


SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER IF NOT EXISTS stages_count_lead_insert AFTER INSERT ON leads_lead
    WHEN NEW.merged_into_id IS NULL BEGIN
        INSERT INTO {COUNT_TABLE} ({COUNT_COLUMNS}) VALUES ({_row("NEW", "")});
    END""",
    f"""CREATE TRIGGER IF NOT EXISTS stages_count_lead_delete AFTER DELETE ON leads_lead
    WHEN OLD.merged_into_id IS NULL BEGIN
        INSERT INTO {COUNT_TABLE} ({COUNT_COLUMNS}) VALUES ({_row("OLD", "-")});
    END""",
    f"""CREATE TRIGGER IF NOT EXISTS stages_count_lead_update
    AFTER UPDATE OF {", ".join(WATCHED)} ON leads_lead
    WHEN {_changed("IS NOT")} BEGIN
        INSERT INTO {COUNT_TABLE} ({COUNT_COLUMNS})
            SELECT {_row("OLD", "-")} WHERE OLD.merged_into_id IS NULL;
        INSERT INTO {COUNT_TABLE} ({COUNT_COLUMNS})
            SELECT {_row("NEW", "")} WHERE NEW.merged_into_id IS NULL;
    END""",
]
SQLITE_DROP = [f"DROP TRIGGER IF EXISTS {name}" for name in TRIGGER_NAMES]

POSTGRES_TRIGGERS = [
    f"""CREATE OR REPLACE FUNCTION stages_count_lead() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.merged_into_id IS NULL THEN
            INSERT INTO {COUNT_TABLE} ({COUNT_COLUMNS}) VALUES ({_row("OLD", "-")});
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.merged_into_id IS NULL THEN
            INSERT INTO {COUNT_TABLE} ({COUNT_COLUMNS}) VALUES ({_row("NEW", "")});
        END IF;
        RETURN NULL;
    END $$""",
    # Inserts: one delta row per key for the whole statement, from its transition table. A
    # bulk capture or an import chunk inserts thousands of leads in one statement; a row
    # trigger ran a statement and wrote a delta row per lead (a sixth of the insert's time).
    f"""CREATE OR REPLACE FUNCTION stages_count_leads_inserted() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO {COUNT_TABLE} ({COUNT_COLUMNS})
            SELECT {KEY_COLUMNS.replace("is_disqualified", "(status = 'disqualified')")},
                   COUNT(*), COALESCE(SUM(expected_value), 0),
                   COALESCE(SUM(expected_value * rating), 0)
            FROM inserted WHERE merged_into_id IS NULL
            GROUP BY {KEY_COLUMNS.replace("is_disqualified", "(status = 'disqualified')")};
        RETURN NULL;
    END $$""",
    "DROP TRIGGER IF EXISTS stages_count_lead_insert ON leads_lead",
    """CREATE TRIGGER stages_count_lead_insert AFTER INSERT ON leads_lead
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION stages_count_leads_inserted()""",
    "DROP TRIGGER IF EXISTS stages_count_lead_delete ON leads_lead",
    """CREATE TRIGGER stages_count_lead_delete AFTER DELETE ON leads_lead
    FOR EACH ROW EXECUTE FUNCTION stages_count_lead()""",
    "DROP TRIGGER IF EXISTS stages_count_lead_update ON leads_lead",
    f"""CREATE TRIGGER stages_count_lead_update AFTER UPDATE OF {", ".join(WATCHED)}
    ON leads_lead FOR EACH ROW WHEN ({_changed("IS DISTINCT FROM")})
    EXECUTE FUNCTION stages_count_lead()""",
]
POSTGRES_DROP = [
    *(f"DROP TRIGGER IF EXISTS {name} ON leads_lead" for name in TRIGGER_NAMES),
    "DROP FUNCTION IF EXISTS stages_count_lead()",
    "DROP FUNCTION IF EXISTS stages_count_leads_inserted()",
]

FILL = f"""INSERT INTO {COUNT_TABLE} ({COUNT_COLUMNS})
    SELECT team_id, owner_id, stage_id, (status = 'disqualified'), COUNT(*),
           COALESCE(SUM(expected_value), 0), COALESCE(SUM(expected_value * rating), 0)
    FROM leads_lead WHERE merged_into_id IS NULL
    GROUP BY team_id, owner_id, stage_id, (status = 'disqualified')"""

_FOLDED = f"""SELECT {KEY_COLUMNS}, SUM(n), SUM(value), SUM(weighted) FROM {{rows}}
    GROUP BY {KEY_COLUMNS}
    HAVING SUM(n) <> 0 OR SUM(value) <> 0 OR SUM(weighted) <> 0"""
# PostgreSQL: one statement takes the rows it deletes and puts back their sums, so a row
# another transaction commits meanwhile is either folded or left, never lost.
POSTGRES_COMPACT = f"""WITH gone AS (DELETE FROM {COUNT_TABLE} RETURNING {COUNT_COLUMNS})
    INSERT INTO {COUNT_TABLE} ({COUNT_COLUMNS}) {_FOLDED.format(rows="gone")}"""


def _execute(connection: BaseDatabaseWrapper, statements: Iterable[str]) -> None:
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def install_count_triggers(connection: BaseDatabaseWrapper = default_connection) -> None:
    """Create (or replace) the lead table's triggers that keep ``StageCount``."""
    postgres = connection.vendor == "postgresql"
    _execute(connection, POSTGRES_TRIGGERS if postgres else SQLITE_TRIGGERS)


def drop_count_triggers(connection: BaseDatabaseWrapper = default_connection) -> None:
    _execute(connection, POSTGRES_DROP if connection.vendor == "postgresql" else SQLITE_DROP)


def count_triggers_installed(connection: BaseDatabaseWrapper = default_connection) -> bool:
    """Whether all three triggers exist (SQLite drops them when a migration rebuilds leads)."""
    if connection.vendor == "postgresql":
        sql = (
            "SELECT COUNT(*) FROM pg_trigger WHERE tgrelid = 'leads_lead'::regclass "
            "AND tgname IN %s"
        )
    else:
        sql = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND name IN %s"
    with connection.cursor() as cursor:
        cursor.execute(
            sql.replace("%s", "(" + ", ".join(["%s"] * len(TRIGGER_NAMES)) + ")"), TRIGGER_NAMES
        )
        return bool(cursor.fetchone()[0] == len(TRIGGER_NAMES))


def recount_stage_counts(connection: BaseDatabaseWrapper = default_connection) -> int:
    """Rebuild every ``StageCount`` row from the leads; returns the number of rows.

    On PostgreSQL the count table is locked first: a lead write running meanwhile waits at
    its trigger until the recount commits, so its delta lands after the rebuilt rows.
    """
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"LOCK TABLE {COUNT_TABLE} IN EXCLUSIVE MODE")
        cursor.execute(f"DELETE FROM {COUNT_TABLE}")
        cursor.execute(FILL)
        cursor.execute(f"SELECT COUNT(*) FROM {COUNT_TABLE}")
        return int(cursor.fetchone()[0])


def compact_stage_counts(connection: BaseDatabaseWrapper = default_connection) -> int:
    """Fold the delta rows into one row per key; returns how many rows were folded away."""
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*), MAX(id) FROM {COUNT_TABLE}")
        before, last = cursor.fetchone()
        if not before:
            return 0
        if connection.vendor == "postgresql":
            cursor.execute(POSTGRES_COMPACT)
        else:
            # SQLite has one writer: from the INSERT on, no row can arrive before the DELETE.
            rows = f"(SELECT * FROM {COUNT_TABLE} WHERE id <= %s)"
            cursor.execute(
                f"INSERT INTO {COUNT_TABLE} ({COUNT_COLUMNS}) {_FOLDED.format(rows=rows)}",
                [last],
            )
            cursor.execute(f"DELETE FROM {COUNT_TABLE} WHERE id <= %s", [last])
        cursor.execute(f"SELECT COUNT(*) FROM {COUNT_TABLE}")
        return max(int(before) - int(cursor.fetchone()[0]), 0)


def ensure_count_triggers(connection: BaseDatabaseWrapper = default_connection) -> bool:
    """Put back missing triggers and recount; True when they were missing (post-migrate)."""
    if count_triggers_installed(connection):
        return False
    install_count_triggers(connection)
    recount_stage_counts(connection)
    return True


def repair_after_migrate(connection: BaseDatabaseWrapper = default_connection) -> None:
    """After ``migrate`` or ``flush`` (both send post-migrate): triggers back if missing, and
    no count left over when the leads are gone (``flush`` may empty the count table before
    the lead table, whose delete trigger then writes rows for leads that no longer exist)."""
    if ensure_count_triggers(connection):
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT EXISTS (SELECT 1 FROM {COUNT_TABLE}), EXISTS (SELECT 1 FROM leads_lead)"
        )
        has_counts, has_leads = cursor.fetchone()
    if has_counts and not has_leads:
        recount_stage_counts(connection)


# --- Reads ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StageTotal:
    """Live leads of one stage in a scope: how many, their values (see ``BoardColumn``)."""

    n: int = 0
    value: Decimal = Decimal(0)
    weighted: Decimal = Decimal(0)


def sum_stage_counts(
    where: Q, *, include_disqualified: bool = False
) -> dict[int | None, StageTotal]:
    """The kept totals per stage over the ``StageCount`` rows matching ``where``.

    ``where`` speaks of ``team_id``, ``owner_id`` and ``stage_id`` (``counted_scope`` builds
    it from a user's scope and the board's filters).
    """
    rows = StageCount.objects.filter(where)
    if not include_disqualified:
        rows = rows.filter(is_disqualified=False)
    totals: dict[int | None, StageTotal] = {}
    grouped = (
        rows.values("stage_id")
        .annotate(total_n=Sum("n"), total_value=Sum("value"), total_weighted=Sum("weighted"))
        .order_by()
    )
    for row in grouped:
        totals[row["stage_id"]] = StageTotal(
            n=int(row["total_n"] or 0),
            value=_decimal(row["total_value"]),
            weighted=_decimal(row["total_weighted"]),
        )
    return totals


def _decimal(value: Any) -> Decimal:
    return Decimal(str(value or 0))
