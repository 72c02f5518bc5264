"""The SQLite rescoring pipeline: batches read ahead of the writer's transaction.

A batch is read, scored and explained while the writer thread commits the previous one, so
a person may set a status or rating by hand (or an event may rescore a lead) between a
batch's read and its write. These tests make that happen on purpose.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import connection

from leadsieve.leads.models import Lead, LeadChange, Status
from leadsieve.scoring import rescoring
from leadsieve.scoring.models import ScorecardVersion, ScoreSnapshot
from leadsieve.scoring.services import (
    rescore_all,
    rescore_leads,
    set_rating_by_hand,
    set_status_by_hand,
)

pytestmark = [
    pytest.mark.skipif(connection.vendor != "sqlite", reason="the pipeline is SQLite's"),
    pytest.mark.django_db(transaction=True),
]

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def default_scorecard() -> None:
    if not ScorecardVersion.objects.exists():  # transactional tests flush the data migration
        call_command("migrate", "scoring", "0001", verbosity=0)
        call_command("migrate", "scoring", verbosity=0)


@pytest.fixture
def pipelined(monkeypatch):
    """Fail if a pass would not take the pipeline (so these tests test it)."""

    def in_line(*args, **kwargs):
        raise AssertionError("rescore_all ran in line")

    monkeypatch.setattr(rescoring, "_rescore_in_line", in_line)


def _after_reading(monkeypatch, lead_id, act):
    """Run ``act`` right after the batch holding ``lead_id`` is read and scored, before the
    writer's transaction for it begins."""
    prepare = rescoring._prepare_batch

    def prepare_then_act(active, when, first, last):
        batch = prepare(active, when, first, last)
        if first <= lead_id <= last:
            act()
        return batch

    monkeypatch.setattr(rescoring, "_prepare_batch", prepare_then_act)


def test_a_status_set_by_hand_while_the_batch_is_in_flight_is_kept(
    make_lead, alice, monkeypatch, pipelined
):
    leads = [make_lead(do_not_contact=True) for _ in range(5)]
    target = leads[3]
    _after_reading(
        monkeypatch,
        target.pk,
        lambda: set_status_by_hand(target, Status.SQL, user=alice, reason="Called: ready"),
    )
    result = rescore_all(batch_size=2, progress=False, as_of=NOW)
    assert result.n_scored == 5
    target.refresh_from_db()
    assert (target.status, target.status_is_manual) == (Status.SQL, True)
    assert target.status_reason == "Called: ready"
    assert target.scored_at == NOW  # scored again inside the writer's transaction
    assert not LeadChange.objects.filter(lead=target, action="status_scored").exists()
    assert ScoreSnapshot.objects.get(lead=target).status == Status.SQL
    others = Lead.objects.exclude(pk=target.pk)
    assert set(others.values_list("status", flat=True)) == {Status.DISQUALIFIED}
    assert LeadChange.objects.filter(action="status_scored").count() == 4


def test_a_rating_set_by_hand_while_the_batch_is_in_flight_is_kept(
    make_lead, alice, monkeypatch, pipelined
):
    leads = [make_lead() for _ in range(3)]
    target = leads[0]
    _after_reading(
        monkeypatch,
        target.pk,
        lambda: set_rating_by_hand(target, 97, user=alice, reason="Signed a letter of intent"),
    )
    rescore_all(batch_size=2, progress=False, as_of=NOW)
    target.refresh_from_db()
    assert (target.rating, target.rating_is_manual) == (97, True)
    assert ScoreSnapshot.objects.get(lead=target).rating == 97


def test_a_lead_rescored_on_an_event_in_between_is_not_overwritten_with_older_scores(
    make_lead, monkeypatch, pipelined
):
    leads = [make_lead() for _ in range(4)]
    target = leads[2]

    event: dict[str, object] = {}

    def edit_and_rescore():
        Lead.objects.filter(pk=target.pk).update(do_not_contact=True)
        rescore_leads([target.pk], as_of=NOW - timedelta(seconds=1))
        event.update(Lead.objects.values("rating", "status", "fit_points").get(pk=target.pk))

    _after_reading(monkeypatch, target.pk, edit_and_rescore)
    rescore_all(batch_size=3, progress=False, as_of=NOW)
    assert Lead.objects.values("rating", "status", "fit_points").get(pk=target.pk) == event
    assert event["status"] == Status.DISQUALIFIED
    assert Lead.objects.get(pk=target.pk).scored_at == NOW
    assert ScoreSnapshot.objects.filter(lead=target).count() == 1  # the event's, not a stale one


def test_a_pipelined_pass_leaves_nothing_for_a_second_look(make_lead, pipelined):
    leads = [make_lead(do_not_contact=(i % 3 == 0), job_title="VP Sales") for i in range(7)]
    first = rescore_all(batch_size=2, progress=False, as_of=NOW)
    assert (first.n_scored, first.n_snapshots, first.n_status_changed) == (7, 7, 3)
    assert ScoreSnapshot.objects.count() == 7
    assert all(snapshot.reasons for snapshot in ScoreSnapshot.objects.all())
    again = rescore_leads([lead.pk for lead in leads], as_of=NOW)
    assert (again.n_snapshots, again.n_status_changed) == (0, 0)
    later = rescore_all(batch_size=2, progress=False, as_of=NOW + timedelta(minutes=1))
    assert (later.n_scored, later.n_snapshots) == (7, 0)
    assert Lead.objects.filter(scored_at=NOW + timedelta(minutes=1)).count() == 7


def test_a_failing_writer_stops_the_pass_and_keeps_the_batches_committed_before(
    make_lead, monkeypatch, pipelined
):
    leads = [make_lead() for _ in range(6)]
    write = rescoring._write_batch

    def write_two_then_fail(batch, active, when):
        if batch.first > leads[3].pk:
            raise RuntimeError("disk full")
        return write(batch, active, when)

    monkeypatch.setattr(rescoring, "_write_batch", write_two_then_fail)
    with pytest.raises(RuntimeError, match="writer"):
        rescore_all(batch_size=2, progress=False, as_of=NOW)
    scored = set(Lead.objects.filter(scored_at=NOW).values_list("id", flat=True))
    assert scored == {lead.pk for lead in leads[:4]}


def test_large_batches_are_encoded_by_the_reader_and_joined_from_json(
    make_lead, alice, monkeypatch, pipelined
):
    from leadsieve.scoring import history

    monkeypatch.setattr(history, "SMALL_INSERT", 1)  # every set goes through json_each
    monkeypatch.setattr(rescoring, "SMALL_WRITE", 1)
    leads = [make_lead(do_not_contact=(i % 2 == 0), job_title="VP Sales") for i in range(7)]
    target = leads[4]
    _after_reading(
        monkeypatch,
        target.pk,
        lambda: set_status_by_hand(target, Status.MQL, user=alice, reason="Met at a fair"),
    )
    result = rescore_all(batch_size=3, progress=False, as_of=NOW)
    assert (result.n_scored, result.n_snapshots) == (7, 7)
    statuses = dict(Lead.objects.values_list("id", "status"))
    assert statuses.pop(target.pk) == Status.MQL
    assert [statuses[lead.pk] for lead in leads if lead.pk in statuses] == [
        Status.DISQUALIFIED,
        Status.NEW,
        Status.DISQUALIFIED,
        Status.NEW,
        Status.NEW,
        Status.DISQUALIFIED,
    ]
    assert Lead.objects.filter(scored_at=NOW, scorecard_version=1).count() == 7
    assert all(s.reasons and s.reasons[0][0] for s in ScoreSnapshot.objects.all())
    assert LeadChange.objects.filter(action="status_scored").count() == 3
    again = rescore_leads([lead.pk for lead in leads], as_of=NOW)
    assert (again.n_snapshots, again.n_status_changed) == (0, 0)


def _pragmas() -> tuple[int, int, int]:
    with connection.cursor() as cursor:
        values = []
        for name in ("cache_size", "temp_store", "mmap_size"):
            cursor.execute(f"PRAGMA {name}")
            values.append(int(cursor.fetchone()[0]))
    return values[0], values[1], values[2]


def test_the_pass_maps_the_whole_file_and_restores_the_connection_after(
    make_lead, monkeypatch, pipelined
):
    leads = [make_lead() for _ in range(3)]
    before = _pragmas()
    seen: list[tuple[int, int, int]] = []
    _after_reading(monkeypatch, leads[0].pk, lambda: seen.append(_pragmas()))
    rescore_all(batch_size=2, progress=False, as_of=NOW)
    [(cache_size, temp_store, mmap_size)] = seen
    assert (cache_size, temp_store) == (-262144, 2)  # 256 MiB, in memory
    # SQLite may cap the mapping below what was asked (its build's SQLITE_MAX_MMAP_SIZE)
    assert before[2] < mmap_size <= rescoring.PASS_MMAP_BYTES
    assert _pragmas() == before
