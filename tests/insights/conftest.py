"""A small history built by hand: three sources, two teams, every step and exit.

Period: March 2026 (``PERIOD``). All moments are UTC. Expected figures are worked out in each
test from the list below, never read back from the code under test.

Ads (generation, team North):
  A1 bob      captured 03-02 10:00, MQL 03-03 10:00, SQL 03-05 10:00, appointment stage
              03-06 10:00, meeting held 03-08 10:00, won 03-12 10:00 (value 1000)
  A2 bob      captured 03-03 10:00, MQL 03-04 10:00, SQL 03-04 12:00, lost 03-10 "Budget"
  A3 bob      captured 03-04 10:00, disqualified 03-05 10:00 "Student"
  A4 (none)   captured 03-05 10:00, nothing since
  A5 bob      captured 03-06 10:00, won 03-10 10:00 with no status recorded (value 200)
  M1 bob      captured 03-05, merged into A1 (never counted)
  O1 bob      captured 02-10 (outside the period), won
Referrals (generation, team South):
  R1 carol    captured 03-02 10:00, MQL 03-04 10:00, SQL 03-09 10:00, won 03-19 10:00 (5000)
  R2 carol    captured 03-10 10:00, SQL 03-11 10:00 then MQL 03-12 10:00 (out of order)
Calls (prospecting, team North):
  C1 (none)   captured 03-15 10:00, MQL 03-16 10:00, lost 03-20 "No need"
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

UTC = dt.UTC
PERIOD = {"from": "2026-03-01", "to": "2026-03-31"}


def at(month: int, day: int, hour: int = 10) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, tzinfo=UTC)


@dataclass
class History:
    leads: dict[str, Any]
    sources: dict[str, Any]
    admin: Any
    alice: Any
    bob: Any
    carol: Any


@pytest.fixture
def history(
    make_lead: Callable[..., Any],
    alice: Any,
    bob: Any,
    carol: Any,
    admin_user: Any,
    north: Any,
    south: Any,
) -> History:
    from leadsieve.cadences.models import Appointment, AppointmentOutcome
    from leadsieve.insights.milestones import refresh_milestones
    from leadsieve.leads.models import Lead, LeadChange, Source, SourceKind, Status
    from leadsieve.stages.models import Stage
    from leadsieve.stages.outcomes import close_lead
    from leadsieve.stages.services import advance_stage

    sources = {
        "Ads": Source.objects.create(name="Ads", kind=SourceKind.GENERATION),
        "Referrals": Source.objects.create(name="Referrals", kind=SourceKind.GENERATION),
        "Calls": Source.objects.create(name="Calls", kind=SourceKind.PROSPECTING),
    }
    leads: dict[str, Any] = {}

    def lead(
        name: str, source: str, team: Any, owner: Any, captured: dt.datetime, **kw: Any
    ) -> Any:
        leads[name] = make_lead(
            first_name=name,
            source=sources[source],
            team=team,
            owner=owner,
            created_at=captured,
            updated_at=captured,
            **kw,
        )
        return leads[name]

    def status(name: str, old: str, new: str, moment: dt.datetime, note: str = "") -> None:
        LeadChange.objects.create(
            lead=leads[name],
            changed_at=moment,
            via="scoring",
            action="status_scored",
            changes={"status": [old, new]},
            note=note,
        )
        Lead.objects.filter(pk=leads[name].pk).update(status=new, status_reason=note)

    def close(name: str, outcome: str, moment: dt.datetime, reason: str) -> None:
        leads[name].refresh_from_db()
        close_lead(leads[name], outcome, user=None, reason=reason, now=moment)

    appointment_stage = Stage.objects.get(slug="appointment")

    lead("A1", "Ads", north, bob, at(3, 2), expected_value=Decimal("1000"))
    status("A1", Status.NEW, Status.MQL, at(3, 3))
    status("A1", Status.MQL, Status.SQL, at(3, 5))
    advance_stage(leads["A1"], appointment_stage, user=bob, now=at(3, 6))
    Appointment.objects.create(
        lead=leads["A1"],
        owner=bob,
        uid="a1@test",
        title="Demo",
        starts_at=at(3, 8),
        outcome=AppointmentOutcome.HELD,
        created_at=at(3, 6),
        updated_at=at(3, 8),
    )
    close("A1", "won", at(3, 12), "Signed")

    lead("A2", "Ads", north, bob, at(3, 3))
    status("A2", Status.NEW, Status.MQL, at(3, 4))
    status("A2", Status.MQL, Status.SQL, at(3, 4, 12))
    close("A2", "lost", at(3, 10), "Budget")

    lead("A3", "Ads", north, bob, at(3, 4))
    status("A3", Status.NEW, Status.DISQUALIFIED, at(3, 5), note="Student")

    lead("A4", "Ads", north, None, at(3, 5))

    lead("A5", "Ads", north, bob, at(3, 6), expected_value=Decimal("200"))
    close("A5", "won", at(3, 10), "Signed")

    lead("M1", "Ads", north, bob, at(3, 5))
    Lead.objects.filter(pk=leads["M1"].pk).update(merged_into=leads["A1"])

    lead("O1", "Ads", north, bob, at(2, 10), expected_value=Decimal("999"))
    close("O1", "won", at(2, 20), "Signed")

    lead("R1", "Referrals", south, carol, at(3, 2), expected_value=Decimal("5000"))
    status("R1", Status.NEW, Status.MQL, at(3, 4))
    status("R1", Status.MQL, Status.SQL, at(3, 9))
    close("R1", "won", at(3, 19), "Signed")

    lead("R2", "Referrals", south, carol, at(3, 10))
    status("R2", Status.NEW, Status.SQL, at(3, 11))
    status("R2", Status.SQL, Status.MQL, at(3, 12))

    lead("C1", "Calls", north, None, at(3, 15))
    status("C1", Status.NEW, Status.MQL, at(3, 16))
    close("C1", "lost", at(3, 20), "No need")

    refresh_milestones(seconds=60)
    return History(leads, sources, admin_user, alice, bob, carol)


@pytest.fixture
def api_as() -> Any:
    """An API client acting as a user (a fresh bearer token)."""
    from leadsieve.api.services import create_api_token
    from tests.api.conftest import ApiClient

    def make(user: Any) -> ApiClient:
        _, raw = create_api_token(user, name="tests")
        return ApiClient(raw)

    return make
