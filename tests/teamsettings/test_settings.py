"""Changing team settings through the pages: validated per field, written through the
routing and cadence services, each change attributed (who, when) in the team's history."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.admin.models import LogEntry
from django.test import Client

from leadsieve.cadences.models import Cadence, CadenceStep, Enrolment
from leadsieve.cadences.services import publish_cadence
from leadsieve.routing.models import Absence, AssignmentRule, DeadlinePolicy, Holiday, RepProfile
from leadsieve.routing.services import save_rule
from leadsieve.teamsettings.queries import list_team_changes

pytestmark = pytest.mark.django_db

PROFILE = {
    "accepts_leads": "on",
    "max_new_per_day": 5,
    "max_open": 40,
    "weight": 2,
    "work_days": [0, 1, 2, 3],
    "work_start": "08:30",
    "work_end": "16:00",
}
DEADLINE = {
    "first_response_hours": 1.5,
    "next_touch_days": 2,
    "at_risk_percent": 60,
    "escalate_after_hours": 1,
    "reassign_after_hours": 3,
}


def _errors(response: Any, form: str = "form") -> dict[str, list[str]]:
    return {name: list(errors) for name, errors in response.context[form].errors.items()}


# --- Routing rules ---------------------------------------------------------------------------


def _rule_post(rows: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "French",
        "position": 1,
        "strategy": "round_robin",
        "conditions-TOTAL_FORMS": len(rows),
        "conditions-INITIAL_FORMS": 0,
        **fields,
    }
    for index, row in enumerate(rows):
        for name, value in row.items():
            data[f"conditions-{index}-{name}"] = value
    return data


def test_it_refuses_a_rule_whose_condition_routing_cannot_apply(
    client_for: Callable[[Any], Client], north: Any, alice: Any
) -> None:
    rows = [
        {"field": "", "op": "", "value": ""},  # an untouched row is not a condition
        {"field": "country", "op": "eq", "value": "FR"},
        {"field": "colour", "op": "eq", "value": "blue"},
    ]
    response = client_for(alice).post(f"/team/{north.pk}/rules/new/", _rule_post(rows))
    assert response.status_code == 400
    formset = response.context["conditions"]
    assert formset.non_form_errors() == ["condition 2: lead has no field 'colour'"]
    assert formset.forms[2].non_field_errors() == ["condition 2: lead has no field 'colour'"]
    assert b"condition 2: lead has no field" in response.content
    assert not AssignmentRule.objects.exists()


def test_it_names_each_bad_field_of_a_rule_and_its_conditions(
    client_for: Callable[[Any], Client], north: Any, alice: Any
) -> None:
    rows = [{"field": "country", "op": "like", "value": "FR"}, {"field": "", "op": "eq"}]
    response = client_for(alice).post(
        f"/team/{north.pk}/rules/new/",
        _rule_post(rows, name="", position=-1, strategy="named_owner"),
    )
    assert response.status_code == 400
    assert set(_errors(response)) == {"name", "position", "named_owner"}
    first, second = response.context["conditions"].forms
    assert set(first.errors) == {"op"} and set(second.errors) == {"field", "value"}


def test_a_manager_adds_and_edits_a_rule_and_the_change_is_attributed(
    client_for: Callable[[Any], Client], north: Any, alice: Any, bob: Any
) -> None:
    client = client_for(alice)
    rows = [
        {"field": "country", "op": "in", "value": "FR, BE"},
        {"field": "rating", "op": "gte", "value": "60"},
        {"field": "email", "op": "not_empty", "value": ""},
    ]
    response = client.post(
        f"/team/{north.pk}/rules/new/",
        _rule_post(
            rows,
            name="French-speaking",
            position=3,
            strategy="named_owner",
            named_owner=bob.pk,
            is_active="on",
        ),
    )
    assert response.status_code == 302
    rule = AssignmentRule.objects.get()
    assert (rule.team, rule.named_owner, rule.position, rule.is_active) == (north, bob, 3, True)
    assert rule.conditions == [
        {"field": "country", "op": "in", "value": ["FR", "BE"]},
        {"field": "rating", "op": "gte", "value": "60"},
        {"field": "email", "op": "not_empty"},
    ]
    page = client.get(f"/team/{north.pk}/rules/{rule.pk}/")
    assert page.context["conditions"].initial[0] == {
        "field": "country",
        "op": "in",
        "value": "FR, BE",
    }

    rows = [{**row, "DELETE": "on"} if row["field"] == "rating" else row for row in rows]
    response = client.post(
        f"/team/{north.pk}/rules/{rule.pk}/",
        _rule_post(rows, name="French-speaking", position=1, strategy="least_loaded"),
    )
    assert response.status_code == 302
    rule.refresh_from_db()
    assert (rule.strategy, rule.position, rule.is_active) == ("least_loaded", 1, False)
    assert [c["field"] for c in rule.conditions] == ["country", "email"]
    latest = list_team_changes(north)[0]
    assert latest.user == alice
    assert "position: 3 → 1" in latest.change_message
    assert "is active: True → False" in latest.change_message


def test_a_rep_of_another_team_cannot_be_a_rules_named_owner(
    client_for: Callable[[Any], Client], north: Any, alice: Any, carol: Any
) -> None:
    response = client_for(alice).post(
        f"/team/{north.pk}/rules/new/",
        _rule_post([], name="X", strategy="named_owner", named_owner=carol.pk),
    )
    assert response.status_code == 400
    assert "named_owner" in _errors(response)


def test_the_settings_page_lists_rules_in_order_with_their_conditions(
    client_for: Callable[[Any], Client], north: Any, alice: Any
) -> None:
    save_rule(name="Second", team=north, conditions=[], position=2)
    save_rule(
        name="First",
        team=north,
        conditions=[{"field": "rating", "op": "gte", "value": 60}],
        position=1,
    )
    content = client_for(alice).get(f"/team/{north.pk}/").content.decode()
    assert content.index("First") < content.index("Second")
    assert "rating at least 60" in content  # the conditions in words, in the rules table


# --- Reps: capacity, hours, absences ---------------------------------------------------------


def test_a_manager_sets_a_reps_capacity_and_hours(
    client_for: Callable[[Any], Client], north: Any, alice: Any, bob: Any
) -> None:
    response = client_for(alice).post(f"/team/{north.pk}/reps/{bob.pk}/", PROFILE)
    assert response.status_code == 302
    profile = RepProfile.objects.get(user=bob)
    assert (profile.max_new_per_day, profile.max_open, profile.weight) == (5, 40, 2)
    assert profile.work_days == [0, 1, 2, 3]
    assert (profile.work_start, profile.work_end) == (dt.time(8, 30), dt.time(16, 0))
    change = list_team_changes(north)[0]
    assert change.user == alice and "max new per day: – → 5" in change.change_message


def test_it_refuses_bad_capacity_and_hours_field_by_field(
    client_for: Callable[[Any], Client], north: Any, alice: Any, bob: Any
) -> None:
    RepProfile.objects.create(user=bob, max_new_per_day=20)
    response = client_for(alice).post(
        f"/team/{north.pk}/reps/{bob.pk}/",
        {**PROFILE, "max_new_per_day": -1, "weight": "x", "work_days": [9], "work_end": "07:00"},
    )
    assert response.status_code == 400
    assert set(_errors(response)) == {"max_new_per_day", "weight", "work_days", "work_end"}
    assert RepProfile.objects.get(user=bob).max_new_per_day == 20
    assert not LogEntry.objects.exists()


def test_a_manager_adds_and_removes_an_absence(
    client_for: Callable[[Any], Client], north: Any, alice: Any, bob: Any
) -> None:
    client = client_for(alice)
    response = client.post(
        f"/team/{north.pk}/absences/",
        {"member": bob.pk, "starts_on": "2030-05-04", "ends_on": "2030-05-08", "reason": "Leave"},
    )
    assert response.status_code == 302
    absence = Absence.objects.get()
    assert (absence.user, absence.starts_on, absence.ends_on) == (
        bob,
        dt.date(2030, 5, 4),
        dt.date(2030, 5, 8),
    )
    assert b"2030-05-04" in client.get(f"/team/{north.pk}/").content
    client.post(f"/team/{north.pk}/absences/{absence.pk}/remove/")
    assert not Absence.objects.exists()
    messages = [entry.change_message for entry in list_team_changes(north)]
    assert messages[0].startswith("Absence of Bob removed") and "added" in messages[1]


def test_it_refuses_an_absence_ending_before_it_starts(
    client_for: Callable[[Any], Client], north: Any, alice: Any, bob: Any
) -> None:
    response = client_for(alice).post(
        f"/team/{north.pk}/absences/",
        {"member": bob.pk, "starts_on": "2030-05-08", "ends_on": "2030-05-04"},
    )
    assert response.status_code == 400
    assert "ends_on" in _errors(response, "absence_form")
    assert b"must end on or after its first day" in response.content
    assert not Absence.objects.exists()


def test_a_manager_adds_a_holiday_and_refuses_a_bad_date(
    client_for: Callable[[Any], Client], north: Any, alice: Any
) -> None:
    client = client_for(alice)
    bad = client.post(f"/team/{north.pk}/holidays/", {"day": "2030-13-45"})
    assert bad.status_code == 400 and "day" in _errors(bad, "holiday_form")
    client.post(f"/team/{north.pk}/holidays/", {"day": "2030-12-25", "name": "Christmas"})
    assert list(Holiday.objects.values_list("team", "day", "name")) == [
        (north.pk, dt.date(2030, 12, 25), "Christmas")
    ]


# --- Response deadlines ----------------------------------------------------------------------


def test_a_manager_sets_response_deadlines_and_bad_values_are_named(
    client_for: Callable[[Any], Client], north: Any, alice: Any
) -> None:
    client = client_for(alice)
    page = client.get(f"/team/{north.pk}/deadlines/short/")
    assert page.context["form"].initial["first_response_hours"] == 2.0
    bad = client.post(
        f"/team/{north.pk}/deadlines/short/",
        {**DEADLINE, "at_risk_percent": 150, "first_response_hours": 0},
    )
    assert bad.status_code == 400
    assert set(_errors(bad)) == {"at_risk_percent", "first_response_hours"}
    assert not DeadlinePolicy.objects.exists()
    client.post(f"/team/{north.pk}/deadlines/short/", {**DEADLINE, "reassign_on_breach": "on"})
    policy = DeadlinePolicy.objects.get(team=north, horizon="short")
    assert (policy.first_response_hours, policy.at_risk_percent, policy.reassign_on_breach) == (
        1.5,
        60,
        True,
    )
    assert client.get(f"/team/{north.pk}/deadlines/mid/").status_code == 404


# --- Cadences --------------------------------------------------------------------------------


def _steps_post(rows: list[dict[str, Any]], **head: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "Call now",
        "horizon": "short",
        "exit_on": ["meeting_booked", "disqualified"],
        "steps-TOTAL_FORMS": len(rows),
        "steps-INITIAL_FORMS": 0,
        "steps-MIN_NUM_FORMS": 1,
        "steps-MAX_NUM_FORMS": 30,
        **head,
    }
    for index, row in enumerate(rows):
        for name, value in row.items():
            data[f"steps-{index}-{name}"] = value
    return data


def test_editing_a_cadence_publishes_a_new_version_and_leaves_the_old_one_alone(
    client_for: Callable[[Any], Client], north: Any, alice: Any, make_lead: Callable[..., Any]
) -> None:
    first = publish_cadence(
        team=north,
        key="call-now",
        name="Call now",
        horizon="short",
        steps=[{"channel": "call", "instruction": "Call"}, {"channel": "email", "delay_days": 1}],
    )
    Enrolment.objects.create(lead=make_lead(team=north), cadence=first)
    client = client_for(alice)
    page = client.get(f"/team/{north.pk}/cadences/{first.pk}/")
    assert page.context["formset"].initial[0]["instruction"] == "Call"
    rows = [
        {"ORDER": 2, "channel": "call", "delay_days": 0, "instruction": "Call"},
        {"ORDER": 1, "channel": "social", "delay_days": 0, "instruction": "Connect first"},
        {"ORDER": 3, "channel": "email", "delay_days": 1, "DELETE": "on"},
        {"ORDER": "", "channel": "", "delay_days": 0},
    ]
    response = client.post(f"/team/{north.pk}/cadences/{first.pk}/", _steps_post(rows))
    assert response.status_code == 302
    second = Cadence.objects.get(team=north, key="call-now", is_current=True)
    assert second.version == 2 and response["Location"].endswith(f"/cadences/{second.pk}/")
    assert list(second.steps.values_list("position", "channel", "instruction")) == [
        (1, "social", "Connect first"),
        (2, "call", "Call"),
    ]
    assert list(CadenceStep.objects.filter(cadence=first).values_list("channel", flat=True)) == [
        "call",
        "email",
    ]
    first.refresh_from_db()
    assert not first.is_current and first.enrolments.count() == 1
    assert "published as version 2" in list_team_changes(north)[0].change_message


def test_a_cadence_draft_with_bad_steps_names_the_row_and_field(
    client_for: Callable[[Any], Client], north: Any, alice: Any
) -> None:
    rows = [
        {"ORDER": 1, "channel": "call", "delay_days": -2, "send_automatically": "on"},
        {"ORDER": 2, "channel": "email", "delay_days": 1, "send_automatically": "on"},
    ]
    response = client_for(alice).post(
        f"/team/{north.pk}/cadences/new/", _steps_post(rows, key="call-now")
    )
    assert response.status_code == 400
    errors = response.context["formset"].errors
    assert set(errors[0]) == {"delay_days", "send_automatically"}
    assert set(errors[1]) == {"email_body"}
    assert not Cadence.objects.exists()


def test_a_cadence_needs_one_step_and_a_free_key(
    client_for: Callable[[Any], Client], north: Any, alice: Any
) -> None:
    publish_cadence(
        team=north, key="nurture", name="N", horizon="long", steps=[{"channel": "email"}]
    )
    rows = [{"ORDER": "", "channel": "", "delay_days": 0}]
    response = client_for(alice).post(
        f"/team/{north.pk}/cadences/new/", _steps_post(rows, key="nurture")
    )
    assert response.status_code == 400
    assert "key" in response.context["head"].errors
    assert response.context["formset"].non_form_errors()
    assert Cadence.objects.count() == 1


def test_a_manager_creates_a_new_cadence(
    client_for: Callable[[Any], Client], north: Any, alice: Any
) -> None:
    rows = [{"ORDER": 1, "channel": "call", "delay_days": 0, "instruction": "Ring"}]
    response = client_for(alice).post(
        f"/team/{north.pk}/cadences/new/", _steps_post(rows, key="ring", horizon="long")
    )
    assert response.status_code == 302
    cadence = Cadence.objects.get()
    assert (cadence.team, cadence.key, cadence.version, cadence.horizon) == (
        north,
        "ring",
        1,
        "long",
    )
    assert cadence.exit_on == ["meeting_booked", "disqualified"]


def test_a_company_wide_cadence_is_copied_for_the_team_not_changed(
    client_for: Callable[[Any], Client], north: Any, alice: Any
) -> None:
    shared = publish_cadence(
        team=None, key="call-now", name="Call now", horizon="short", steps=[{"channel": "call"}]
    )
    rows = [{"ORDER": 1, "channel": "meeting", "delay_days": 0}]
    response = client_for(alice).post(f"/team/{north.pk}/cadences/{shared.pk}/", _steps_post(rows))
    assert response.status_code == 302
    shared.refresh_from_db()
    assert shared.is_current and shared.version == 1
    own = Cadence.objects.get(team=north)
    assert (own.key, own.version) == ("call-now", 1)


# --- Query counts ----------------------------------------------------------------------------


def test_the_settings_page_reads_a_fixed_number_of_queries(
    client_for: Callable[[Any], Client],
    north: Any,
    alice: Any,
    make_user: Callable[..., Any],
    django_assert_max_num_queries: Any,
) -> None:
    for n in range(15):
        rep = make_user(f"rep{n}", team=north)
        RepProfile.objects.create(user=rep)
        Absence.objects.create(user=rep, starts_on="2030-01-01", ends_on="2030-01-02")
        save_rule(
            name=f"Rule {n}", team=north, conditions=[], named_owner=rep, strategy="named_owner"
        )
        publish_cadence(
            team=north, key=f"c{n}", name=f"C{n}", horizon="short", steps=[{"channel": "call"}]
        )
        Holiday.objects.create(team=north, day=f"2030-02-{n + 1:02d}")
    client = client_for(alice)
    client.post(f"/team/{north.pk}/holidays/", {"day": "2030-03-01"})  # one history line
    with django_assert_max_num_queries(13):
        response = client.get(f"/team/{north.pk}/")
    assert response.status_code == 200
    assert len(response.context["settings"].members) == 16
