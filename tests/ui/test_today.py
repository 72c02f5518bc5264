"""Today: the signed-in rep's short list of leads to work, each with why it is there."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import time_machine
from django.test import Client
from django.utils import timezone

from leadsieve.workspace import worklist

# Noon: "due later today" stays today whenever the suite runs.
NOON = dt.datetime(2026, 6, 10, 12, 0, tzinfo=dt.UTC)


def test_it_shows_an_empty_state_that_says_what_to_do(
    client_for: Callable[[Any], Client], bob: Any
) -> None:
    html = client_for(bob).get("/").content.decode()

    assert "Nothing urgent right now." in html
    assert "/leads/?owner=me" in html


def test_it_lists_the_reps_open_qualified_short_range_leads_best_first(
    client_for: Callable[[Any], Client],
    bob: Any,
    dave: Any,
    north: Any,
    make_lead: Callable[..., Any],
) -> None:
    ready = {"team": north, "owner": bob, "horizon": "short"}
    best = make_lead(status="sql", rating=91, horizon_reason="Budget approved", **ready)
    second = make_lead(status="mql", rating=55, **ready)
    make_lead(status="sql", rating=99, team=north, owner=bob, horizon="long")
    make_lead(status="new", rating=99, **ready)
    make_lead(status="sql", rating=99, outcome="won", **ready)
    make_lead(status="sql", rating=99, team=north, owner=dave, horizon="short")
    make_lead(status="sql", rating=99, team=north, owner=None, horizon="short")

    response = client_for(bob).get("/")

    items = response.context["items"]
    assert [item.lead.pk for item in items] == [best.pk, second.pk]
    assert "Budget approved" in items[0].reason
    assert "Sales-qualified" in items[0].reason
    assert "Budget approved" in response.content.decode()


def test_it_shows_a_manager_the_whole_team_including_unassigned_leads(
    client_for: Callable[[Any], Client],
    alice: Any,
    bob: Any,
    dave: Any,
    north: Any,
    south: Any,
    make_lead: Callable[..., Any],
) -> None:
    ready = {"status": "sql", "horizon": "short", "rating": 70}
    team = {
        make_lead(team=north, owner=bob, **ready),
        make_lead(team=north, owner=dave, **ready),
        make_lead(team=north, owner=None, **ready),
    }
    make_lead(team=south, **ready)

    items = client_for(alice).get("/").context["items"]

    assert {item.lead for item in items} == team
    assert any("unassigned" in item.reason for item in items)


def test_it_renders_the_board_with_open_leads_per_stage(
    client_for: Callable[[Any], Client], alice: Any, north: Any, make_lead: Callable[..., Any]
) -> None:
    from leadsieve.stages.models import Stage

    stage = Stage.objects.filter(is_active=True).first()
    make_lead(first_name="Boardie", team=north, stage=stage)

    response = client_for(alice).get("/board/")

    assert response.status_code == 200
    assert "Boardie" in response.content.decode()


# --- The work list: tasks, cadence steps and response deadlines first -------------------------


def _deadline(lead: Any, *, due: Any, responded: Any = None, next_touch: Any = None) -> Any:
    from leadsieve.routing.models import LeadDeadline

    return LeadDeadline.objects.create(
        lead=lead,
        owner=lead.owner,
        started_at=due - dt.timedelta(hours=2),
        at_risk_at=due - dt.timedelta(minutes=30),
        first_response_due=due,
        responded_at=responded,
        next_touch_due=next_touch,
    )


def _keys(work: Any, key: str) -> list[Any]:
    return [(item.lead, item.kind) for item in work.group(key).items]


@time_machine.travel(NOON, tick=True)
def test_it_groups_overdue_then_due_today_then_new_leads_then_qualified_leads(
    client_for: Callable[[Any], Client],
    bob: Any,
    dave: Any,
    north: Any,
    make_lead: Callable[..., Any],
) -> None:
    from leadsieve.cadences.manual_tasks import add_task

    now = timezone.now()
    mine = {"team": north, "owner": bob}
    overdue = make_lead(first_name="Olga", rating=40, **mine)
    add_task(overdue, user=bob, title="Send the quote", due_at=now - dt.timedelta(days=1))
    missed = make_lead(first_name="Walt", rating=80, **mine)
    _deadline(missed, due=now - dt.timedelta(hours=1))
    running = make_lead(first_name="Nina", rating=60, **mine)
    _deadline(running, due=now + dt.timedelta(hours=3))
    later = make_lead(first_name="Lana", **mine)
    add_task(later, user=bob, title="Call back", due_at=now + dt.timedelta(days=3))
    answered = make_lead(first_name="Anna", **mine)
    _deadline(answered, due=now - dt.timedelta(days=3), responded=now - dt.timedelta(days=3))
    qualified = make_lead(first_name="Quinn", status="sql", rating=90, horizon="short", **mine)
    both = make_lead(first_name="Bea", status="sql", rating=95, horizon="short", **mine)
    add_task(both, user=bob, title="Prepare the demo", due_at=now + dt.timedelta(minutes=1))
    others = make_lead(team=north, owner=dave)
    add_task(others, user=dave, title="Dave's own", due_at=now - dt.timedelta(days=1))

    response = client_for(bob).get("/")

    work = response.context["work"]
    assert [group.key for group in work.groups] == ["overdue", "today", "answer", "rest"]
    # Best rated first inside a group: Walt (80) before Olga (40).
    assert _keys(work, "overdue") == [(missed, "deadline"), (overdue, "task")]
    assert _keys(work, "today") == [(both, "task")]
    assert _keys(work, "answer") == [(running, "deadline")]
    assert _keys(work, "rest") == [(qualified, "lead")]  # Bea is listed once, for her task
    assert work.n_late == 2
    assert "first response missed" in work.group("overdue").items[0].reason
    assert "overdue since yesterday" in work.group("overdue").items[1].reason
    html = response.content.decode()
    assert "Send the quote" in html and "Dave" not in html and "Call back" not in html
    assert "Overdue <span" in html and "New leads to answer" in html


@time_machine.travel(NOON, tick=True)
def test_it_shows_a_manager_the_teams_breaches_first_with_whose_they_are(
    client_for: Callable[[Any], Client],
    alice: Any,
    bob: Any,
    carol: Any,
    north: Any,
    south: Any,
    make_lead: Callable[..., Any],
) -> None:
    now = timezone.now()
    fresh = make_lead(team=north, owner=bob)
    _deadline(fresh, due=now + dt.timedelta(minutes=20))
    breached = make_lead(team=north, owner=bob, rating=50)
    _deadline(breached, due=now - dt.timedelta(hours=5))
    touch = make_lead(team=north, owner=bob, rating=30)
    _deadline(touch, due=now, responded=now, next_touch=now - dt.timedelta(hours=1))
    _deadline(make_lead(team=south, owner=carol), due=now - dt.timedelta(hours=9))

    response = client_for(alice).get("/")

    work = response.context["work"]
    assert [item.lead for item in work.group("overdue").items] == [breached, touch]
    assert [item.lead for item in work.group("answer").items] == [fresh]
    assert "next touch" in work.group("overdue").items[1].reason
    assert "(at risk)" in work.group("answer").items[0].reason
    assert all(item.owner_name == str(bob) for item in work.items)
    assert f"· {bob}" in response.content.decode()


@time_machine.travel(NOON, tick=True)
def test_it_writes_a_cadence_step_as_a_person_would_with_a_call_button(
    client_for: Callable[[Any], Client],
    bob: Any,
    north: Any,
    make_lead: Callable[..., Any],
) -> None:
    from leadsieve.cadences.models import Cadence, CadenceStep, Enrolment, Task

    now = timezone.now()
    cadence = Cadence.objects.create(team=north, key="nurture", name="Nurture", horizon="long")
    step = CadenceStep.objects.create(
        cadence=cadence, position=1, channel="call", instruction="Book the appointment"
    )
    rows = []
    for first, phone in (("Uma", "+15550100"), ("Ugo", "")):
        lead = make_lead(first_name=first, last_name="Xu", phone=phone, team=north, owner=bob)
        enrolment = Enrolment.objects.create(lead=lead, cadence=cadence, owner=bob)
        Task.objects.create(
            lead=lead,
            owner=bob,
            enrolment=enrolment,
            step=step,
            position=1,
            channel="call",
            title=f"Call: {first} Xu — Book the appointment",
            due_at=now - dt.timedelta(minutes=5),
        )
        rows.append(lead)

    html = client_for(bob).get("/").content.decode()
    work = worklist.list_today_for_user(bob)

    item = work.group("overdue").items[0]
    assert item.action in {"Call Uma Xu", "Call Ugo Xu"}
    assert item.context == "step 1 of the Nurture cadence"
    assert item.detail == "Book the appointment"
    assert "Call: " not in item.reason and "cadence step" not in item.reason
    assert 'href="tel:+15550100"' in html
    assert "no phone" in html  # Ugo has none: said, not a silent missing button
    assert html.count(">Call</a>") == 1


@time_machine.travel(NOON, tick=True)
def test_it_shows_the_first_ten_of_a_group_with_the_count_of_the_rest_and_pages_through(
    client_for: Callable[[Any], Client], bob: Any, north: Any, make_lead: Callable[..., Any]
) -> None:
    from leadsieve.cadences.manual_tasks import add_task

    now = timezone.now()
    for n in range(57):
        lead = make_lead(team=north, owner=bob, rating=n + 1)
        add_task(lead, user=bob, title=f"Task {n}", due_at=now - dt.timedelta(hours=1))
    client = client_for(bob)

    response = client.get("/")
    group = response.context["work"].group("overdue")
    assert [item.lead.rating for item in group.items] == list(range(57, 47, -1))
    assert group.n_total == 57 and group.n_more == 47
    html = response.content.decode()
    assert "and 47 more" in html and "?group=overdue" in html

    first = client.get("/?group=overdue").context["work"].group("overdue")
    second = client.get("/?group=overdue&page=2").context["work"].group("overdue")
    assert len(first.items) == 50 and first.n_more == 7
    assert [item.lead.rating for item in second.items] == list(range(7, 0, -1))
    assert second.n_more == 0
    assert client.get("/?group=nonsense&page=x").status_code == 200


def test_it_says_what_changed_in_the_score_lately(
    client_for: Callable[[Any], Client], bob: Any, north: Any, make_lead: Callable[..., Any]
) -> None:
    from leadsieve.scoring.models import ScoreSnapshot

    lead = make_lead(team=north, owner=bob, status="sql", rating=81, horizon="short")
    now = timezone.now()
    ScoreSnapshot.objects.create(lead=lead, at=now - dt.timedelta(days=20), rating=40, status="mql")
    ScoreSnapshot.objects.create(lead=lead, at=now - dt.timedelta(days=1), rating=81, status="sql")

    (item,) = client_for(bob).get("/").context["work"].group("rest").items

    assert "rating 40 → 81" in item.reason
    assert "status mql → sql" in item.reason


def test_it_marks_a_task_done_from_today_and_comes_back(
    client_for: Callable[[Any], Client], bob: Any, north: Any, make_lead: Callable[..., Any]
) -> None:
    from leadsieve.cadences.manual_tasks import add_task
    from leadsieve.cadences.models import TaskStatus

    lead = make_lead(team=north, owner=bob)
    task = add_task(lead, user=bob, title="Send the quote", due_at=timezone.now())
    client = client_for(bob)

    response = client.post(
        f"/leads/{lead.pk}/tasks/{task.pk}/finish/", {"action": "done", "next": "/"}
    )

    assert response.status_code == 302 and response["Location"] == "/"
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE
    assert "Nothing urgent right now." in client.get("/").content.decode()


def test_it_escapes_hostile_names_on_today(
    client_for: Callable[[Any], Client], bob: Any, north: Any, make_lead: Callable[..., Any]
) -> None:
    from leadsieve.cadences.manual_tasks import add_task

    hostile = make_lead(
        first_name="<img src=x onerror=alert(1)>",
        last_name="",
        company_name='"><script>alert(1)</script>',
        team=north,
        owner=bob,
        status="sql",
        horizon="short",
        rating=80,
    )
    add_task(hostile, user=bob, title="<b>bold</b>", due_at=timezone.now())

    html = client_for(bob).get("/").content.decode()

    assert "<img src=x" not in html and "<script>alert" not in html and "<b>bold" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_it_builds_today_in_a_fixed_number_of_queries(
    client_for: Callable[[Any], Client],
    alice: Any,
    bob: Any,
    dave: Any,
    north: Any,
    make_lead: Callable[..., Any],
    django_assert_max_num_queries: Any,
) -> None:
    from leadsieve.cadences.manual_tasks import add_task
    from leadsieve.scoring.models import ScoreSnapshot

    now = timezone.now()
    for n in range(30):
        owner = bob if n % 2 else dave
        lead = make_lead(team=north, owner=owner, status="sql", horizon="short", rating=n + 1)
        ScoreSnapshot.objects.create(lead=lead, at=now, rating=n + 1, status="sql")
        if n % 3 == 0:
            add_task(lead, user=owner, title=f"Task {n}", due_at=now - dt.timedelta(hours=n))
        if n % 5 == 0:
            _deadline(make_lead(team=north, owner=owner), due=now - dt.timedelta(minutes=n))
    client = client_for(alice)

    # Session, user, team (nav); a count and a page of tasks and of deadlines in two groups,
    # of deadlines in one (a count of none skips its page); the qualified leads' count and
    # page; their score history.
    with django_assert_max_num_queries(16):
        response = client.get("/")

    work = response.context["work"]
    overdue = work.group("overdue")
    assert overdue.n_total == 10 + 6 and len(overdue.items) == 10 and overdue.n_more == 6
    rest = work.group("rest")
    assert rest.n_total == 30 - 10 and len(rest.items) == 10
    assert all(item.owner_name in {str(bob), str(dave)} for item in work.items)


def test_its_join_condition_matches_the_workspace_scope_for_every_role(
    alice: Any,
    bob: Any,
    carol: Any,
    dave: Any,
    admin_user: Any,
    north: Any,
    south: Any,
    make_user: Callable[..., Any],
    make_lead: Callable[..., Any],
) -> None:
    from leadsieve.cadences.manual_tasks import add_task
    from leadsieve.cadences.models import Task
    from leadsieve.leads.queries import lead_scope_condition, scope_leads_for_user

    loner = make_user("lou", role="rep", team=None)
    boss = make_user("tim", role="manager", team=None)
    survivor = make_lead(team=north, owner=bob)
    leads = [
        survivor,
        make_lead(team=north, owner=dave),
        make_lead(team=north, owner=None),
        make_lead(team=south, owner=carol),
        make_lead(team=south, owner=None),
        make_lead(team=None, owner=loner),
        make_lead(team=None, owner=boss),
        make_lead(team=None, owner=None),
        make_lead(team=north, owner=bob, merged_into=survivor),
    ]
    for lead in leads:
        add_task(lead, user=admin_user, title="x", due_at=timezone.now())

    for user in (alice, bob, carol, dave, admin_user, loner, boss):
        in_scope = set(
            Task.objects.filter(lead__in=scope_leads_for_user(user)).values_list("id", flat=True)
        )
        joined = set(Task.objects.filter(lead_scope_condition(user)).values_list("id", flat=True))
        assert joined == in_scope, user.username
        assert in_scope, user.username
