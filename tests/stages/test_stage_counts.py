"""The board's kept counts (``StageCount``) equal COUNT(*) of the leads after every kind of
write: capture, bulk capture, import, stage moves, closing, assignment, merge and unmerge,
rescoring, bulk updates and deletes; the tick's compaction and the recount keep them so."""

from __future__ import annotations

import csv
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db.models import Count, F, Q, Sum

from leadsieve.leads.capture import capture_lead, capture_leads
from leadsieve.leads.importing import load_mapping
from leadsieve.leads.importing import run as import_run
from leadsieve.leads.models import Channel, Lead, Status
from leadsieve.leads.services.merging import merge_leads, unmerge
from leadsieve.ops.tick import run_tick
from leadsieve.routing.services import assign_lead, assign_leads_by_hand
from leadsieve.stages.counts import (
    compact_stage_counts,
    count_triggers_installed,
    drop_count_triggers,
    ensure_count_triggers,
    recount_stage_counts,
    repair_after_migrate,
)
from leadsieve.stages.models import Stage, StageCount
from leadsieve.stages.outcomes import close_lead, move_lead

Key = tuple[Any, Any, Any, bool]


def kept() -> dict[Key, tuple[int, Decimal, Decimal]]:
    rows = (
        StageCount.objects.values("team_id", "owner_id", "stage_id", "is_disqualified")
        .annotate(n_=Sum("n"), value_=Sum("value"), weighted_=Sum("weighted"))
        .order_by()
    )
    return {
        (r["team_id"], r["owner_id"], r["stage_id"], r["is_disqualified"]): (
            int(r["n_"]),
            Decimal(str(r["value_"])).quantize(Decimal("0.01")),
            Decimal(str(r["weighted_"])).quantize(Decimal("0.01")),
        )
        for r in rows
        if r["n_"] or r["value_"] or r["weighted_"]
    }


def counted() -> dict[Key, tuple[int, Decimal, Decimal]]:
    """The same figures straight from the leads: COUNT(*) and SUM over the live ones."""
    rows = (
        Lead.objects.filter(merged_into__isnull=True)
        .annotate(disq=Q(status=Status.DISQUALIFIED))
        .values("team_id", "owner_id", "stage_id", "disq")
        .annotate(
            n_=Count("id"),
            value_=Sum("expected_value"),
            weighted_=Sum(F("expected_value") * F("rating")),
        )
        .order_by()
    )
    return {
        (r["team_id"], r["owner_id"], r["stage_id"], bool(r["disq"])): (
            int(r["n_"]),
            Decimal(str(r["value_"] or 0)).quantize(Decimal("0.01")),
            Decimal(str(r["weighted_"] or 0)).quantize(Decimal("0.01")),
        )
        for r in rows
    }


def assert_kept_equal_counted() -> None:
    expected = counted()
    assert expected, "the test wrote no lead"
    assert kept() == expected


def stage(slug: str) -> Stage:
    return Stage.objects.get(slug=slug)


@pytest.fixture
def leads(make_lead: Callable[..., Any], north: Any, bob: Any) -> list[Any]:
    return [
        make_lead(team=north, owner=bob, stage=stage("new"), rating=40, expected_value=1000),
        make_lead(team=north, stage=stage("new"), rating=80, expected_value=Decimal("250.50")),
        make_lead(team=north, owner=bob, stage=stage("contacted"), status=Status.MQL),
    ]


def test_orm_inserts_are_counted(leads: list[Any]) -> None:
    assert_kept_equal_counted()
    assert kept()[(leads[0].team_id, leads[0].owner_id, stage("new").pk, False)][0] == 1


def test_capture_one_and_many_are_counted(north: Any) -> None:
    capture_lead({"email": "one@acme.test", "first_name": "One"}, channel=Channel.API, via="t")
    capture_leads(
        [{"email": f"bulk{i}@acme.test", "first_name": "B"} for i in range(5)],
        channel=Channel.API,
        via="t",
        team=north,
    )
    assert Lead.objects.count() == 6
    assert_kept_equal_counted()


def test_stage_moves_closing_and_assignment_are_counted(
    leads: list[Any], alice: Any, make_user: Callable[..., Any], north: Any
) -> None:
    dave = make_user("dave", role="rep", team=north)
    move_lead(leads[0], stage("proposal"), user=alice)
    assert_kept_equal_counted()
    close_lead(leads[2], "won", user=alice, reason="signed")
    assert_kept_equal_counted()
    assign_lead(leads[1])
    assign_leads_by_hand([leads[1]], dave, user=alice, reason="knows them")
    assert_kept_equal_counted()
    assign_leads_by_hand([leads[0]], None, user=alice, reason="back to the team")
    assert_kept_equal_counted()


def test_merge_and_unmerge_are_counted(leads: list[Any], alice: Any) -> None:
    record = merge_leads(leads[0], leads[1], user=alice)
    assert_kept_equal_counted()
    unmerge(record, user=alice)
    assert_kept_equal_counted()


def test_rescoring_disqualifying_bulk_updates_and_deletes_are_counted(leads: list[Any]) -> None:
    Lead.objects.filter(pk=leads[0].pk).update(rating=95, expected_value=42)
    assert_kept_equal_counted()
    Lead.objects.filter(pk=leads[1].pk).update(status=Status.DISQUALIFIED)
    assert_kept_equal_counted()
    Lead.objects.filter(pk=leads[2].pk).update(team=None, owner=None, stage=None)
    assert_kept_equal_counted()
    leads[0].delete()
    assert_kept_equal_counted()


@pytest.mark.django_db(transaction=True)
def test_an_import_is_counted(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Email", "Name"])
        writer.writerows([[f"imp{i}@acme.test", f"I{i}"] for i in range(6)])
    mapping = tmp_path / "mapping.toml"
    mapping.write_text('[columns]\n"Email" = "email"\n"Name" = "first_name"\n', encoding="utf-8")
    summary = import_run.import_leads(path, load_mapping(mapping), chunk_size=4)
    assert summary.created == 6
    assert_kept_equal_counted()


def test_the_tick_folds_the_deltas_into_one_row_per_key(leads: list[Any], alice: Any) -> None:
    move_lead(leads[0], stage("proposal"), user=alice)
    move_lead(leads[0], stage("contacted"), user=alice)
    before = StageCount.objects.count()

    run_tick()

    keys = StageCount.objects.values_list("team_id", "owner_id", "stage_id", "is_disqualified")
    assert StageCount.objects.count() < before
    assert len(set(keys)) == len(keys)  # one row per key left
    assert not StageCount.objects.filter(n=0, value=0, weighted=0).exists()
    assert_kept_equal_counted()
    assert compact_stage_counts() == 0  # nothing left to fold


def test_recount_repairs_counts_gone_wrong(leads: list[Any]) -> None:
    StageCount.objects.create(
        team_id=None, owner_id=None, stage_id=None, is_disqualified=False, n=5, value=0, weighted=0
    )
    StageCount.objects.filter(stage_id=stage("new").pk).delete()
    assert kept() != counted()

    call_command("recount_stages", verbosity=0)

    assert_kept_equal_counted()
    assert recount_stage_counts() == len(counted())


def test_missing_triggers_are_put_back_with_a_recount(leads: list[Any], north: Any) -> None:
    """SQLite drops a table's triggers when a migration rebuilds it: post-migrate repairs."""
    drop_count_triggers()
    Lead.objects.create(first_name="Unseen", team=north, stage=stage("new"))
    assert not count_triggers_installed()
    assert kept() != counted()

    assert ensure_count_triggers() is True

    assert count_triggers_installed()
    assert_kept_equal_counted()
    assert ensure_count_triggers() is False


def test_counts_left_by_a_flush_are_dropped_after_it(leads: list[Any]) -> None:
    """``flush`` empties tables in any order: if the counts go first, deleting the leads
    writes deltas for leads that are gone; the post-migrate step after it drops them."""
    StageCount.objects.all().delete()
    Lead.objects.all().delete()
    assert StageCount.objects.exists()

    repair_after_migrate()

    assert not StageCount.objects.exists()
