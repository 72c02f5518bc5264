"""Heal activity dates stored before the date window existed (leadsieve/leads/date_windows.py).

An activity dated before 1970 (``0001-01-01T00:00+14:00`` is year 0 in UTC: PostgreSQL stores
it, psycopg cannot read it back, and the lead page answered 500 for everyone) or more than a
day after this migration runs (year 9999 pinned "last activity") is re-dated to the moment it
was recorded, its ``created_at`` (or to now, when that is out of the window too). Then each
touched lead's ``last_activity_at`` is its latest activity again.

Every step is one UPDATE: no out-of-window value is ever read into Python. Not reversible:
the old dates were not real ones.
"""

from __future__ import annotations

import datetime as dt

from django.db import migrations
from django.db.models import F, Max, OuterRef, Q, Subquery
from django.utils import timezone

EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
AHEAD = dt.timedelta(days=1)


def _outside(name: str, latest: dt.datetime) -> Q:
    return Q(**{f"{name}__lt": EARLIEST}) | Q(**{f"{name}__gt": latest})


def fix_activity_dates_out_of_window(apps, schema_editor):
    Activity = apps.get_model("leads", "Activity")
    Lead = apps.get_model("leads", "Lead")
    now = timezone.now()
    latest = now + AHEAD
    bad = Activity.objects.filter(_outside("occurred_at", latest))
    lead_ids = sorted(set(bad.values_list("lead_id", flat=True)))
    bad.update(occurred_at=F("created_at"))
    Activity.objects.filter(_outside("occurred_at", latest)).update(occurred_at=now)
    last_activity = (
        Activity.objects.filter(lead=OuterRef("pk"))
        .order_by()
        .values("lead")
        .annotate(latest=Max("occurred_at"))
        .values("latest")
    )
    Lead.objects.filter(Q(pk__in=lead_ids) | _outside("last_activity_at", latest)).update(
        last_activity_at=Subquery(last_activity)
    )


class Migration(migrations.Migration):
    dependencies = [("leads", "0007_index_only_set_activity_columns")]
    operations = [
        migrations.RunPython(fix_activity_dates_out_of_window, migrations.RunPython.noop)
    ]
