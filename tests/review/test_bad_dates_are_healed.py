"""Activity dates stored before the date window (issue #16, finding 3) are healed by the
``leads/0008`` data migration, so an upgraded install's lead pages open again.
"""

from __future__ import annotations

import datetime as dt
import importlib
from typing import Any

import pytest
from django.apps import apps
from django.db import connection
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db

MIGRATION = "leadsieve.leads.migrations.0008_fix_activity_dates_out_of_window"
RECORDED = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def _store_year_zero_activity(lead: Any) -> int:
    """What the API stored before: ``0001-01-01T00:00:00+14:00``, year 0 in UTC."""
    from leadsieve.leads.models import Activity

    activity = Activity.objects.create(lead=lead, kind="call", created_at=RECORDED)
    # Written as SQL: Python's datetime cannot even hold the value.
    bad = "0001-01-01 00:00:00+14" if connection.vendor == "postgresql" else "0000-12-31 10:00:00"
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE leads_activity SET occurred_at = %s WHERE id = %s", [bad, activity.pk]
        )
    return activity.pk


def _heal() -> None:
    importlib.import_module(MIGRATION).fix_activity_dates_out_of_window(apps, None)


def _page(user: Any, lead: Any) -> Any:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client.get(reverse("leads:detail", args=[lead.pk]))


def test_a_year_zero_activity_broke_the_lead_page_and_the_migration_heals_it(
    alice: Any, bob: Any, make_lead: Any
) -> None:
    from leadsieve.leads.models import Activity

    lead = make_lead(owner=bob, team=bob.team)
    activity_id = _store_year_zero_activity(lead)
    assert _page(alice, lead).status_code == 500  # the finding, reproduced
    _heal()
    assert _page(alice, lead).status_code == 200
    assert _page(bob, lead).status_code == 200
    assert Activity.objects.get(pk=activity_id).occurred_at == RECORDED


def test_a_year_9999_activity_no_longer_pins_last_activity(bob: Any, make_lead: Any) -> None:
    from leadsieve.leads.models import Activity, Lead

    lead = make_lead(owner=bob, team=bob.team)
    real = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)
    Activity.objects.create(lead=lead, kind="email_opened", occurred_at=real, created_at=real)
    future = dt.datetime(9999, 1, 1, tzinfo=dt.UTC)
    pinned = Activity.objects.create(
        lead=lead, kind="call", occurred_at=future, created_at=RECORDED
    )
    Lead.objects.filter(pk=lead.pk).update(last_activity_at=future)
    untouched = make_lead(owner=bob, team=bob.team)
    Lead.objects.filter(pk=untouched.pk).update(last_activity_at=real)
    _heal()
    assert Activity.objects.get(pk=pinned.pk).occurred_at == RECORDED
    assert Lead.objects.get(pk=lead.pk).last_activity_at == RECORDED
    assert Lead.objects.get(pk=untouched.pk).last_activity_at == real


def test_an_activity_recorded_out_of_the_window_too_is_dated_now(bob: Any, make_lead: Any) -> None:
    from django.utils import timezone

    from leadsieve.leads.models import Activity, Lead

    lead = make_lead(owner=bob, team=bob.team)
    old = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
    activity = Activity.objects.create(lead=lead, kind="call", occurred_at=old, created_at=old)
    before = timezone.now()
    _heal()
    healed = Activity.objects.get(pk=activity.pk).occurred_at
    assert before <= healed <= timezone.now()
    assert Lead.objects.get(pk=lead.pk).last_activity_at == healed
