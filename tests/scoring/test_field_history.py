"""Field history for the leakage guard: the share of a column's values set after first contact."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from leadsieve.leads.models import Activity, ActivityKind, Lead, LeadChange
from leadsieve.scoring.field_history import share_set_after_contact
from leadsieve.scoring.frames import lead_frame

T0 = datetime(2025, 3, 1, 9, tzinfo=UTC)


def _lead(i: int, **values) -> Lead:
    return Lead.objects.create(email=f"p{i}@x.test", created_at=T0 - timedelta(days=1), **values)


def test_it_counts_values_set_after_the_first_contact(db):
    late = [_lead(i, custom={"fit": "good"}, job_title="CEO") for i in range(3)]
    early = _lead(3, custom={"fit": "poor"}, job_title="CTO")
    _lead(4)  # nothing filled: not counted
    for lead in [*late, early]:
        Activity.objects.create(lead=lead, kind=ActivityKind.CALL, occurred_at=T0)
    for lead in late:
        LeadChange.objects.create(
            lead=lead,
            changed_at=T0 + timedelta(days=2),
            action="update",
            changes={"custom": [{}, {"fit": "good"}]},
        )
    # A job title corrected before the call: set before first contact.
    LeadChange.objects.create(
        lead=early,
        changed_at=T0 - timedelta(hours=1),
        action="update",
        changes={"job_title": ["", "CTO"]},
    )
    frame = lead_frame(Lead.objects.all())
    frame["custom__fit"] = [lead.custom.get("fit") for lead in Lead.objects.order_by("id")]
    shares = share_set_after_contact(frame, ["custom__fit", "job_title", "budget", "absent"])
    assert shares["custom__fit"] == 0.75
    assert shares["job_title"] == 0.0
    assert "budget" not in shares and "absent" not in shares


def test_it_reads_no_history_for_leads_never_contacted(db):
    lead = _lead(0, custom={"fit": "good"})
    LeadChange.objects.create(
        lead=lead, changed_at=T0, action="update", changes={"custom": [{}, {"fit": "good"}]}
    )
    frame = lead_frame(Lead.objects.all())
    frame["custom__fit"] = ["good"]
    assert share_set_after_contact(frame, ["custom__fit"]) == {"custom__fit": 0.0}
