"""The import's writer thread (``leadsieve.leads.services.deferred``): what it writes equals
what the direct path writes, reads wait for it, its errors surface, and the lazily committed
chunk transactions keep every complete chunk and nothing of a failed one."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.db import IntegrityError, connection

from leadsieve.leads.importing import load_mapping
from leadsieve.leads.importing import run as import_run
from leadsieve.leads.models import Activity, Lead
from leadsieve.leads.services.bulk import (
    allocate_ids,
    db_datetime,
    db_json,
    insert_rows,
    update_rows,
)
from leadsieve.leads.services.deferred import active_writer, deferred_writes
from tests.leads.importing import run

pytestmark = pytest.mark.django_db
sqlite_only = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="the writer thread is SQLite's"
)

NASTY = [
    "O'Brien 100% %s %% '); DROP TABLE leads_lead; --",
    '<script>alert(1)</script> \u00e9\u00e8 \u4e2d\u6587 \U0001f680 \u2028 back\\slash "quoted"',
    "x" * 400,  # longer than any SQL literal
]
COMPARED = (
    "first_name",
    "last_name",
    "job_title",
    "email_key",
    "budget",
    "consent",
    "expected_value",
    "custom",
    "created_at",
    "company_name",
)


def lead_columns(count: int, *, nul: bool = False) -> dict[str, list[Any]]:
    stamp = db_datetime(datetime(2025, 3, 4, 5, 6, 7, 891011, tzinfo=UTC))
    names = [NASTY[i % len(NASTY)] for i in range(count)]
    if nul:
        names[0] = "nul\x00inside"
    return {
        "first_name": names,
        "last_name": [f"Last {i}" for i in range(count)],
        "job_title": ["" if i % 2 else "CTO" for i in range(count)],
        "email_key": [f"p{i}-{nul}@acme.test" for i in range(count)],
        "budget": [Decimal("1234.50") if i % 2 else None for i in range(count)],
        "consent": [bool(i % 2) for i in range(count)],
        "expected_value": [None] * count,
        "custom": [
            db_json({"size": i, "note": NASTY[0], "list": [1, "\u00e9"]}) for i in range(count)
        ],
        "created_at": [stamp] * count,
        "updated_at": [stamp] * count,
        "last_activity_at": [stamp] * count,
        "company_name": ["Acme"] * count,  # one value: written as a literal
    }


def stored(ids: list[int]) -> list[tuple[Any, ...]]:
    rows = Lead.objects.filter(pk__in=ids).order_by("pk").values_list(*COMPARED)
    return list(rows)


@sqlite_only
@pytest.mark.parametrize("nul", [False, True], ids=["json", "nul-falls-back-to-binding"])
def test_rows_written_by_the_writer_equal_the_direct_path(nul: bool) -> None:
    columns = lead_columns(7, nul=nul)
    direct = allocate_ids(Lead, 7)
    insert_rows(Lead, columns, direct)
    columns = {**columns, "email_key": [k + "-w" for k in columns["email_key"]]}
    with deferred_writes() as writer:
        assert writer is not None and active_writer() is writer
        deferred = allocate_ids(Lead, 7)
        insert_rows(Lead, columns, deferred)
    expected = [row[:3] + row[4:] for row in stored(direct)]
    assert [row[:3] + row[4:] for row in stored(deferred)] == expected
    assert stored(deferred)[1][1:3] == ("Last 1", "")
    assert Lead.objects.get(pk=deferred[1]).budget == Decimal("1234.50")


@sqlite_only
def test_a_query_waits_for_the_writes_submitted_before_it() -> None:
    with deferred_writes():
        ids = allocate_ids(Lead, 500)
        insert_rows(Lead, lead_columns(500), ids)
        # No wait in between: the query itself waits for the writer.
        assert Lead.objects.filter(pk__in=ids).count() == 500
        update_rows(Lead, ["job_title"], [("Updated", pk) for pk in ids[:10]])
        assert Lead.objects.filter(job_title="Updated").count() == 10


@sqlite_only
def test_a_failed_statement_surfaces_as_a_database_error_and_stops_the_writer() -> None:
    ids = allocate_ids(Lead, 3)
    insert_rows(Lead, lead_columns(3), ids)
    with pytest.raises(IntegrityError), deferred_writes() as writer:
        assert writer is not None
        insert_rows(Lead, lead_columns(3), ids)  # the same primary keys again
        later = allocate_ids(Lead, 1)  # the query raises the writer's error
        pytest.fail(f"the query ran after a failed write ({later})")
    assert Lead.objects.count() == 3


@sqlite_only
def test_outside_the_block_and_in_other_threads_nothing_is_deferred() -> None:
    assert active_writer() is None
    with deferred_writes() as writer:
        assert writer is not None
        with deferred_writes() as inner:
            assert inner is None  # one writer per import
    assert active_writer() is None


MAPPING = """
[columns]
"Email" = "email"
"Name" = "first_name"
"""


def write_file(folder: Path) -> tuple[Path, Path]:
    path = folder / "leads.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Email", "Name"])
        writer.writerows([[f"p{i}@acme.test", f"P{i}"] for i in range(6)])
    mapping = folder / "mapping.toml"
    mapping.write_text(MAPPING, encoding="utf-8")
    return path, mapping


@pytest.mark.django_db(transaction=True)
def test_a_failure_before_the_next_chunk_begins_keeps_the_complete_chunk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    staged = import_run.stage_cleaned
    calls = []

    def stage_then_fail(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("staging the third chunk fails")
        return staged(*args, **kwargs)

    monkeypatch.setattr(import_run, "stage_cleaned", stage_then_fail)
    path, mapping = write_file(tmp_path)
    with pytest.raises(RuntimeError, match="third chunk"):
        run(path, mapping, "--chunk-size", "2")
    # Chunk two was complete, only not committed yet when chunk three failed: it is kept.
    assert sorted(Lead.objects.values_list("first_name", flat=True)) == ["P0", "P1", "P2", "P3"]
    assert Activity.objects.count() == 4


@pytest.mark.django_db(transaction=True)
def test_a_failure_inside_a_chunk_rolls_back_its_deferred_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chunk = import_run._import_chunk
    calls = []

    def write_then_fail(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        result = chunk(*args, **kwargs)  # its inserts are submitted to the writer
        if len(calls) == 2:
            raise RuntimeError("the second chunk fails after its writes")
        return result

    monkeypatch.setattr(import_run, "_import_chunk", write_then_fail)
    path, mapping = write_file(tmp_path)
    with pytest.raises(RuntimeError, match="second chunk"):
        run(path, mapping, "--chunk-size", "2")
    assert sorted(Lead.objects.values_list("first_name", flat=True)) == ["P0", "P1"]
    assert Activity.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_progress_is_reported_after_each_chunk_commits(tmp_path: Path) -> None:
    path, mapping = write_file(tmp_path)
    reported: list[tuple[int, bool, int]] = []

    def progress(n_rows: int) -> None:
        # A progress that writes (the UI's import job) must run outside the chunk's
        # transaction, with that chunk's rows already committed.
        reported.append((n_rows, connection.in_atomic_block, Lead.objects.count()))

    summary = import_run.import_leads(path, load_mapping(mapping), chunk_size=4, progress=progress)
    assert summary.created == 6
    assert reported == [(4, False, 4), (2, False, 6)]
