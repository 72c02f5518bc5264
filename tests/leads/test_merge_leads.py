from __future__ import annotations

from typing import Any

import pytest

from leadsieve.leads.models import (
    Activity,
    Channel,
    DuplicateCandidate,
    Lead,
    LeadChange,
    MergeRecord,
)
from leadsieve.leads.services import (
    MergeError,
    capture_lead,
    dismiss_duplicate,
    merge_leads,
    unmerge,
)

pytestmark = pytest.mark.django_db
KEPT = [
    "first_name",
    "last_name",
    "email",
    "email_key",
    "phone",
    "job_title",
    "city",
    "company_id",
    "custom",
    "consent",
    "consent_at",
    "last_activity_at",
    "merged_into_id",
    "name_key",
    "budget",
]


def capture(values: dict[str, Any]) -> Any:
    return capture_lead(values, channel=Channel.API, via="api:test")


def snapshot(lead: Lead) -> dict[str, Any]:
    lead.refresh_from_db()
    return {name: getattr(lead, name) for name in KEPT}


def activities(lead: Lead) -> set[int]:
    return set(Activity.objects.filter(lead=lead).values_list("id", flat=True))


def duplicates() -> tuple[Lead, Lead, DuplicateCandidate]:
    first = capture({"email": "ada@acme.test", "first_name": "Ada", "last_name": "Lovelace"})
    second = capture(
        {
            "email": "ada.l@acme.test",
            "first_name": "Ada",
            "last_name": "Lovelace",
            "phone": "+44 20 7946 0000",
            "city": "London",
            "consent": True,
            "custom": {"seats": 3},
        }
    )
    return first.lead, second.lead, DuplicateCandidate.objects.get()


def test_it_refuses_to_merge_a_lead_into_itself(alice: Any) -> None:
    lead = capture({"email": "ada@acme.test"}).lead
    with pytest.raises(MergeError):
        merge_leads(lead, lead, user=alice)


def test_it_refuses_to_merge_an_already_merged_lead(alice: Any) -> None:
    survivor, other, _ = duplicates()
    merge_leads(survivor, other, user=alice)
    with pytest.raises(MergeError):
        merge_leads(survivor, other, user=alice)


def test_it_refuses_to_undo_a_merge_twice(alice: Any) -> None:
    survivor, other, _ = duplicates()
    record = merge_leads(survivor, other, user=alice)
    unmerge(record, user=alice)
    with pytest.raises(MergeError):
        unmerge(record, user=alice)


def test_merging_fills_blanks_moves_touches_and_resolves_the_candidate(alice: Any) -> None:
    survivor, other, candidate = duplicates()
    moved = activities(other)
    record = merge_leads(survivor, other, user=alice)
    survivor.refresh_from_db()
    other.refresh_from_db()
    assert other.merged_into == survivor
    assert survivor.phone == "+442079460000" and survivor.city == "London"
    assert survivor.email == "ada@acme.test"
    assert survivor.consent and survivor.custom == {"seats": 3}
    assert moved <= activities(survivor)
    assert set(record.moved_activity_ids) == moved
    candidate.refresh_from_db()
    assert candidate.status == "merged" and candidate.resolved_by == alice
    assert LeadChange.objects.filter(lead=survivor, action="merged").exists()
    assert Lead.objects.count() == 2


def test_unmerge_restores_both_leads_exactly(alice: Any) -> None:
    survivor, other, candidate = duplicates()
    before = (snapshot(survivor), snapshot(other), activities(survivor), activities(other))
    record = merge_leads(survivor, other, user=alice)
    unmerge(record, user=alice)
    after = (snapshot(survivor), snapshot(other), activities(survivor), activities(other))
    assert after == before
    candidate.refresh_from_db()
    assert candidate.status == "open"
    record.refresh_from_db()
    assert record.is_undone() and record.undone_by == alice


def test_unmerging_a_capture_merge_recreates_the_captured_lead(alice: Any) -> None:
    first = capture({"email": "ada@acme.test", "first_name": "Ada"})
    before = snapshot(first.lead)
    second = capture({"email": "ADA@acme.test", "job_title": "CTO", "city": "London"})
    assert second.merge is not None
    recreated = unmerge(second.merge, user=alice)
    assert snapshot(first.lead) == before
    assert recreated.pk != first.lead.pk
    assert (recreated.email_key, recreated.job_title, recreated.city) == (
        "ada@acme.test",
        "CTO",
        "London",
    )
    assert activities(recreated) == {second.activity.pk}
    assert activities(first.lead) == {first.activity.pk}
    assert MergeRecord.objects.get().is_undone()


def test_dismissing_a_candidate_takes_it_off_the_queue(alice: Any) -> None:
    _, _, candidate = duplicates()
    dismiss_duplicate(candidate, user=alice)
    candidate.refresh_from_db()
    assert candidate.status == "dismissed" and candidate.resolved_by == alice
    with pytest.raises(MergeError):
        dismiss_duplicate(candidate, user=alice)
