"""Demo data for the web-form channel: the ``contact`` form the demo site links to."""

from __future__ import annotations

import random

from django.db import transaction

from leadsieve.leads.models import Source
from leadsieve.webforms.models import WebForm

DEMO_SLUG = "contact"
DEMO_FIELDS = [
    {"name": "first_name", "label": "First name", "required": True},
    {"name": "last_name", "label": "Last name", "required": True},
    {"name": "email", "label": "Work email", "required": True},
    {"name": "phone", "label": "Phone"},
    {"name": "company_name", "label": "Company", "required": True},
    {"name": "country", "label": "Country", "required": True},
    {"name": "job_title", "label": "Job title"},
    {"name": "timeline", "label": "When do you plan to decide?"},
    {"name": "need", "label": "What do you need?", "help": "A sentence or two is plenty."},
]


@transaction.atomic
def seed_demo(rng: random.Random) -> None:
    """Create (or leave as is) the demo ``contact`` form; idempotent, ``rng`` unused for now."""
    del rng  # the form is fixed; the signature matches the other apps' seeders
    source, _ = Source.objects.get_or_create(name="Website", defaults={"medium": "organic"})
    WebForm.objects.get_or_create(
        slug=DEMO_SLUG,
        defaults={
            "name": "Contact us",
            "fields": DEMO_FIELDS,
            "source": source,
            "consent_text": "I agree to be contacted about LeadSieve.",
        },
    )
