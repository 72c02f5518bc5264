"""Recording a touch on a lead: the one write every channel (workspace, API) goes through."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone

from leadsieve.accounts.models import User
from leadsieve.leads.date_windows import check_history
from leadsieve.leads.models import Activity, Lead


@transaction.atomic
def record_activity(
    lead: Lead,
    *,
    kind: str,
    channel: str,
    user: User | None,
    occurred_at: dt.datetime | None = None,
    subject: str = "",
    url: str = "",
    payload: Mapping[str, Any] | None = None,
) -> Activity:
    """Store the activity and move ``last_activity_at`` forward.

    Interest is scored from activities: callers rescore the lead after commit
    (``leadsieve.pipeline.rescore_on_commit``).

    The activity row is its own audit record (kind, who, when): no ``LeadChange`` is written,
    or the timeline would show every call twice. A naive ``occurred_at`` is taken as UTC.
    Raises ``DateOutOfWindow`` (nothing stored) when ``occurred_at`` is before 1970 or more
    than a day ahead: such a date broke the lead page and pinned "last activity".
    """
    now = timezone.now()
    when = occurred_at or now
    if timezone.is_naive(when):
        when = timezone.make_aware(when, dt.UTC)
    check_history("occurred_at", when, now=now)
    activity = Activity.objects.create(
        lead=lead,
        kind=kind,
        occurred_at=when,
        channel=channel,
        user=user,
        subject=subject.strip()[:300],
        url=url[:500],
        payload=dict(payload or {}),
        created_at=now,
    )
    fresh = Lead.objects.select_for_update().get(pk=lead.pk)
    if fresh.last_activity_at is None or fresh.last_activity_at < when:
        Lead.objects.filter(pk=lead.pk).update(last_activity_at=when, updated_at=now)
        lead.last_activity_at = when
    return activity
