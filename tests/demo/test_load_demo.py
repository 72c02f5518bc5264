from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
from django.core.management import call_command
from django.db.models import Count

from leadsieve.accounts.models import Role, User
from leadsieve.demo.generate import make_world
from leadsieve.leads.models import Activity, Lead, Outcome


@pytest.mark.django_db
def test_it_loads_a_team_leads_activities_and_outcomes(capsys: pytest.CaptureFixture[str]) -> None:
    call_command("load_demo", leads=300, seed=3)

    assert User.objects.filter(role=Role.MANAGER).count() == 2
    assert User.objects.filter(role=Role.REP).count() == 6
    # 300 generated, then the duplicates demo: 3 typed in again, 1 merged and taken apart.
    assert Lead.objects.count() == 300 + 4
    assert Activity.objects.count() >= 300
    outcomes = dict(Lead.objects.values_list("outcome").annotate(n=Count("id")))
    assert outcomes.get(Outcome.WON, 0) > 0 and outcomes.get(Outcome.LOST, 0) > 0
    assert (
        not Lead.objects.filter(email__contains="@")
        .exclude(email__endswith=(".example"))
        .exclude(email__regex=r"@(gmail\.com|outlook\.com|yahoo\.com|proton\.me)$")
        .exists()
    ), "demo leads must only use fictional or free-mail domains"
    assert "Loaded 300 leads" in capsys.readouterr().out
    # Open leads' meetings are booked with leads sales accepted, never with a "New" one.
    from leadsieve.cadences.models import Appointment

    booked = Appointment.objects.filter(lead__outcome=Outcome.OPEN).values("lead_id")
    met = Lead.objects.filter(pk__in=booked)
    assert met.exists() and set(met.values_list("status", flat=True)) <= {"mql", "sql"}


@pytest.mark.django_db
def test_it_shows_segments_duplicates_and_an_undone_merge() -> None:
    from leadsieve.leads.models import DuplicateCandidate, MergeRecord
    from leadsieve.segments.models import Segment

    call_command("load_demo", leads=200, seed=3)

    names = sorted(Segment.objects.values_list("name", "is_shared", "is_list"))
    assert names == [
        ("Ready to decide", True, False),
        ("Ready to decide", True, False),
        ("Webinar follow-up", False, True),
        ("Webinar follow-up", False, True),
    ]
    assert all(s.members.count() > 0 for s in Segment.objects.filter(is_list=True))
    assert DuplicateCandidate.objects.filter(status="open").count() == 3
    undone = MergeRecord.objects.get(via="demo")
    assert undone.undone_at is not None and undone.undone_by is not None


@pytest.mark.django_db
def test_it_does_nothing_twice_with_if_empty(capsys: pytest.CaptureFixture[str]) -> None:
    call_command("load_demo", leads=50, seed=1)
    call_command("load_demo", leads=50, seed=1, if_empty=True)
    assert Lead.objects.count() == 50 + 4
    assert "already loaded" in capsys.readouterr().out


def test_it_gives_the_same_world_for_the_same_seed() -> None:
    now = datetime(2026, 11, 1, tzinfo=UTC)
    first = make_world(random.Random(11), n_leads=60, now=now)
    second = make_world(random.Random(11), n_leads=60, now=now)
    assert [(lead["email"], lead["outcome"]) for lead in first.leads] == [
        (lead["email"], lead["outcome"]) for lead in second.leads
    ]


def test_its_outcomes_depend_on_the_leads_attributes() -> None:
    world = make_world(random.Random(5), n_leads=3000, now=datetime(2026, 11, 1, tzinfo=UTC))
    closed = [lead for lead in world.leads if lead["outcome"] != "open"]
    won_propensity = [lead["propensity"] for lead in closed if lead["outcome"] == "won"]
    lost_propensity = [lead["propensity"] for lead in closed if lead["outcome"] == "lost"]
    assert sum(won_propensity) / len(won_propensity) > sum(lost_propensity) / len(lost_propensity)
    students = [lead for lead in closed if lead["job_title"] == "Student"]
    assert sum(lead["outcome"] == "won" for lead in students) / len(students) < 0.1
