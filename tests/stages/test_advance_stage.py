from __future__ import annotations

from typing import Any

import pytest

from leadsieve.leads.models import LeadChange, Outcome
from leadsieve.stages.models import StageChange
from leadsieve.stages.queries import get_stage
from leadsieve.stages.services import advance_stage

pytestmark = pytest.mark.django_db


def test_moving_to_the_same_stage_records_nothing(make_lead: Any, bob: Any) -> None:
    lead = make_lead()
    advance_stage(lead, get_stage("contacted"), user=bob)
    assert advance_stage(lead, get_stage("contacted"), user=bob) is None
    assert StageChange.objects.filter(lead=lead).count() == 1


def test_it_records_the_move_and_the_audit_row(make_lead: Any, bob: Any) -> None:
    lead = make_lead()
    change = advance_stage(lead, get_stage("appointment"), user=bob, reason="meeting booked")
    assert change.to_stage.slug == "appointment" and change.reason == "meeting booked"
    audit = LeadChange.objects.get(lead=lead, action="stage")
    assert audit.user == bob
    lead.refresh_from_db()
    assert lead.stage.slug == "appointment" and lead.stage_changed_at is not None


def test_a_won_stage_closes_the_lead_and_reopening_clears_it(make_lead: Any, bob: Any) -> None:
    lead = make_lead()
    advance_stage(lead, get_stage("won"), user=bob, reason="signed")
    lead.refresh_from_db()
    assert lead.outcome == Outcome.WON and lead.closed_at is not None
    advance_stage(lead, get_stage("negotiation"), user=bob, reason="contract fell through")
    lead.refresh_from_db()
    assert lead.outcome == Outcome.OPEN and lead.closed_at is None


def test_a_lost_stage_keeps_the_reason(make_lead: Any, bob: Any) -> None:
    lead = make_lead()
    advance_stage(lead, get_stage("lost"), user=bob, reason="chose a competitor")
    lead.refresh_from_db()
    assert lead.outcome == Outcome.LOST and lead.outcome_reason == "chose a competitor"
