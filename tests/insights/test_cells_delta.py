"""Day cells kept by difference (issue #18): after random captures and changes, the cells the
refresh kept current equal the cells a rebuild of every day makes, on SQLite and PostgreSQL;
two refreshes of the same leads at once (PostgreSQL) leave them right too."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import random
import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, transaction

UTC = dt.UTC
REASONS = ("Budget", "Student", "No need", "Timing")


def _cells() -> list[tuple[Any, ...]]:
    """Every stored cell as a sorted list of comparable tuples (ids left out)."""
    from leadsieve.insights.cells import CELL_COLUMNS, JSON_COLUMNS
    from leadsieve.insights.models import FunnelCell

    found = []
    for cell in FunnelCell.objects.values(*CELL_COLUMNS, *JSON_COLUMNS):
        won = cell["won_value"]
        cell["won_value"] = None if won is None else Decimal(won).quantize(Decimal("0.01"))
        for name in JSON_COLUMNS:
            cell[name] = json.dumps(cell[name], sort_keys=True)
        found.append(tuple(repr(cell[name]) for name in (*CELL_COLUMNS, *JSON_COLUMNS)))
    return sorted(found)


def _rebuilt_cells() -> list[tuple[Any, ...]]:
    """The cells a rebuild of every day with a lead or a cell makes (rolled back after)."""
    from leadsieve.insights.cells import capture_day, rebuild_days
    from leadsieve.insights.models import FunnelCell, LeadMilestones

    days = {capture_day(m) for m in LeadMilestones.objects.values_list("captured_at", flat=True)}
    days |= set(FunnelCell.objects.values_list("day", flat=True))
    with transaction.atomic():
        rebuild_days(days)
        rebuilt = _cells()
        transaction.set_rollback(True)
    return rebuilt


class RandomHistory:
    """Leads and history rows written at random, as capture, scoring and the board would."""

    def __init__(self, seed: int, make_lead: Callable[..., Any], people: dict[str, Any]) -> None:
        from leadsieve.leads.models import Source, SourceKind

        self.rng = random.Random(seed)
        self.make_lead = make_lead
        self.people = people
        self.sources = [
            Source.objects.create(name=f"Delta {n}", kind=kind)
            for n, kind in enumerate((SourceKind.GENERATION, SourceKind.PROSPECTING) * 2)
        ]
        self.leads: list[Any] = []

    def moment(self) -> dt.datetime:
        # Four days, any hour: leads share cells, and a day's edges are crossed.
        return dt.datetime(2026, 3, 2, tzinfo=UTC) + dt.timedelta(
            hours=self.rng.randrange(4 * 24), minutes=self.rng.randrange(60)
        )

    def capture(self) -> None:
        from leadsieve.leads.models import Status

        team = self.rng.choice([self.people["north"], self.people["south"], None])
        owner = self.rng.choice([self.people["bob"], self.people["carol"], None])
        captured = self.moment()
        value = self.rng.choice([None, Decimal("0"), Decimal("250.50"), Decimal("1000")])
        self.leads.append(
            self.make_lead(
                source=self.rng.choice(self.sources),
                team=team,
                owner=owner,
                created_at=captured,
                updated_at=captured,
                expected_value=value,
                status=self.rng.choice([Status.NEW, Status.NEW, Status.MQL]),
                fit_grade=self.rng.choice(["A", "B", ""]),
                rating=self.rng.choice([None, 12, 55, 91]),
            )
        )

    def live(self) -> list[Any]:
        return [lead for lead in self.leads if lead.merged_into_id is None]

    def change(self) -> None:
        from leadsieve.leads.models import Lead, LeadChange, Status
        from leadsieve.stages.outcomes import OutcomeError, close_lead

        lead = self.rng.choice(self.live())
        lead.refresh_from_db()
        action = self.rng.choice(["status", "status", "close", "move", "merge"])
        moment = lead.created_at + dt.timedelta(hours=self.rng.randrange(1, 200))
        if action == "status":
            new = self.rng.choice([Status.MQL, Status.SQL, Status.DISQUALIFIED, Status.NEW])
            note = self.rng.choice(REASONS) if new == Status.DISQUALIFIED else ""
            LeadChange.objects.create(
                lead=lead,
                changed_at=moment,
                via="scoring",
                action="status_scored",
                changes={"status": [lead.status, new]},
                note=note,
            )
            Lead.objects.filter(pk=lead.pk).update(status=new, status_reason=note)
        elif action == "close":
            # Already closed so: nothing moves.
            with contextlib.suppress(OutcomeError):
                close_lead(
                    lead,
                    self.rng.choice(["won", "lost"]),
                    user=None,
                    reason=self.rng.choice(REASONS),
                    now=moment,
                )
        elif action == "move":
            source = self.rng.choice(self.sources)
            team = self.rng.choice([self.people["north"], self.people["south"], None])
            Lead.objects.filter(pk=lead.pk).update(source=source, team=team)
            LeadChange.objects.create(
                lead=lead,
                changed_at=moment,
                via="web",
                action="edited",
                changes={"source_id": [lead.source_id, source.pk]},
            )
        elif len(self.live()) > 1:
            into = self.rng.choice([other for other in self.live() if other.pk != lead.pk])
            Lead.objects.filter(pk=lead.pk).update(merged_into=into)
            lead.merged_into_id = into.pk
            LeadChange.objects.create(
                lead=lead, changed_at=moment, via="web", action="merged", changes={}
            )


@pytest.fixture
def people(north: Any, south: Any, bob: Any, carol: Any) -> dict[str, Any]:
    return {"north": north, "south": south, "bob": bob, "carol": carol}


@pytest.mark.django_db
@pytest.mark.parametrize("seed", range(4))
def test_cells_kept_by_difference_equal_a_rebuild(
    seed: int, make_lead: Callable[..., Any], people: dict[str, Any]
) -> None:
    from leadsieve.insights.cells import cells_ready
    from leadsieve.insights.milestones import refresh_milestones

    history = RandomHistory(seed, make_lead, people)
    for _ in range(12):
        history.capture()
    refresh_milestones(seconds=60)  # backfill, then every day built once
    assert cells_ready()
    for _ in range(8):
        for _ in range(history.rng.randrange(1, 5)):
            history.capture()
        for _ in range(history.rng.randrange(1, 8)):
            history.change()
        refresh_milestones(seconds=60)
        kept = _cells()
        assert kept, "the random history counts some leads"
        assert kept == _rebuilt_cells()


@pytest.mark.django_db
def test_a_refresh_with_nothing_counted_changed_writes_no_cell(
    make_lead: Callable[..., Any], people: dict[str, Any]
) -> None:
    from leadsieve.insights.cells import update_cells
    from leadsieve.insights.milestones import refresh_milestones
    from leadsieve.insights.models import FunnelCell, LeadMilestones
    from leadsieve.leads.models import Activity, ActivityKind

    history = RandomHistory(7, make_lead, people)
    for _ in range(5):
        history.capture()
    refresh_milestones(seconds=60)
    ids = sorted(FunnelCell.objects.values_list("id", flat=True))
    # A rep's call moves the first attempt, which no cell counts: the cells stay as they are.
    lead = history.leads[0]
    Activity.objects.create(
        lead=lead, kind=ActivityKind.CALL, user=people["bob"], occurred_at=lead.created_at
    )
    refresh_milestones(seconds=60)
    assert sorted(FunnelCell.objects.values_list("id", flat=True)) == ids
    assert LeadMilestones.objects.get(lead=lead).first_attempt_at == lead.created_at
    row = LeadMilestones.objects.filter(lead=lead).values("lead_id", *_row_fields()).get()
    assert update_cells([row], [row]) == 0


def _row_fields() -> tuple[str, ...]:
    from leadsieve.insights.cells import ROW_FIELDS

    return ROW_FIELDS


@pytest.mark.django_db
def test_cells_out_of_step_get_their_day_rebuilt(
    make_lead: Callable[..., Any], people: dict[str, Any]
) -> None:
    from leadsieve.insights.cells import capture_day
    from leadsieve.insights.milestones import refresh_milestones
    from leadsieve.insights.models import FunnelCell
    from leadsieve.leads.models import LeadChange, Status

    history = RandomHistory(3, make_lead, people)
    for _ in range(6):
        history.capture()
    refresh_milestones(seconds=60)
    lead = history.leads[0]
    # The cells of the lead's day, lost behind the refresh's back.
    FunnelCell.objects.filter(day=capture_day(lead.created_at)).delete()
    LeadChange.objects.create(
        lead=lead,
        changed_at=lead.created_at + dt.timedelta(hours=1),
        via="scoring",
        action="status_scored",
        changes={"status": [Status.NEW, Status.SQL]},
    )
    refresh_milestones(seconds=60)
    kept = _cells()
    assert kept and kept == _rebuilt_cells()


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite runs one writer's transaction at a time"
)
def test_two_refreshes_of_the_same_leads_at_once_keep_the_cells_right(
    make_lead: Callable[..., Any], people: dict[str, Any]
) -> None:
    from django.db import connections

    from leadsieve.insights.milestones import refresh_leads, refresh_milestones
    from leadsieve.leads.models import Lead

    history = RandomHistory(11, make_lead, people)
    for _ in range(20):
        history.capture()
    refresh_milestones(seconds=60)
    for _ in range(15):
        history.change()
    for _ in range(10):
        history.capture()
    ids = list(Lead.objects.values_list("id", flat=True))
    start = threading.Barrier(4)
    failures: list[BaseException] = []

    def refresh() -> None:
        try:
            start.wait()
            refresh_leads(ids)
        except BaseException as error:  # reported below
            failures.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=refresh) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not failures
    kept = _cells()
    assert kept and kept == _rebuilt_cells()
