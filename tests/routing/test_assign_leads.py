from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

import pytest
import time_machine

from leadsieve.leads.models import Lead, LeadChange
from leadsieve.routing.conditions import InvalidCondition
from leadsieve.routing.models import Absence, Assignment, QueuedLead, RepProfile
from leadsieve.routing.services import (
    NO_RULE_REASON,
    assign_lead,
    assign_leads,
    reassign_lead,
    save_rule,
)
from tests.routing.conftest import MONDAY_MORNING

pytestmark = pytest.mark.django_db


def test_it_rejects_a_rule_with_an_unknown_operator(north: Any) -> None:
    with pytest.raises(InvalidCondition, match="condition 1: unknown operator 'like'"):
        save_rule(name="bad", team=north, conditions=[{"field": "country", "op": "like"}])


def test_it_rejects_a_rule_on_a_field_the_lead_does_not_have(north: Any) -> None:
    with pytest.raises(InvalidCondition, match="lead has no field 'shoe_size'"):
        save_rule(name="bad", team=north, conditions=[{"field": "shoe_size", "op": "eq"}])


def test_it_rejects_an_in_condition_without_a_list(north: Any) -> None:
    with pytest.raises(InvalidCondition, match="needs a list value"):
        save_rule(
            name="bad", team=north, conditions=[{"field": "country", "op": "in", "value": "FR"}]
        )


@time_machine.travel(MONDAY_MORNING, tick=False)
def test_it_queues_a_lead_no_rule_matches_with_the_reason(make_lead: Any) -> None:
    lead = make_lead(rating=50)
    assert assign_lead(lead) is None
    assert QueuedLead.objects.get(lead=lead).reason == NO_RULE_REASON
    assert lead.owner is None


@time_machine.travel(MONDAY_MORNING, tick=False)
def test_it_queues_when_every_rep_is_out_of_office(
    make_lead: Any, make_rep: Any, north: Any, north_rule: Any
) -> None:
    dan = make_rep("dan", team=north)
    Absence.objects.create(user=dan, starts_on=date(2026, 11, 20), ends_on=date(2026, 11, 27))
    lead = make_lead(rating=80)
    assert assign_lead(lead) is None
    assert "Dan is out of office" in QueuedLead.objects.get(lead=lead).reason


@time_machine.travel("2026-11-23 20:00Z", tick=False)
def test_it_queues_outside_working_hours_in_the_reps_zone(
    make_lead: Any, make_rep: Any, north: Any, north_rule: Any
) -> None:
    make_rep("dan", team=north)
    lead = make_lead()
    assert assign_lead(lead) is None
    assert (
        "outside working hours (09:00–17:00 Europe/Paris)"
        in QueuedLead.objects.get(lead=lead).reason
    )


@time_machine.travel("2026-11-23 20:00Z", tick=False)
def test_it_assigns_a_rep_whose_own_zone_is_still_working(
    make_lead: Any, make_rep: Any, north: Any, north_rule: Any
) -> None:
    sam = make_rep("sam", team=north)
    sam.timezone = "America/Los_Angeles"
    sam.save()
    lead = make_lead()
    assert assign_lead(lead).rep == sam


@time_machine.travel("2026-11-22 10:00Z", tick=False)
def test_it_does_not_assign_on_a_day_off(
    make_lead: Any, make_rep: Any, north: Any, north_rule: Any
) -> None:
    make_rep("dan", team=north)
    lead = make_lead()
    assert assign_lead(lead) is None
    assert "not working today" in QueuedLead.objects.get(lead=lead).reason


@time_machine.travel(MONDAY_MORNING, tick=False)
def test_it_respects_the_daily_capacity_and_assigns_higher_ratings_first(
    make_lead: Any, make_rep: Any, north: Any, north_rule: Any
) -> None:
    dan = make_rep("dan", team=north, max_new_per_day=2)
    low, best, good = make_lead(rating=10), make_lead(rating=90), make_lead(rating=60)
    result = assign_leads(Lead.objects.all())
    assert result.assigned == {best.pk: dan.pk, good.pk: dan.pk}
    assert "at daily capacity (2/2)" in result.queued[low.pk]


@time_machine.travel(MONDAY_MORNING, tick=False)
def test_it_respects_the_open_lead_capacity(
    make_lead: Any, make_rep: Any, north: Any, north_rule: Any
) -> None:
    dan = make_rep("dan", team=north, max_open=1)
    make_lead(owner=dan)
    lead = make_lead()
    assert assign_lead(lead) is None
    assert "open-lead capacity (1/1)" in QueuedLead.objects.get(lead=lead).reason


@time_machine.travel(MONDAY_MORNING, tick=False)
def test_it_routes_by_round_robin(
    make_lead: Any, make_rep: Any, north: Any, north_rule: Any
) -> None:
    dan, eve = make_rep("dan", team=north), make_rep("eve", team=north)
    for _ in range(4):
        make_lead()
    result = assign_leads(Lead.objects.all())
    assert Counter(result.assigned.values()) == {dan.pk: 2, eve.pk: 2}


@time_machine.travel(MONDAY_MORNING, tick=False)
def test_it_routes_by_weight(make_lead: Any, make_rep: Any, north: Any) -> None:
    save_rule(name="weighted", team=north, conditions=[], strategy="weighted_round_robin")
    dan, eve = make_rep("dan", team=north, weight=2), make_rep("eve", team=north, weight=1)
    for _ in range(6):
        make_lead()
    result = assign_leads(Lead.objects.all())
    assert Counter(result.assigned.values()) == {dan.pk: 4, eve.pk: 2}


@time_machine.travel(MONDAY_MORNING, tick=False)
def test_it_routes_to_the_least_loaded_rep(make_lead: Any, make_rep: Any, north: Any) -> None:
    save_rule(name="balance", team=north, conditions=[], strategy="least_loaded")
    dan, eve = make_rep("dan", team=north), make_rep("eve", team=north)
    for _ in range(3):
        make_lead(owner=dan)
    lead = make_lead()
    assert assign_lead(lead).rep == eve


@time_machine.travel(MONDAY_MORNING, tick=False)
def test_it_routes_key_accounts_to_the_named_owner_only(
    make_lead: Any, make_rep: Any, north: Any
) -> None:
    dan, eve = make_rep("dan", team=north), make_rep("eve", team=north)
    save_rule(
        name="Key accounts",
        team=north,
        conditions=[{"field": "custom.segment", "op": "eq", "value": "key"}],
        strategy="named_owner",
        named_owner=eve,
    )
    assert assign_lead(make_lead(custom={"segment": "key"})).rep == eve
    Absence.objects.create(user=eve, starts_on=date(2026, 11, 23), ends_on=date(2026, 11, 23))
    lead = make_lead(custom={"segment": "key"})
    assert assign_lead(lead) is None
    assert "named owner Eve is out of office" in QueuedLead.objects.get(lead=lead).reason
    assert dan.owned_leads.count() == 0


@time_machine.travel(MONDAY_MORNING, tick=False)
def test_the_first_matching_rule_picks_the_team(
    make_lead: Any, make_rep: Any, north: Any, south: Any
) -> None:
    save_rule(
        name="French speakers",
        team=north,
        position=1,
        conditions=[
            {"field": "language", "op": "in", "value": ["fr"]},
            {"field": "rating", "op": "gte", "value": 50},
        ],
    )
    save_rule(name="Everybody else", team=south, position=2, conditions=[])
    dan = make_rep("dan", team=north)
    sue = make_rep("sue", team=south)
    sue.timezone = "Europe/Paris"
    sue.save()
    assert assign_lead(make_lead(language="fr", rating=70)).rep == dan
    assert assign_lead(make_lead(language="fr", rating=20)).rep == sue


@time_machine.travel(MONDAY_MORNING, tick=False)
def test_every_assignment_records_why_and_audits_the_lead(
    make_lead: Any, make_rep: Any, north: Any, north_rule: Any
) -> None:
    dan = make_rep("dan", team=north)
    make_lead(owner=dan)
    lead = make_lead()
    assignment = assign_lead(lead)
    assert assignment.rule == north_rule
    assert assignment.strategy == "round_robin"
    assert assignment.open_leads == 1
    assert assignment.new_today == 0
    assert "Everything to North" in assignment.reason
    change = LeadChange.objects.get(lead=lead, action="assign")
    assert change.changes["owner"] == [None, dan.pk]
    assert lead.owner == dan and lead.team == north and lead.assigned_at is not None


@time_machine.travel(MONDAY_MORNING, tick=False)
def test_it_does_not_assign_a_lead_that_already_has_an_owner(
    make_lead: Any, make_rep: Any, north: Any, north_rule: Any
) -> None:
    dan = make_rep("dan", team=north)
    result = assign_leads(Lead.objects.filter(pk=make_lead(owner=dan).pk))
    assert result.skipped == 1 and not result.assigned


@time_machine.travel(MONDAY_MORNING, tick=False)
def test_reassignment_keeps_the_history(
    make_lead: Any, make_rep: Any, north: Any, north_rule: Any
) -> None:
    dan, eve = make_rep("dan", team=north), make_rep("eve", team=north)
    lead = make_lead()
    first = assign_lead(lead)
    second = reassign_lead(lead, reason="owner on holiday")
    assert {first.rep, second.rep} == {dan, eve}
    assert second.previous_rep == first.rep
    assert Assignment.objects.filter(lead=lead).count() == 2
    assert LeadChange.objects.filter(lead=lead, action="reassign").count() == 1


@time_machine.travel(MONDAY_MORNING, tick=False)
def test_a_queued_lead_is_assigned_later_and_leaves_the_queue(
    make_lead: Any, make_rep: Any, north: Any, north_rule: Any
) -> None:
    dan = make_rep("dan", team=north)
    RepProfile.objects.filter(user=dan).update(accepts_leads=False)
    lead = make_lead()
    assert assign_lead(lead) is None
    assert "no rep who takes leads" in QueuedLead.objects.get(lead=lead).reason
    RepProfile.objects.filter(user=dan).update(accepts_leads=True)
    assert assign_lead(lead).rep == dan
    assert not QueuedLead.objects.filter(lead=lead).exists()


@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        ([{"field": "country", "op": "in", "value": ["fr", "BE"]}], True),
        ([{"field": "country", "op": "not_in", "value": ["FR"]}], False),
        ([{"field": "country", "op": "eq", "value": "fr"}], True),
        ([{"field": "rating", "op": "gt", "value": "40"}], True),
        ([{"field": "rating", "op": "lt", "value": 40}], False),
        ([{"field": "company.industry", "op": "eq", "value": "x"}], False),
        ([{"field": "custom.segment", "op": "startswith", "value": "ent"}], True),
        ([{"field": "language", "op": "is_empty"}], True),
        ([{"field": "job_title", "op": "contains", "value": "CTO"}], True),
        ([], True),
    ],
)
def test_compiled_conditions_agree_with_matches(
    make_lead: Any, conditions: list[dict[str, Any]], expected: bool
) -> None:
    from leadsieve.routing.conditions import compile_conditions, matches

    lead = make_lead(country="FR", rating=50, custom={"segment": "enterprise"}, job_title="cto")
    assert matches(lead, conditions) is expected
    assert compile_conditions(conditions)(lead) is expected


@time_machine.travel(MONDAY_MORNING, tick=False)
def test_another_teams_rule_never_takes_a_lead_that_belongs_to_a_team(
    make_lead: Any, make_rep: Any, north: Any, south: Any, north_rule: Any
) -> None:
    # South's manager puts a catch-all rule ahead of every other rule.
    save_rule(name="Grab everything", team=south, conditions=[], position=0)
    north_rule.position = 1
    north_rule.save()
    dan = make_rep("dan", team=north)
    make_rep("sue", team=south)  # 04:00 in New York: South's rule queues for South
    norths = make_lead(team=north, rating=70)
    nobodys = make_lead(rating=60)

    taken = assign_lead(norths)
    assert taken is not None and (taken.rep, taken.team) == (dan, north)
    assert assign_lead(nobodys) is None  # a lead no team holds yet follows the rule order
    assert QueuedLead.objects.get(lead=nobodys).team == south
    assert not QueuedLead.objects.filter(lead=norths).exists()


@time_machine.travel(MONDAY_MORNING, tick=False)
def test_a_hand_assignment_records_deadline_and_queue_and_taking_back_routes_again(
    make_lead: Any, make_rep: Any, north: Any, north_rule: Any, alice: Any
) -> None:
    from leadsieve.routing.models import LeadDeadline
    from leadsieve.routing.services import assign_leads_by_hand

    dan = make_rep("dan", team=north)
    lead = make_lead(team=north)
    QueuedLead.objects.create(lead=lead, reason="nobody on duty", team=north)

    assert assign_leads_by_hand([lead], dan, user=alice, reason="knows the account") == 1
    assert assign_leads_by_hand([lead], dan, user=alice) == 0  # already his: nothing written
    lead.refresh_from_db()
    assignment = Assignment.objects.get(lead=lead)
    assert (lead.owner, assignment.reason, assignment.assigned_by) == (
        dan,
        "knows the account",
        alice,
    )
    assert LeadDeadline.objects.get(lead=lead).owner == dan
    assert not QueuedLead.objects.filter(lead=lead).exists()

    assert assign_leads_by_hand([lead], None, user=alice, reason="wrong territory") == 1
    lead.refresh_from_db()
    assert lead.owner is None and lead.assigned_at is None
    assert not LeadDeadline.objects.filter(lead=lead).exists()
    taken_back = LeadChange.objects.get(lead=lead, action="unassign")
    assert (taken_back.changes["owner"], taken_back.note) == ([dan.pk, None], "wrong territory")
    assert assign_leads(Lead.objects.filter(pk=lead.pk)).assigned == {lead.pk: dan.pk}
