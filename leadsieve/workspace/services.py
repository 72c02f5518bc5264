"""Writes the sales workspace needs before the capture and scoring services grow them.

Each function is one user intention from the web UI, runs in one transaction, re-reads the
rows it changes under a lock (so two reps clicking at once cannot both win silently) and
writes one ``LeadChange`` per lead changed, with the old and new values. Status changes go
through the scoring app's ``set_status_by_hand`` so there is one override rule.
Callers have already checked the user may see the leads (``queries.scope_leads_for_user``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.db import transaction

from leadsieve.accounts.models import User
from leadsieve.leads.models import Activity, ActivityKind, Channel, Lead
from leadsieve.leads.services.activities import record_activity
from leadsieve.pipeline import rescore_on_commit
from leadsieve.scoring.services import set_statuses_by_hand

VIA_WEB = "web"
# Kinds a person logs by hand from the lead page; the rest arrive through capture.
MANUAL_ACTIVITY_KINDS = (
    ActivityKind.CALL,
    ActivityKind.EMAIL_SENT,
    ActivityKind.MEETING,
    ActivityKind.NOTE,
)


@transaction.atomic
def set_leads_status_by_hand(
    leads: Sequence[Lead], status: str, *, user: User, reason: str, via: str = VIA_WEB
) -> int:
    """The bulk form of the scoring app's ``set_status_by_hand``: all leads or none change.

    Each lead gets its own ``status_override`` audit row from that service; the scorecard
    stops changing their status until a person clears the override. Returns the count.
    """
    return set_statuses_by_hand(
        [lead.pk for lead in leads], status, user=user, reason=reason, via=via
    )


@transaction.atomic
def log_activity(
    lead: Lead,
    kind: str,
    *,
    user: User,
    subject: str = "",
    occurred_at: dt.datetime | None = None,
) -> Activity:
    """Record a call, email, meeting or note a person made; it moves ``last_activity_at``.

    The activity row is the audit record itself (kind, who, when), so no ``LeadChange`` is
    written for it: the timeline would otherwise show every call twice.
    """
    if kind not in MANUAL_ACTIVITY_KINDS:
        raise ValueError(f"kind {kind!r} cannot be logged by hand")
    activity = record_activity(
        lead, kind=kind, channel=Channel.MANUAL, user=user, occurred_at=occurred_at, subject=subject
    )
    rescore_on_commit([lead.pk])  # interest is scored from activities
    return activity
