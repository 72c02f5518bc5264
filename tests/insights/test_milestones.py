"""Keeping the milestones current: the watermarks pick up new history, gaps are looked for
again, merged leads leave, a status with no history is backfilled from the lead's dates."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.insights.conftest import at

pytestmark = pytest.mark.django_db


def milestones(lead: Any) -> Any:
    from leadsieve.insights.models import LeadMilestones

    return LeadMilestones.objects.filter(lead_id=lead.pk).first()


def test_the_first_run_backfills_every_step_from_the_history(history: Any) -> None:
    a1 = milestones(history.leads["A1"])
    assert (a1.mql_at, a1.sql_at) == (at(3, 3), at(3, 5))
    assert (a1.appointment_set_at, a1.appointment_held_at, a1.won_at) == (
        at(3, 6),
        at(3, 8),
        at(3, 12),
    )
    assert a1.won_value == 1000 and a1.owner_id == history.bob.pk
    assert a1.capture_to_mql_s == 86_400 and a1.sql_to_won_s == 7 * 86_400
    a3 = milestones(history.leads["A3"])
    assert (a3.disqualified_at, a3.exit_reason) == (at(3, 5), "Student")
    a2 = milestones(history.leads["A2"])
    assert (a2.lost_at, a2.exit_reason) == (at(3, 10), "Budget")
    r2 = milestones(history.leads["R2"])
    assert r2.mql_to_sql_s is None  # SQL came before MQL
    assert milestones(history.leads["M1"]) is None


def test_new_history_is_read_past_the_watermark(history: Any, make_lead: Any) -> None:
    from leadsieve.insights.milestones import refresh_milestones
    from leadsieve.leads.models import Activity, ActivityKind, LeadChange, Status

    a4 = history.leads["A4"]
    LeadChange.objects.create(
        lead=a4,
        changed_at=at(3, 7),
        via="scoring",
        action="status_scored",
        changes={"status": [Status.NEW, Status.MQL]},
    )
    Activity.objects.create(lead=a4, kind=ActivityKind.CALL, occurred_at=at(3, 6), user=history.bob)
    Activity.objects.create(
        lead=a4, kind=ActivityKind.EMAIL_SENT, occurred_at=at(3, 5, 11), payload={"cadence": 1}
    )  # an automatic cadence email (no user) is no attempt
    Activity.objects.create(lead=a4, kind=ActivityKind.EMAIL_REPLIED, occurred_at=at(3, 8))
    fresh = make_lead(source=history.sources["Calls"], created_at=at(3, 20))
    result = refresh_milestones(seconds=60)
    assert result.is_done and result.n_refreshed >= 2
    row = milestones(a4)
    assert (row.mql_at, row.first_attempt_at, row.first_contact_at) == (
        at(3, 7),
        at(3, 6),
        at(3, 8),
    )
    assert milestones(fresh).captured_at == at(3, 20)
    assert refresh_milestones(seconds=60).n_refreshed == 0  # nothing new: nothing rebuilt


def test_a_merge_removes_the_merged_lead(history: Any) -> None:
    from leadsieve.insights.milestones import refresh_milestones
    from leadsieve.leads.models import Lead, LeadChange

    a4 = history.leads["A4"]
    Lead.objects.filter(pk=a4.pk).update(merged_into=history.leads["A1"])
    LeadChange.objects.create(lead=a4, via="web", action="merged_into", changes={})
    refresh_milestones(seconds=60)
    assert milestones(a4) is None


def test_an_id_not_yet_committed_is_looked_for_again(history: Any) -> None:
    """PostgreSQL may commit a lower id after a higher one: the gap is read next time."""
    from leadsieve.insights.milestones import refresh_milestones
    from leadsieve.insights.models import MilestoneStream
    from leadsieve.leads.models import LeadChange, Status

    first = LeadChange.objects.create(
        lead=history.leads["A4"], changed_at=at(3, 9), via="x", action="note", changes={}
    )
    later = LeadChange.objects.create(
        lead=history.leads["A4"], changed_at=at(3, 9), via="x", action="note", changes={}
    )
    # As if ``first`` had not committed when the refresh read: its id becomes a gap.
    stream = MilestoneStream.objects.get(name="leadchange")
    stream.watermark = later.pk
    stream.gaps = [[first.pk, dt.datetime.now(dt.UTC).isoformat()]]
    stream.save()
    LeadChange.objects.filter(pk=first.pk).update(
        action="status_scored", changes={"status": [Status.NEW, Status.SQL]}
    )
    refresh_milestones(seconds=60)
    assert milestones(history.leads["A4"]).sql_at == at(3, 9)
    assert MilestoneStream.objects.get(name="leadchange").gaps == []


def test_a_status_without_history_counts_from_the_lead_dates(make_lead: Any) -> None:
    from leadsieve.insights.milestones import refresh_leads
    from leadsieve.leads.models import Outcome, Status

    imported = make_lead(
        status=Status.SQL,
        created_at=at(1, 5),
        scored_at=at(1, 6),
        outcome=Outcome.WON,
        closed_at=at(1, 20),
    )
    refresh_leads([imported.pk])
    row = milestones(imported)
    assert (row.sql_at, row.won_at, row.mql_at) == (at(1, 6), at(1, 20), None)


def test_the_tick_queues_one_refresh(db: None, settings: Any) -> None:
    from leadsieve.ops.tick import run_tick

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

    assert run_tick()["milestones_refresh_queued"] == 1
    assert run_tick()["milestones_refresh_queued"] == 0  # one waits already


def test_the_rating_at_sql_is_the_first_qualified_score_and_the_backfill_agrees(
    make_lead: Any,
) -> None:
    """``rating_at_sql`` (what calibration's "at SQL" table reads) is the rating of the
    lead's first score taken as SQL or converted, computed here from the snapshots by hand;
    the migration's backfill SQL writes the same value."""
    import importlib

    from django.db import connection

    from leadsieve.insights.milestones import refresh_milestones
    from leadsieve.insights.models import LeadMilestones
    from leadsieve.leads.models import Status
    from leadsieve.scoring.models import ScoreSnapshot

    day = dt.datetime(2026, 2, 10, tzinfo=dt.UTC)
    # (status, rating) of each lead's snapshots, oldest first.
    histories = {
        "two_sql": [("new", 30), ("sql", 61), ("sql", 90)],
        "converted": [("new", 40), ("mql", 50), ("converted", 77)],
        "unrated_first": [("sql", None), ("sql", 55)],
        "never": [("new", 20), ("mql", 35)],
        "none": [],
    }
    leads = {}
    for name, snapshots in histories.items():
        lead = make_lead(created_at=day, status=Status.NEW)
        for hours, (status, rating) in enumerate(snapshots):
            ScoreSnapshot.objects.create(
                lead=lead, at=day + dt.timedelta(hours=hours), rating=rating, status=status
            )
        leads[name] = lead
    refresh_milestones(seconds=60)

    def by_hand(snapshots: list[tuple[str, int | None]]) -> int | None:
        for status, rating in snapshots:
            if status in ("sql", "converted") and rating is not None:
                return rating
        return None

    expected = {name: by_hand(snapshots) for name, snapshots in histories.items()}
    assert expected == {
        "two_sql": 61,
        "converted": 77,
        "unrated_first": 55,
        "never": None,
        "none": None,
    }

    def kept() -> dict[str, int | None]:
        return {
            name: LeadMilestones.objects.get(lead_id=lead.pk).rating_at_sql
            for name, lead in leads.items()
        }

    assert kept() == expected
    LeadMilestones.objects.update(rating_at_sql=None)
    with connection.cursor() as cursor:
        migration = "leadsieve.insights.migrations.0003_closing_indexes_rating_at_sql"
        cursor.execute(importlib.import_module(migration).BACKFILL_RATING_AT_SQL)
    assert kept() == expected


def test_leads_in_takes_runs_of_ids_as_ranges_and_the_rest_as_a_list(history: Any) -> None:
    """The refresh's filter on lead ids: the same leads whether ids come in a few runs of
    consecutive ids (ranges) or scattered (an IN list), and none outside the set."""
    from leadsieve.insights.milestones import MAX_RANGES, leads_in
    from leadsieve.leads.models import Lead

    every = sorted(Lead.objects.values_list("id", flat=True))
    assert len(every) >= 6
    runs = every[:2] + every[3:5]  # two runs, a hole between them
    whole = list(every)  # one run of all of them
    gaps = list(range(every[0], every[0] + 4 * (MAX_RANGES + 1), 2))  # too many runs: a list
    for ids in (runs, whole, gaps, [every[-1]]):
        found = sorted(Lead.objects.filter(leads_in(ids, "id")).values_list("id", flat=True))
        assert found == sorted(set(ids) & set(every))
