from __future__ import annotations

import random
from typing import Any

import pytest

from leadsieve.cadences.models import Appointment, Cadence, Task
from leadsieve.routing.models import Assignment, AssignmentRule, QueuedLead, RepProfile

pytestmark = pytest.mark.django_db


def test_the_demo_seeds_place_every_lead_and_create_cadences(
    make_lead: Any, make_user: Any, north: Any, south: Any, alice: Any, bob: Any, carol: Any
) -> None:
    from leadsieve.cadences.demo import seed_demo as seed_cadences
    from leadsieve.routing.demo import seed_demo as seed_routing

    rng = random.Random(0)
    for _ in range(30):
        make_lead(
            country=rng.choice(["FR", "US", "DE"]),
            rating=rng.randint(1, 100),
            horizon=rng.choice(["short", "long"]),
            status=rng.choice(["mql", "sql", "new"]),
            consent=True,
        )
    seed_routing(rng)
    seed_cadences(rng)
    assert RepProfile.objects.count() == 3
    assert AssignmentRule.objects.exists()
    assert Assignment.objects.count() + QueuedLead.objects.count() == 30
    assert Cadence.objects.filter(key="call-now").count() == 2
    assert Task.objects.exists() or not Assignment.objects.exists()
    assert Appointment.objects.count() <= 8
