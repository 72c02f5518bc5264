"""The procedure table of the speed-to-lead page (the team's old consistency report): per rep
numbers from ``insights.consistency`` plus leads handled, stage drift, "where practice drifts",
and the inline SVG bar charts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from leadsieve.cadences.models import Cadence, Enrolment, Task, TaskStatus
from leadsieve.insights.charts import nice_ceiling, stacked_bars
from leadsieve.insights.drift import count_stage_drift
from leadsieve.leads.models import LeadChange
from leadsieve.routing.models import Assignment, DeadlineBreach, DeadlinePolicy, LeadDeadline
from leadsieve.stages.models import Stage, StageChange

pytestmark = pytest.mark.django_db


@pytest.fixture
def now() -> Any:
    return timezone.now()


def _work(rep: Any, lead: Any, *, now: Any, hours_to_answer: float | None) -> None:
    """A lead assigned to ``rep`` two days ago, answered after ``hours_to_answer`` (or not)."""
    started = now - timedelta(days=2)
    Assignment.objects.create(lead=lead, rep=rep, reason="rule", assigned_at=started)
    LeadDeadline.objects.create(
        lead=lead,
        owner=rep,
        started_at=started,
        at_risk_at=started + timedelta(hours=1),
        first_response_due=started + timedelta(hours=2),
        responded_at=started + timedelta(hours=hours_to_answer) if hours_to_answer else None,
    )


def _task(rep: Any, lead: Any, cadence: Any, position: int, *, now: Any, **values: Any) -> Task:
    enrolment = Enrolment.objects.filter(lead=lead).first() or Enrolment.objects.create(
        lead=lead, cadence=cadence, owner=rep
    )
    return Task.objects.create(
        lead=lead,
        owner=rep,
        enrolment=enrolment,
        position=position,
        channel="call",
        title="Call",
        due_at=now - timedelta(days=3),
        **values,
    )


@pytest.fixture
def worked_team(
    north: Any, alice: Any, bob: Any, make_user: Callable[..., Any], make_lead: Any, now: Any
) -> dict[str, Any]:
    """Bob answers fast and keeps the cadence; Dave is slow, skips steps, overrides wrongly."""
    dave = make_user("dave", role="rep", team=north)
    cadence = Cadence.objects.create(team=north, key="call-now", name="Call", horizon="short")
    bob_lead = make_lead(team=north, owner=bob)
    _work(bob, bob_lead, now=now, hours_to_answer=1)
    _work(bob, make_lead(team=north, owner=bob), now=now, hours_to_answer=1)
    slow = [make_lead(team=north, owner=dave, outcome="won") for _ in range(3)]
    _work(dave, slow[0], now=now, hours_to_answer=5)
    _work(dave, slow[1], now=now, hours_to_answer=7)
    _work(dave, slow[2], now=now, hours_to_answer=None)
    DeadlineBreach.objects.create(
        lead=slow[2], kind="first_response", due_at=now - timedelta(days=1), level=1, owner=dave
    )
    _task(
        bob,
        bob_lead,
        cadence,
        1,
        now=now,
        status=TaskStatus.DONE,
        completed_at=now - timedelta(days=3),
    )
    _task(dave, slow[0], cadence, 1, now=now, status=TaskStatus.SKIPPED)
    _task(dave, slow[0], cadence, 2, now=now, status=TaskStatus.SKIPPED)
    _task(dave, slow[0], cadence, 3, now=now)  # open, overdue
    LeadChange.objects.create(
        lead=slow[1],
        user=dave,
        via="web",
        action="status_override",
        changes={"status": ["sql", "disqualified"]},
    )
    new, contacted, _appointment, proposal = Stage.objects.order_by("position")[:4]
    StageChange.objects.create(lead=slow[1], from_stage=new, to_stage=proposal, user=dave)
    StageChange.objects.create(lead=slow[1], from_stage=proposal, to_stage=contacted, user=dave)
    StageChange.objects.create(lead=bob_lead, from_stage=new, to_stage=contacted, user=bob)
    DeadlinePolicy.objects.create(team=north, horizon="short", first_response_hours=4)
    return {"bob": bob, "dave": dave, "alice": alice}


def test_it_counts_stage_moves_that_skip_a_stage_or_go_back(
    bob: Any, make_lead: Any, now: Any
) -> None:
    new, contacted, appointment, proposal = Stage.objects.order_by("position")[:4]
    won = Stage.objects.get(is_won=True)
    lead = make_lead()
    for a, b in [
        (new, contacted),
        (contacted, proposal),
        (proposal, appointment),
        (appointment, won),
    ]:
        StageChange.objects.create(lead=lead, from_stage=a, to_stage=b, user=bob)
    old = StageChange.objects.create(lead=lead, from_stage=new, to_stage=proposal, user=bob)
    StageChange.objects.filter(pk=old.pk).update(changed_at=now - timedelta(days=400))
    drift = count_stage_drift([bob.pk], since=now - timedelta(days=90))[bob.pk]
    assert (drift.n_moves, drift.n_skipped, drift.n_backward) == (4, 1, 1)


def test_the_procedure_table_gives_each_rep_their_numbers_and_names_the_drift(
    client_for: Callable[[Any], Client], north: Any, worked_team: dict[str, Any]
) -> None:
    from leadsieve.insights.milestones import refresh_milestones

    refresh_milestones(seconds=60)
    page = client_for(worked_team["alice"]).get(f"/insights/speed-to-lead/?by=rep&team={north.pk}")
    procedure = page.context["report"].table("procedure")
    rows = {row["rep"]: row for row in procedure.rows}
    assert set(rows) == {"Bob", "Dave"}  # Alice manages and did no work: not a row
    bob, dave = rows["Bob"], rows["Dave"]
    assert (bob["n_handled"], bob["median_first_response_h"], bob["steps_done"]) == (2, 1.0, 1)
    assert (dave["n_handled"], dave["median_first_response_h"]) == (3, 6.0)
    assert (dave["steps_skipped"], dave["steps_open_overdue"]) == (2, 1)
    assert (dave["overrides_wrong"], dave["n_breaches"]) == (1, 1)
    assert (dave["stages_skipped"], dave["stages_backward"]) == (1, 1)
    assert procedure.totals["n_handled"] == 5
    assert list(procedure.warnings) == [
        "Dave answers new leads in 6 h (median), over the 4 h deadline.",
        "Dave missed 1 response deadline.",
        "Dave skipped 2 of 3 cadence steps.",
        "Dave has 1 cadence step overdue.",
        "Dave overrode the scorecard once; the outcome proved the scorecard right once, "
        "the rep never.",
        "Dave skipped a pipeline stage once and moved a lead back once (of 2 stage moves).",
    ]


def test_the_old_report_address_opens_the_procedure_table_of_the_insights_page(
    client_for: Callable[[Any], Client], north: Any, worked_team: dict[str, Any]
) -> None:
    from leadsieve.insights.milestones import refresh_milestones

    refresh_milestones(seconds=60)
    client = client_for(worked_team["alice"])
    response = client.get(f"/team/{north.pk}/report/")
    assert response.status_code == 302
    assert response["Location"] == f"/insights/speed-to-lead/?by=rep&team={north.pk}"
    page = client.get(response["Location"])
    assert page.status_code == 200
    procedure = page.context["report"].table("procedure")
    rows = {row["rep"]: row for row in procedure.rows}
    assert set(rows) == {"Bob", "Dave"}
    assert (rows["Dave"]["n_handled"], rows["Dave"]["median_first_response_h"]) == (3, 6.0)
    assert (rows["Bob"]["n_handled"], rows["Bob"]["steps_done"]) == (2, 1)
    content = page.content.decode()
    assert "Dave answers new leads in 6 h (median), over the 4 h deadline." in content
    assert 'data-table="procedure"' in content


def test_the_procedure_table_escapes_rep_names(
    client_for: Callable[[Any], Client], north: Any, alice: Any, make_user: Callable[..., Any]
) -> None:
    eve = make_user("eve", role="rep", team=north)
    eve.first_name = "<script>alert(1)</script>"
    eve.save()
    content = client_for(alice).get(f"/team/{north.pk}/report/", follow=True).content.decode()
    assert "<script>alert(1)</script>" not in content
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content


def test_the_old_report_address_refuses_reps_and_other_teams(
    client_for: Callable[[Any], Client], north: Any, south: Any, bob: Any, carol: Any
) -> None:
    assert client_for(bob).get(f"/team/{north.pk}/report/").status_code == 403
    manager = carol
    manager.role = "manager"
    manager.save()
    assert client_for(manager).get(f"/team/{north.pk}/report/").status_code == 404


def test_bars_are_scaled_to_a_round_maximum_and_zero_draws_nothing() -> None:
    assert [nice_ceiling(v) for v in (0, 0.3, 3, 7, 10, 11, 260)] == [1, 0.5, 5, 10, 10, 20, 500]
    chart = stacked_bars(
        chart_id="x",
        title="T",
        description="D",
        rows=[("a", [5, 0]), ("b", [2, 3]), ("c", [None, None])],
        series=[("One", "ok"), ("Two", "late")],
    )
    a, b, c = chart.bars
    assert [s.name for s in a.segments] == ["One"] and a.segments[0].width == "420.0"
    assert [s.x for s in b.segments] == ["150.0", "318.0"] and b.text == "5"
    assert c.segments == [] and c.text == "no data"
