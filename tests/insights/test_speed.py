"""Speed to lead: working time counted as the deadlines count it, medians, p90 and response-time
bands per rep and team against figures worked out here by hand; outputs agree; role scope."""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Callable
from io import StringIO
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from django.core.management import call_command
from django.test import Client

from leadsieve.routing.calendar import WorkCalendar

UTC = dt.UTC
# Monday 2 March 2026; North works in Europe/Paris (UTC+1 in March): 09:00–17:00 local.
MONDAY = dt.datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # 10:00 in Paris
PERIOD = {"from": "2026-03-01", "to": "2026-03-31"}


def test_working_time_between_two_moments_inverts_add_working_hours() -> None:
    calendar = WorkCalendar(
        tz=ZoneInfo("Europe/Paris"),
        holidays=frozenset({dt.date(2026, 12, 25)}),
        absences=((dt.date(2026, 3, 3), dt.date(2026, 3, 5)),),
    )
    rng = random.Random(3)
    starts, ends, hours = [], [], []
    for _ in range(300):
        start = dt.datetime(2026, 1, 1, tzinfo=UTC) + dt.timedelta(minutes=rng.randint(0, 500_000))
        h = rng.choice([0.0, 0.25, 1.0, 7.5, 8.0, 30.0])
        starts.append(start)
        ends.append(calendar.add_working_hours(start, h))
        hours.append(h)
    got = calendar.working_seconds_between(
        pd.Series(pd.to_datetime(starts, utc=True)), pd.Series(pd.to_datetime(ends, utc=True))
    )
    assert [round(s / 3600, 6) for s in got] == hours


def test_a_friday_evening_lead_answered_monday_morning_waited_one_working_hour() -> None:
    calendar = WorkCalendar()  # UTC, Monday–Friday 09:00–17:00
    friday = pd.Series(pd.to_datetime(["2026-03-06 16:30"], utc=True))
    monday = pd.Series(pd.to_datetime(["2026-03-09 09:30"], utc=True))
    assert calendar.working_seconds_between(friday, monday).tolist() == [3600.0]
    assert calendar.working_seconds_between(monday, friday).tolist() == [0.0]  # never negative


def _p(values: list[float], q: float) -> float:
    """Percentile by linear interpolation between closest ranks, worked out by hand."""
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@pytest.fixture
def worked(
    make_lead: Callable[..., Any],
    make_user: Callable[..., Any],
    north: Any,
    south: Any,
    alice: Any,
    bob: Any,
    carol: Any,
    admin_user: Any,
) -> dict[str, Any]:
    """Bob's leads answered after 2, 30, 90 working minutes and one on the next working day;
    Dave's after 4 minutes and never (only an automatic cadence email); Carol (South) 10.

    Every lead is captured on Monday in working hours and assigned 3 minutes later, so wall
    and working minutes agree except where the answer falls the next day.
    """
    from leadsieve.insights.milestones import refresh_milestones
    from leadsieve.leads.models import Activity
    from leadsieve.routing.models import Assignment

    dave = make_user("dave", role="rep", team=north)
    leads: dict[str, Any] = {}

    def lead(name: str, rep: Any, team: Any, minutes: float | None, **touch: Any) -> None:
        captured = MONDAY + dt.timedelta(minutes=len(leads))
        assigned = captured + dt.timedelta(minutes=3)
        leads[name] = make_lead(
            first_name=name, team=team, owner=rep, created_at=captured, assigned_at=assigned
        )
        Assignment.objects.create(lead=leads[name], rep=rep, reason="rule", assigned_at=assigned)
        if minutes is not None:
            Activity.objects.create(
                lead=leads[name],
                kind=touch.get("kind", "call"),
                user=None if touch.get("automatic") else rep,
                occurred_at=assigned + dt.timedelta(minutes=minutes),
                payload=touch.get("payload", {}),
            )

    lead("B1", bob, north, 2, payload={"connected": True})
    lead("B2", bob, north, 30)
    lead("B3", bob, north, 90, kind="meeting")
    # Answered Tuesday 10:00 Paris: 7 working hours left on Monday after 10:0x, plus 1.
    lead("B4", bob, north, 24 * 60)
    lead("D1", dave, north, 4)
    lead("D2", dave, north, 5, kind="email_sent", automatic=True)
    lead("C1", carol, south, 10)
    refresh_milestones(seconds=60)
    return {
        "leads": leads,
        "dave": dave,
        "alice": alice,
        "bob": bob,
        "carol": carol,
        "admin": admin_user,
        "north": north,
    }


def _build(user: Any, **params: str) -> Any:
    from leadsieve.insights.registry import get_report_spec

    return get_report_spec("speed-to-lead").build({**PERIOD, **params}, user)


def _rows(report: Any) -> dict[str, dict[str, Any]]:
    return {row["label"]: row for row in report.table("speed").rows}


def test_rep_time_median_p90_and_bands_match_the_hand_computation(worked: dict[str, Any]) -> None:
    rows = _rows(_build(None, by="rep"))
    bob, dave = rows["Bob"], rows["Dave"]
    # B4: assigned Monday 10:03+ Paris, answered Tuesday same time: 17:00 − 10:0x + (10:0x − 09:00)
    b4 = 7 * 60 + 60.0
    bob_minutes = [2.0, 30.0, 90.0, b4]
    assert bob["n_leads"] == bob["n_assigned"] == bob["n_attempted"] == 4
    assert bob["response_median_min"] == pytest.approx(_p(bob_minutes, 50), abs=0.01)
    assert bob["response_p90_min"] == pytest.approx(_p(bob_minutes, 90), abs=0.01)
    assert (bob["share_within_5m"], bob["share_within_1h"]) == (0.25, 0.25)
    assert (bob["share_within_24h"], bob["share_later"], bob["share_waiting"]) == (0.5, 0.0, 0.0)
    assert bob["system_median_min"] == pytest.approx(3.0)
    assert bob["n_contacted"] == 2  # the connected call and the meeting
    # The automatic cadence email is no attempt: D2 still waits.
    assert (dave["n_attempted"], dave["response_median_min"]) == (1, pytest.approx(4.0))
    assert (dave["share_within_5m"], dave["share_waiting"]) == (0.5, 0.5)


def test_by_team_sums_the_reps_and_the_total_covers_everyone(worked: dict[str, Any]) -> None:
    report = _build(None, by="team")
    rows = _rows(report)
    assert (rows["North"]["n_leads"], rows["South"]["n_leads"]) == (6, 1)
    north_minutes = [2.0, 30.0, 90.0, 8 * 60.0, 4.0]
    assert rows["North"]["response_median_min"] == pytest.approx(_p(north_minutes, 50), abs=0.01)
    assert report.table("speed").totals["n_leads"] == 7


def test_the_cli_json_the_api_the_csv_and_the_page_agree(
    worked: dict[str, Any], api_as: Any, client: Client
) -> None:
    admin = worked["admin"]
    expected = _build(admin, by="rep").table("speed").to_dict()
    out = StringIO()
    call_command(
        "report",
        "speed-to-lead",
        "--by",
        "rep",
        "--from",
        PERIOD["from"],
        "--to",
        PERIOD["to"],
        "--format",
        "json",
        stdout=out,
    )
    cli = json.loads(out.getvalue())["tables"][0]
    api = api_as(admin).get("/insights/speed-to-lead", {**PERIOD, "by": "rep"}).json()["tables"][0]
    assert cli["rows"] == api["rows"] == expected["rows"]
    assert cli["totals"] == api["totals"] == expected["totals"]
    client.force_login(admin)
    csv_text = client.get(
        "/insights/speed-to-lead/csv/", {**PERIOD, "by": "rep", "table": "speed"}
    ).content.decode()
    assert csv_text.splitlines()[1].startswith("Bob,4,4,3,3,4,")
    page = client.get("/insights/speed-to-lead/", {**PERIOD, "by": "rep"})
    assert page.context["report"].table("speed").to_dict()["rows"] == expected["rows"]
    assert 'id="chart-speed-bands"' in page.content.decode()


def test_reps_see_their_own_figures_managers_their_team_admins_all(
    worked: dict[str, Any], api_as: Any
) -> None:
    bob, alice, carol = worked["bob"], worked["alice"], worked["carol"]
    assert set(_rows(_build(bob, by="rep"))) == {"Bob"}
    assert set(_rows(_build(alice, by="rep"))) == {"Bob", "Dave"}
    assert set(_rows(_build(worked["admin"], by="rep"))) == {"Bob", "Dave", "Carol"}
    procedure = _build(bob, by="rep").table("procedure")
    assert [row["rep"] for row in procedure.rows] == ["Bob"]
    api = api_as(carol).get("/insights/speed-to-lead", {**PERIOD, "by": "rep"}).json()
    assert [row["label"] for row in api["tables"][0]["rows"]] == ["Carol"]
    assert [row["rep"] for row in api["tables"][1]["rows"]] == ["Carol"]


def test_a_bad_filter_is_refused_naming_it(worked: dict[str, Any], api_as: Any) -> None:
    response = api_as(worked["admin"]).get("/insights/speed-to-lead", {"rep": "bob"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "rep"


def test_the_page_and_the_csv_keep_a_rep_to_their_own_figures(
    worked: dict[str, Any], client: Client
) -> None:
    client.force_login(worked["bob"])
    page = client.get("/insights/speed-to-lead/", {**PERIOD, "by": "rep"})
    assert [row["label"] for row in page.context["report"].table("speed").rows] == ["Bob"]
    assert "Dave" not in page.content.decode()
    csv_text = client.get(
        "/insights/speed-to-lead/csv/", {**PERIOD, "by": "rep", "table": "procedure"}
    ).content.decode()
    assert [line.split(",")[0] for line in csv_text.splitlines()[1:]] == ["Bob", "All reps"]
