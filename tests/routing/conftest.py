"""Routing fixtures: reps with profiles, and a rule sending every lead to North."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

# Monday 23 November 2026, 10:00 in Paris (North's zone): everybody is at work.
MONDAY_MORNING = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
def make_rep(make_user: Callable[..., Any]) -> Callable[..., Any]:
    from leadsieve.routing.models import RepProfile

    def make(username: str, *, team: Any, **profile: Any) -> Any:
        user = make_user(username, role="rep", team=team)
        RepProfile.objects.create(user=user, **profile)
        return user

    return make


@pytest.fixture
def north_rule(north: Any) -> Any:
    from leadsieve.routing.services import save_rule

    return save_rule(name="Everything to North", team=north, conditions=[], strategy="round_robin")


@pytest.fixture
def make_lead(make_lead: Any) -> Any:
    """Leads here agreed to be contacted unless a test says otherwise: outreach needs consent."""

    def make(**overrides: Any) -> Any:
        return make_lead(**{"consent": True, **overrides})

    return make
