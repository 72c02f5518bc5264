"""Reps' loads read in plain SQL equal what the ORM's aggregates give."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import Max


def test_the_last_assignment_of_each_rep_equals_the_orm_aggregate(
    make_rep: Any, make_lead: Any, north: Any
) -> None:
    from leadsieve.routing.loads import get_last_assigned
    from leadsieve.routing.models import Assignment

    bob, dan, eve = (make_rep(name, team=north) for name in ("bob", "dan", "eve"))
    start = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    for n in range(12):  # out of time order: the latest is not the last inserted
        rep = (bob, dan)[n % 2]
        at = start + timedelta(minutes=(n * 7) % 12)
        Assignment.objects.create(lead=make_lead(), rep=rep, team=north, assigned_at=at)
    expected = dict(
        Assignment.objects.filter(rep__isnull=False)
        .values("rep_id")
        .annotate(last=Max("assigned_at"))
        .values_list("rep_id", "last")
    )
    found = get_last_assigned([bob.pk, dan.pk, eve.pk])
    assert found == expected  # eve, never assigned a lead, is absent
    assert eve.pk not in found and all(at.tzinfo is not None for at in found.values())
    assert get_last_assigned([]) == {}
