"""Checks for captures by a user who must not reach a lead outside their scope.

``footprint`` is everything a capture could change on or about a lead: its row, its
touches, its audit trail and its merges. A lead out of the capturer's scope must keep it.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from leadsieve.leads.models import Activity, Lead, LeadChange, MergeRecord

# A North lead with every identity a capture matches on, and data nobody in South may read.
NORTH_IDENTITY = {
    "email": "nora.nordqvist@northwind.test",
    "phone": "+14155550100",
    "external_id": "crm-north-1",
}
NORTH_SECRETS = {"last_name": "Halvorsen", "need": "Replace the North CRM", "utm_source": "n-hush"}
# The same identities as a South rep would type them (other case, national phone format).
TYPED_IDENTITIES = [
    {"email": "Nora.Nordqvist@NORTHWIND.test"},
    {"phone": "(415) 555-0100"},
    {"external_id": "crm-north-1"},
]


def make_north_lead(make_lead: Any, team: Any, **overrides: Any) -> Lead:
    values: dict[str, Any] = {
        "first_name": "Nora",
        **NORTH_SECRETS,
        **NORTH_IDENTITY,
        "email_key": NORTH_IDENTITY["email"],
        "city": "",
        "budget": None,
        "team": team,
    }
    values.update(overrides)
    lead: Lead = make_lead(**values)
    return lead


def footprint(lead: Lead) -> dict[str, Any]:
    """The lead's stored row and the ids of its touches, changes and merges."""
    return {
        "row": Lead.objects.filter(pk=lead.pk).values().get(),
        "activities": list(Activity.objects.filter(lead=lead).values_list("id", flat=True)),
        "changes": list(LeadChange.objects.filter(lead=lead).values_list("id", flat=True)),
        "merges": list(
            MergeRecord.objects.filter(Q(survivor=lead) | Q(merged=lead)).values_list(
                "id", flat=True
            )
        ),
    }


def secrets_in(text: str) -> list[str]:
    """The North lead's secrets found in ``text`` (an answer or a page)."""
    return [value for value in NORTH_SECRETS.values() if value in text]
