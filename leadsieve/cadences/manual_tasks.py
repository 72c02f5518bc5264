"""Tasks a person adds by hand from the lead page ("send the contract by Friday").

Cadence steps create their own tasks (``services.run_due_steps``); these are the others.
Both kinds are ``Task`` rows, so Today, completing and skipping treat them alike.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from leadsieve.cadences.models import StepChannel, Task
from leadsieve.cadences.services import CadenceError
from leadsieve.leads.models import Lead, LeadChange

# What a hand-made task may be: a call or email to make, a meeting to hold, or anything else.
MANUAL_TASK_CHANNELS = (StepChannel.CALL, StepChannel.EMAIL, StepChannel.MEETING, StepChannel.TASK)


@transaction.atomic
def add_task(
    lead: Lead,
    *,
    user: Any,
    title: str,
    due_at: datetime,
    channel: str = StepChannel.TASK,
    now: datetime | None = None,
    via: str = "web",
) -> Task:
    """Give the lead's owner (or ``by`` when nobody owns it) something to do by ``due_at``.

    Writes a ``LeadChange`` so the timeline shows who asked for what.
    """
    title = title.strip()
    if not title:
        raise CadenceError("title: say what needs doing")
    if timezone.is_naive(due_at):
        raise CadenceError("due_at: give a time zone (an aware date and time)")
    if channel not in MANUAL_TASK_CHANNELS:
        raise CadenceError(f"channel: {channel!r} is not a kind of task a person adds")
    now = now or timezone.now()
    owner_id = lead.owner_id if lead.owner_id is not None else user.pk
    task = Task.objects.create(
        lead=lead,
        owner_id=owner_id,
        channel=channel,
        title=title[:300],
        due_at=due_at,
        created_at=now,
    )
    LeadChange.objects.create(
        lead=lead,
        changed_at=now,
        user=user,
        via=via,
        action="task_added",
        changes={"task": [None, task.title]},
        note=f"due {timezone.localtime(due_at):%Y-%m-%d %H:%M}",
    )
    return task
