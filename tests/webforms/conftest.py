"""A contact form wired to a source and campaign, as a marketer would define it."""

from __future__ import annotations

from typing import Any

import pytest

FORM_FIELDS = [
    {"name": "first_name", "label": "First name", "required": True},
    {"name": "last_name", "label": "Last name"},
    {"name": "email", "label": "Work email", "required": True},
    {"name": "phone", "label": "Phone"},
    {"name": "company_name", "label": "Company"},
    {"name": "job_title", "label": "Job title"},
    {"name": "need", "label": "What do you need?"},
    {"name": "custom.industry", "type": "select", "choices": ["SaaS", "Retail"]},
    {"name": "custom.seats", "label": "Seats", "type": "number"},
]


@pytest.fixture
def source(db: None) -> Any:
    from leadsieve.leads.models import Source

    return Source.objects.create(name="Website", medium="organic")


@pytest.fixture
def campaign(source: Any) -> Any:
    from leadsieve.leads.models import Campaign

    return Campaign.objects.create(source=source, name="Spring launch", utm_campaign="spring")


@pytest.fixture
def web_form(source: Any, campaign: Any) -> Any:
    from leadsieve.webforms.models import WebForm

    form = WebForm(
        name="Contact us",
        slug="contact",
        fields=FORM_FIELDS,
        source=source,
        campaign=campaign,
        consent_text="I agree to be contacted.",
    )
    form.full_clean()
    form.save()
    return form


@pytest.fixture
def good_post() -> dict[str, str]:
    return {
        "first_name": "ada",
        "last_name": "Lovelace",
        "email": "Ada@Example.org",
        "company_name": "Analytical Engines",
        "consent": "on",
        "custom.industry": "SaaS",
        "custom.seats": "12",
        "utm_source": "newsletter",
        "utm_campaign": "spring",
        "landing_page": "https://www.example.org/pricing?utm_source=newsletter",
        "referrer": "https://news.example.net/",
    }
