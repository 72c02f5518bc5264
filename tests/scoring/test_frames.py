from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pandas as pd

from leadsieve.leads.models import Activity, Company, FieldDefinition, Source
from leadsieve.scoring.frames import activity_frame, feature_spec, lead_frame

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
POST_CONTACT_LEAD_FIELDS = ("status", "outcome", "stage", "owner", "rating", "fit_grade")


def test_it_returns_an_empty_frame_with_every_column_for_no_leads(db):
    frame = lead_frame([])
    assert frame.empty
    for column in ("id", "job_title", "budget", "email_domain", "company__size", "source"):
        assert column in frame.columns


def test_it_never_reads_post_contact_lead_fields(make_lead):
    lead = make_lead(status="sql", outcome="won", rating=90, fit_grade="A")
    frame = lead_frame([lead.pk])
    for column in POST_CONTACT_LEAD_FIELDS:
        assert column not in frame.columns
    assert "status" in lead_frame([lead.pk], extra=("status",)).columns


def test_it_flattens_the_lead_its_company_and_source(make_lead):
    company = Company.objects.create(domain="acme.test", industry="software", size=120)
    source = Source.objects.create(name="Webinar")
    lead = make_lead(
        email="Ann@Acme.TEST",
        company=company,
        source=source,
        budget=Decimal("1500.50"),
        consent=True,
        created_at=NOW,
    )
    bare = make_lead(email="")
    frame = lead_frame(lead.__class__.objects.filter(pk__in=[lead.pk, bare.pk])).set_index("id")
    row = frame.loc[lead.pk]
    assert row["email_domain"] == "acme.test"
    assert row["company__industry"] == "software"
    assert row["company__size"] == 120.0
    assert row["source"] == "Webinar"
    assert row["budget"] == 1500.5
    assert bool(row["consent"]) is True
    assert row["created_at"] == pd.Timestamp(NOW)
    empty = frame.loc[bare.pk]
    assert empty["email_domain"] == "" and empty["company__industry"] == ""
    assert pd.isna(empty["budget"]) and pd.isna(empty["company__size"])


def test_it_expands_registered_custom_fields_only(make_lead):
    FieldDefinition.objects.create(key="seats", label="Seats", type="number")
    FieldDefinition.objects.create(
        key="deal_notes", label="Notes", type="text", is_post_contact=True
    )
    lead = make_lead(custom={"seats": 40, "deal_notes": "loves us", "secret": "x"})
    frame = lead_frame([lead.pk])
    assert frame.loc[0, "custom__seats"] == 40
    assert frame.loc[0, "custom__deal_notes"] == "loves us"
    assert "custom__secret" not in frame.columns


def test_the_feature_spec_marks_post_contact_fields_so_the_model_skips_them(db):
    FieldDefinition.objects.create(key="seats", label="Seats", type="number")
    FieldDefinition.objects.create(
        key="deal_notes", label="Notes", type="text", is_post_contact=True
    )
    FieldDefinition.objects.create(key="first_call", label="First call", type="date")
    spec = feature_spec()
    usable = {c.name for c in spec.usable}
    assert "custom__seats" in usable
    assert "custom__deal_notes" not in usable
    assert "custom__first_call" not in {c.name for c in spec.columns}
    assert "do_not_contact" not in usable
    assert not usable & set(POST_CONTACT_LEAD_FIELDS)


def test_activity_frame_stops_at_until(make_lead):
    lead = make_lead()
    Activity.objects.create(
        lead=lead, kind="page_visit", occurred_at=NOW - timedelta(days=1), url="/pricing"
    )
    Activity.objects.create(lead=lead, kind="meeting", occurred_at=NOW + timedelta(days=1))
    frame = activity_frame([lead.pk], until=NOW)
    assert list(frame.columns) == ["lead_id", "kind", "occurred_at", "url", "subject"]
    assert frame["kind"].tolist() == ["page_visit"]
    assert str(frame["occurred_at"].dt.tz) == "UTC"
    assert activity_frame([]).empty
