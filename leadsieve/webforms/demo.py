"""Demo data for the web-form channel: the ``contact`` form the demo site links to."""

from __future__ import annotations

import io
import random

from django.db import transaction
from PIL import Image, ImageDraw

from leadsieve.leads.models import Source
from leadsieve.webforms.models import WebForm
from leadsieve.webforms.theme import prepare_logo

DEMO_ACCENT = "#1f5fbf"

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
            "intro": (
                "Tell us a little about your team and we will get back to you within one "
                "working hour."
            ),
            "submit_label": "Talk to sales",
            "accent_color": DEMO_ACCENT,
            "logo": draw_demo_logo(),
        },
    )


def draw_demo_logo() -> bytes:
    """LeadSieve's icon (a funnel on a rounded square) as the PNG a team would upload."""
    size = 128
    picture = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(picture)
    draw.rounded_rectangle((0, 0, size - 1, size - 1), radius=28, fill=DEMO_ACCENT)
    funnel = [(28, 36), (100, 36), (72, 68), (72, 92), (56, 100), (56, 68)]
    draw.polygon(funnel, fill="#ffffff")
    out = io.BytesIO()
    picture.save(out, format="PNG")
    return prepare_logo(out.getvalue())
