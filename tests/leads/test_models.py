from __future__ import annotations

from typing import Any

import pytest

from leadsieve.leads.models import LeadChange
from leadsieve.stages.models import Stage


@pytest.mark.django_db
def test_it_ships_default_pipeline_stages() -> None:
    slugs = list(Stage.objects.values_list("slug", flat=True))
    assert slugs == ["new", "contacted", "appointment", "proposal", "negotiation", "won", "lost"]
    assert Stage.objects.get(slug="won").is_won


def test_a_change_describes_itself_old_to_new(make_lead: Any, bob: Any) -> None:
    lead = make_lead()
    change = LeadChange.objects.create(
        lead=lead, user=bob, via="web", action="updated", changes={"status": ["new", "mql"]}
    )
    assert change.describe() == "status: new → mql"


def test_a_lead_shows_its_name_or_contact(make_lead: Any) -> None:
    assert make_lead(first_name="Ada", last_name="Lovelace").display_name() == "Ada Lovelace"
    assert make_lead(first_name="", last_name="", email="x@y.test").display_name() == "x@y.test"
