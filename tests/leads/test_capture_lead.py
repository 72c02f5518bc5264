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
    Source,
)
from leadsieve.leads.services import CaptureRejected, capture_lead

pytestmark = pytest.mark.django_db


def capture(values: dict[str, Any], **options: Any) -> Any:
    options.setdefault("channel", Channel.API)
    options.setdefault("via", "api:test")
    return capture_lead(values, **options)


def errors_of(values: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(CaptureRejected) as raised:
        capture(values)
    return {error.field: error.message for error in raised.value.errors}


def test_it_rejects_unknown_fields_by_name() -> None:
    errors = errors_of({"email": "a@b.test", "is_admin": True, "owner_id": 1})
    assert set(errors) == {"is_admin", "owner_id"}
    assert "Unknown field" in errors["is_admin"]
    assert Lead.objects.count() == 0


def test_it_rejects_an_invalid_email_and_phone_with_one_message_each() -> None:
    errors = errors_of({"email": "not-an-address", "phone": "call me maybe"})
    assert "valid email" in errors["email"]
    assert "valid phone" in errors["phone"]
    assert Lead.objects.count() == 0


def test_it_rejects_bad_country_timeline_role_and_budget() -> None:
    errors = errors_of(
        {
            "email": "a@b.test",
            "country": "Atlantis",
            "timeline": "someday",
            "decision_role": "king",
            "budget": "lots",
        }
    )
    assert set(errors) == {"country", "timeline", "decision_role", "budget"}


def test_it_rejects_a_negative_budget() -> None:
    assert "negative" in errors_of({"email": "a@b.test", "budget": "-5"})["budget"]


def test_it_rejects_a_lead_without_any_identity() -> None:
    errors = errors_of({"job_title": "CTO", "city": "Paris"})
    assert "needs an email, a phone, an external id or a name" in errors["lead"]


def test_it_rejects_over_long_values_instead_of_truncating() -> None:
    errors = errors_of({"email": "a@b.test", "first_name": "x" * 151, "need": "y" * 5001})
    assert errors["first_name"] == "Too long: at most 150 characters."
    assert "5000" in errors["need"]
    assert Lead.objects.count() == 0


def test_it_rejects_objects_where_text_is_expected() -> None:
    errors = errors_of({"email": "a@b.test", "first_name": {"$gt": ""}, "city": ["x"]})
    assert set(errors) == {"first_name", "city"}


def test_it_rejects_a_custom_value_that_is_not_a_flat_object() -> None:
    assert "custom" in errors_of({"email": "a@b.test", "custom": {"nested": {"a": 1}}})


def test_the_error_lists_every_field_in_its_message() -> None:
    with pytest.raises(CaptureRejected) as raised:
        capture({"email": "bad", "phone": "12"})
    assert "email" in str(raised.value)
    assert "phone" in str(raised.value)


def test_it_stores_html_and_script_as_literal_text() -> None:
    outcome = capture(
        {
            "email": "x@acme.test",
            "job_title": "<script>alert(1)</script>",
            "need": "<b>bold</b>\nsecond line\x00",
        }
    )
    lead = Lead.objects.get(pk=outcome.lead.pk)
    assert lead.job_title == "<script>alert(1)</script>"
    assert lead.need == "<b>bold</b>\nsecond line"


def test_it_creates_a_normalised_lead_with_its_touch_and_audit_row(bob: Any) -> None:
    source = Source.objects.create(name="Website")
    outcome = capture(
        {
            "first_name": "  ADA  ",
            "last_name": "LOVELACE",
            "email": " Ada.Lovelace@Analytical.Engines ",
            "phone": "(415) 555-0100",
            "country": "gb",
            "budget": "12000.50",
            "timeline": "Within 3 months",
            "consent": True,
            "consent_text": "Newsletter box",
            "utm_source": "google",
            "custom": {"seats": 12},
        },
        channel=Channel.WEB_FORM,
        via="form:contact",
        source=source,
        user=bob,
    )
    lead = outcome.lead
    assert outcome.created and outcome.merge is None
    assert (lead.first_name, lead.last_name) == ("Ada", "Lovelace")
    assert lead.email == "Ada.Lovelace@analytical.engines"
    assert lead.email_key == "ada.lovelace@analytical.engines"
    assert lead.name_key == "ada lovelace"
    assert lead.phone == "+14155550100"
    assert lead.country == "GB"
    assert str(lead.budget) == "12000.50"
    assert lead.timeline == "quarter"
    assert lead.consent and lead.consent_at is not None and lead.consent_text == "Newsletter box"
    assert lead.created_via == Channel.WEB_FORM and lead.source == source
    assert lead.custom == {"seats": 12}
    assert lead.last_activity_at == outcome.activity.occurred_at
    assert lead.company is not None and lead.company.domain == "analytical.engines"
    activity = outcome.activity
    assert activity.lead == lead and activity.channel == Channel.WEB_FORM
    assert activity.source == source and activity.user == bob
    assert activity.payload["email"] == " Ada.Lovelace@Analytical.Engines "
    change = LeadChange.objects.get(lead=lead)
    assert change.action == "created" and change.via == "form:contact" and change.user == bob


def test_it_does_not_make_a_company_of_a_free_mail_domain() -> None:
    outcome = capture({"email": "someone@gmail.com"})
    assert outcome.lead.company is None


def test_it_attaches_the_company_by_name_when_there_is_no_company_domain() -> None:
    first = capture({"email": "a@gmail.com", "company_name": "ACME, Inc."})
    second = capture({"email": "b@yahoo.com", "company_name": "Acme"})
    assert first.lead.company is not None
    assert first.lead.company_id == second.lead.company_id


def test_it_merges_a_capture_with_the_same_email_in_another_case() -> None:
    first = capture({"email": "ada@acme.test", "first_name": "Ada"})
    second = capture({"email": "  ADA@ACME.TEST ", "job_title": "CTO", "phone": "+1 415 555 0100"})
    assert not second.created
    assert second.lead.pk == first.lead.pk
    lead = Lead.objects.get(pk=first.lead.pk)
    assert lead.job_title == "CTO" and lead.phone == "+14155550100"
    assert Lead.objects.count() == 1
    assert Activity.objects.filter(lead=lead).count() == 2
    merge = second.merge
    assert merge is not None and merge.kind == "capture"
    assert merge.applied["job_title"] == ["", "CTO"]
    assert merge.moved_activity_ids == [second.activity.pk]
    audit = LeadChange.objects.get(lead=lead, action="merged")
    assert audit.changes["job_title"] == ["", "CTO"]
    assert "email" in audit.note


def test_it_merges_a_capture_with_the_same_phone_in_another_format() -> None:
    first = capture({"phone": "+1 (415) 555-0100", "first_name": "Ada"})
    second = capture({"phone": "415.555.0100", "email": "ada@acme.test"})
    assert not second.created and second.lead.pk == first.lead.pk
    assert Lead.objects.get(pk=first.lead.pk).email_key == "ada@acme.test"


def test_it_merges_on_the_same_external_id() -> None:
    first = capture({"external_id": "CRM-1", "first_name": "Ada"})
    second = capture({"external_id": "CRM-1", "city": "London"})
    assert second.lead.pk == first.lead.pk and not second.created


def test_it_never_overwrites_a_stored_value_when_merging() -> None:
    capture({"email": "ada@acme.test", "job_title": "CTO"})
    second = capture({"email": "ada@acme.test", "job_title": "Intern"})
    assert Lead.objects.get(pk=second.lead.pk).job_title == "CTO"


def test_it_queues_the_same_name_at_the_same_company_as_a_likely_duplicate() -> None:
    first = capture({"email": "ada@acme.test", "first_name": "Ada", "last_name": "Lovelace"})
    second = capture({"email": "ada.l@acme.test", "first_name": "ADA", "last_name": "LOVELACE"})
    assert second.created
    candidate = DuplicateCandidate.objects.get()
    assert (candidate.lead_id, candidate.duplicate_of_id) == (second.lead.pk, first.lead.pk)
    assert candidate.status == "open"


def test_it_does_not_queue_the_same_name_at_another_company() -> None:
    capture({"email": "ada@acme.test", "first_name": "Ada", "last_name": "Lovelace"})
    capture({"email": "ada@other.test", "first_name": "Ada", "last_name": "Lovelace"})
    assert DuplicateCandidate.objects.count() == 0


def test_it_only_stores_scoring_is_the_pipelines_next_step(
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        outcome = capture({"email": "ada@acme.test"})
    assert callbacks == []
    assert Lead.objects.get(pk=outcome.lead.pk).scored_at is None


def test_a_merge_record_is_kept_for_every_capture_merge() -> None:
    capture({"email": "ada@acme.test"})
    capture({"email": "ADA@acme.test"})
    capture({"email": "ada@ACME.test"})
    assert MergeRecord.objects.count() == 2
