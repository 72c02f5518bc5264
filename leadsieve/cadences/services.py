"""Cadence writes: publish a version, enrol, exit, turn due steps into tasks, finish tasks.

Time-based work (``enrol_due_leads``, ``resurface_leads``, ``run_due_steps``) runs in
small transactions of ``CHUNK`` enrolments and keeps its state in the database, so a
crash mid-tick loses nothing and a second run does nothing twice (``Task`` is unique per
enrolment step; chunks are read inside the transaction that writes them).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from leadsieve.cadences.models import (
    Appointment,
    Cadence,
    CadenceStep,
    Enrolment,
    EnrolmentRule,
    EnrolmentStatus,
    ExitCondition,
    StepChannel,
    Task,
    TaskStatus,
)
from leadsieve.leads.models import (
    Activity,
    ActivityKind,
    Horizon,
    Lead,
    LeadChange,
    Outcome,
    Status,
)
from leadsieve.routing.bulk import insert_rows
from leadsieve.routing.calendar import WorkCalendar
from leadsieve.routing.deadlines import restart_deadline
from leadsieve.routing.queries import get_calendars

CHUNK = 2000
STEP_CHUNK = 5000
CHANNEL_LABELS = dict(StepChannel.choices)
ACTIVITY_FOR_CHANNEL = {
    StepChannel.CALL: ActivityKind.CALL,
    StepChannel.EMAIL: ActivityKind.EMAIL_SENT,
    StepChannel.SOCIAL: ActivityKind.SOCIAL,
    StepChannel.MEETING: ActivityKind.MEETING,
    StepChannel.TASK: ActivityKind.NOTE,
}
RESURFACE_REASON = "interest jumped: horizon long → short"

# Steps that reach out to the lead: each needs the lead's consent (and no do-not-contact).
# Meetings are booked with the lead (they already agreed); tasks are the rep's own work.
OUTREACH_CHANNELS = frozenset({StepChannel.EMAIL, StepChannel.CALL, StepChannel.SOCIAL})


class CadenceError(ValueError):
    """A cadence definition or a task action that cannot be accepted; says what and where."""


# --- Definitions ---------------------------------------------------------------------------


@transaction.atomic
def publish_cadence(
    *,
    team: Any,
    key: str,
    name: str,
    horizon: str,
    steps: list[dict[str, Any]],
    exit_on: list[str] | None = None,
    now: datetime | None = None,
) -> Cadence:
    """A new current version of cadence ``key``; running enrolments keep their version."""
    if horizon not in Horizon.values:
        raise CadenceError(f"horizon {horizon!r} must be one of {Horizon.values}")
    if not steps:
        raise CadenceError("a cadence needs at least one step")
    for number, step in enumerate(steps, start=1):
        if step.get("channel") not in StepChannel.values:
            raise CadenceError(f"step {number}: channel must be one of {StepChannel.values}")
        delay = step.get("delay_days", 0)
        if not isinstance(delay, int) or delay < 0:
            raise CadenceError(f"step {number}: delay_days must be a whole number ≥ 0")
    exits = exit_on if exit_on is not None else None
    if exits is not None and not set(exits) <= set(ExitCondition.values):
        raise CadenceError(f"exit_on must be among {ExitCondition.values}")
    previous = Cadence.objects.select_for_update().filter(team=team, key=key)
    version = (previous.aggregate(v=Max("version"))["v"] or 0) + 1
    previous.update(is_current=False)
    cadence = Cadence.objects.create(
        team=team,
        key=key,
        name=name,
        horizon=horizon,
        version=version,
        created_at=now or timezone.now(),
        **({"exit_on": exits} if exits is not None else {}),
    )
    CadenceStep.objects.bulk_create(
        CadenceStep(cadence=cadence, position=number, **step)
        for number, step in enumerate(steps, start=1)
    )
    return cadence


STEP_FIELDS = (
    "channel",
    "delay_days",
    "instruction",
    "email_subject",
    "email_body",
    "send_automatically",
)


@transaction.atomic
def publish_new_version_of(cadence: Cadence) -> Cadence:
    """Copy ``cadence`` and its steps as the new current version, ready to be edited.

    Versions leads are enrolled in are frozen (the admin shows them read-only) so every
    enrolment keeps the procedure it started with; changing the procedure means a new version.
    """
    steps = list(cadence.steps.order_by("position").values(*STEP_FIELDS))
    return publish_cadence(
        team=cadence.team,
        key=cadence.key,
        name=cadence.name,
        horizon=cadence.horizon,
        steps=steps,
        exit_on=list(cadence.exit_on),
    )


def _current_cadence(key: str, team_id: int | None) -> Cadence | None:
    found = Cadence.objects.filter(key=key, is_current=True)
    own = found.filter(team_id=team_id).first() if team_id is not None else None
    return own or found.filter(team__isnull=True).first()


def _steps(cadence_id: int, cache: dict[int, list[CadenceStep]]) -> list[CadenceStep]:
    if cadence_id not in cache:
        cache[cadence_id] = list(CadenceStep.objects.filter(cadence_id=cadence_id))
    return cache[cadence_id]


# --- Enrolment -----------------------------------------------------------------------------


def _calendar(owner_id: int | None, calendars: dict[int, WorkCalendar]) -> WorkCalendar:
    return calendars.get(owner_id or 0) or WorkCalendar()


@transaction.atomic
def enrol_lead(lead: Lead, cadence: Cadence, *, now: datetime | None = None) -> Enrolment:
    """Put ``lead`` in ``cadence``, leaving any other active cadence first."""
    now = now or timezone.now()
    active = Enrolment.objects.select_for_update().filter(lead=lead, status="active")
    for enrolment in active:
        _end(enrolment, EnrolmentStatus.EXITED, f"moved to {cadence}", now)
    first = cadence.steps.order_by("position").first()
    calendars = get_calendars([lead.owner_id] if lead.owner_id else [], around=now)
    due = _calendar(lead.owner_id, calendars).add_working_days(
        now, first.delay_days if first else 0
    )
    enrolment = Enrolment.objects.create(
        lead=lead,
        cadence=cadence,
        owner_id=lead.owner_id,
        lead_status_at_start=lead.status,
        next_position=1,
        next_due_at=due,
        enrolled_at=now,
    )
    LeadChange.objects.create(
        lead=lead,
        changed_at=now,
        via="cadence",
        action="enrol",
        changes={"cadence": [None, f"{cadence.key} v{cadence.version}"]},
    )
    return enrolment


def _end(enrolment: Enrolment, status: str, reason: str, now: datetime) -> None:
    Enrolment.objects.filter(pk=enrolment.pk).update(
        status=status, ended_at=now, exit_reason=reason[:200], next_due_at=None
    )
    Task.objects.filter(enrolment=enrolment, status=TaskStatus.OPEN).update(
        status=TaskStatus.SKIPPED, skip_reason=f"cadence ended: {reason}"[:200]
    )


@transaction.atomic
def exit_cadence(lead: Lead, *, reason: str, now: datetime | None = None) -> int:
    """End the lead's active enrolment (e.g. a meeting was booked); how many ended."""
    now = now or timezone.now()
    ended = 0
    for enrolment in Enrolment.objects.select_for_update().filter(lead=lead, status="active"):
        _end(enrolment, EnrolmentStatus.EXITED, reason, now)
        LeadChange.objects.create(
            lead=lead,
            changed_at=now,
            via="cadence",
            action="exit_cadence",
            changes={"cadence": [enrolment.cadence_id, None]},
            note=reason[:300],
        )
        ended += 1
    return ended


def _eligible_leads(rule: EnrolmentRule) -> Any:
    leads = Lead.objects.filter(
        owner__isnull=False,
        outcome=Outcome.OPEN,
        merged_into__isnull=True,
        do_not_contact=False,
        horizon=rule.horizon,
    ).exclude(status=Status.DISQUALIFIED)
    if rule.statuses:
        leads = leads.filter(status__in=rule.statuses)
    if rule.team_id:
        leads = leads.filter(team_id=rule.team_id)
    already = Enrolment.objects.filter(Q(status="active") | Q(cadence__key=rule.cadence_key))
    return leads.exclude(id__in=already.values("lead_id"))


def enrol_due_leads(*, now: datetime | None = None) -> int:
    """Enrol every owned open lead an ``EnrolmentRule`` matches and no cadence holds yet.

    A lead that already went through a cadence key is not enrolled in it again.
    """
    now = now or timezone.now()
    n_enrolled = 0
    for rule in EnrolmentRule.objects.filter(is_active=True):
        cadence = _current_cadence(rule.cadence_key, rule.team_id)
        if cadence is None:
            continue
        steps = list(cadence.steps.order_by("position")[:1])
        delay = steps[0].delay_days if steps else 0
        seen: set[int] = set()
        while True:
            with transaction.atomic():
                batch = list(_eligible_leads(rule).values_list("id", "owner_id", "status")[:CHUNK])
                # Stop when nothing is left, or if the same leads come back (never loop).
                if not batch or not seen.isdisjoint(lead_id for lead_id, _, _ in batch):
                    break
                seen.update(lead_id for lead_id, _, _ in batch)
                calendars = get_calendars({o for _, o, _ in batch}, around=now)
                Enrolment.objects.bulk_create(
                    [
                        Enrolment(
                            lead_id=lead_id,
                            cadence=cadence,
                            owner_id=owner_id,
                            lead_status_at_start=status,
                            next_due_at=_calendar(owner_id, calendars).add_working_days(now, delay),
                            enrolled_at=now,
                        )
                        for lead_id, owner_id, status in batch
                    ],
                    ignore_conflicts=True,
                )
                LeadChange.objects.bulk_create(
                    LeadChange(
                        lead_id=lead_id,
                        changed_at=now,
                        via="cadence",
                        action="enrol",
                        changes={"cadence": [None, f"{cadence.key} v{cadence.version}"]},
                    )
                    for lead_id, _, _ in batch
                )
            n_enrolled += len(batch)
    return n_enrolled


def resurface_leads(*, now: datetime | None = None) -> int:
    """Long-range leads whose horizon became short leave nurture, enter the short-range
    cadence and get a fresh first-response deadline."""
    now = now or timezone.now()
    jumped = Enrolment.objects.filter(
        status="active", cadence__horizon=Horizon.LONG, lead__horizon=Horizon.SHORT
    ).select_related("lead")
    n_moved = 0
    for enrolment in list(jumped[:CHUNK]):
        with transaction.atomic():
            lead = Lead.objects.select_for_update().get(pk=enrolment.lead_id)
            current = Enrolment.objects.select_for_update().filter(pk=enrolment.pk, status="active")
            if not current.exists() or lead.horizon != Horizon.SHORT:
                continue
            _end(enrolment, EnrolmentStatus.EXITED, RESURFACE_REASON, now)
            LeadChange.objects.create(
                lead=lead,
                changed_at=now,
                via="cadence",
                action="resurface",
                changes={"horizon": [Horizon.LONG, Horizon.SHORT]},
                note=RESURFACE_REASON,
            )
            restart_deadline(lead, now=now, horizon=Horizon.SHORT)
            rule = (
                EnrolmentRule.objects.filter(is_active=True, horizon=Horizon.SHORT)
                .filter(Q(team_id=lead.team_id) | Q(team__isnull=True))
                .first()
            )
            cadence = _current_cadence(rule.cadence_key, lead.team_id) if rule else None
            if cadence is not None:
                enrol_lead(lead, cadence, now=now)
            n_moved += 1
    return n_moved


# --- Due steps -----------------------------------------------------------------------------

# Columns read per due enrolment: plain values, not model instances, so 100k due steps
# fit in a few seconds.
DUE_FIELDS = (
    "id",
    "lead_id",
    "cadence_id",
    "next_position",
    "next_due_at",
    "enrolled_at",
    "lead_status_at_start",
    "lead__first_name",
    "lead__last_name",
    "lead__email",
    "lead__phone",
    "lead__company_name",
    "lead__owner_id",
    "lead__status",
    "lead__outcome",
    "lead__merged_into_id",
    "lead__do_not_contact",
    "lead__consent",
)
TASK_COLUMNS = (
    "lead",
    "owner",
    "enrolment",
    "step",
    "position",
    "channel",
    "title",
    "due_at",
    "status",
    "skip_reason",
    "created_at",
    "completed_at",
)


def _exit_reason(row: dict[str, Any], exits: list[str], replied: Any, booked: Any) -> str:
    """Why this enrolment must stop now, or "" to go on."""
    if row["lead__do_not_contact"]:
        return ExitCondition.DO_NOT_CONTACT.label
    if row["lead__status"] == Status.DISQUALIFIED:
        return ExitCondition.DISQUALIFIED.label
    if row["lead__outcome"] != Outcome.OPEN or row["lead__merged_into_id"] is not None:
        return "lead closed"
    lead_id, since = row["lead_id"], row["enrolled_at"]
    if ExitCondition.MEETING_BOOKED in exits and lead_id in booked and booked[lead_id] >= since:
        return ExitCondition.MEETING_BOOKED.label
    if ExitCondition.REPLY in exits and lead_id in replied and replied[lead_id] >= since:
        return ExitCondition.REPLY.label
    if ExitCondition.STATUS_CHANGE in exits and row["lead__status"] != row["lead_status_at_start"]:
        return ExitCondition.STATUS_CHANGE.label
    return ""


def _latest(queryset: Any, field: str) -> dict[int, datetime]:
    return dict(queryset.values("lead_id").annotate(at=Max(field)).values_list("lead_id", "at"))


def _emails_sent_since(lead_ids: list[int], since: datetime) -> dict[int, int]:
    counts: dict[int, int] = defaultdict(int)
    for lead_id in Activity.objects.filter(
        lead_id__in=lead_ids, kind=ActivityKind.EMAIL_SENT, occurred_at__gte=since
    ).values_list("lead_id", flat=True):
        counts[lead_id] += 1
    return counts


def _name(row: dict[str, Any]) -> str:
    full = f"{row['lead__first_name']} {row['lead__last_name']}".strip()
    return full or row["lead__email"] or row["lead__phone"] or f"Lead {row['lead_id']}"


def _render(text: str, row: dict[str, Any]) -> str:
    values = {
        "first_name": row["lead__first_name"],
        "last_name": row["lead__last_name"],
        "company": row["lead__company_name"],
    }
    for name, value in values.items():
        text = text.replace("{" + name + "}", value or "")
    return text


def run_due_steps(*, now: datetime | None = None) -> dict[str, int]:
    """Turn every due step into a task (or a sent email) and schedule the next step.

    Returns counts: ``tasks``, ``emails``, ``skipped``, ``exited``, ``completed``.
    """
    now = now or timezone.now()
    totals: dict[str, int] = defaultdict(int)
    steps: dict[int, list[CadenceStep]] = {}
    calendars: dict[int, WorkCalendar] = {}
    due = Enrolment.objects.filter(status="active", next_due_at__lte=now)
    while True:
        ids = list(due.order_by("id").values_list("id", flat=True)[: STEP_CHUNK * 10])
        n_done = 0
        for start in range(0, len(ids), STEP_CHUNK):
            part = ids[start : start + STEP_CHUNK]
            with transaction.atomic():
                # Read again inside the writing transaction: another worker may have gone first.
                # An id range (not a 5,000-value IN list) keeps the statements small.
                # skip_locked: on PostgreSQL a concurrent tick leaves these rows to us (no
                # double email); SQLite serialises the whole transaction anyway.
                window = (
                    due.filter(id__gte=part[0], id__lte=part[-1])
                    .select_for_update(of=("self",), skip_locked=True)
                    .order_by("id")
                )
                chunk = list(window.values(*DUE_FIELDS))
                _run_chunk(chunk, now=now, steps=steps, calendars=calendars, totals=totals)
                n_done += len(chunk)
        if n_done == 0:
            break  # nothing due, or only rows another tick is working on
    return dict(totals)


def _run_chunk(
    chunk: list[dict[str, Any]],
    *,
    now: datetime,
    steps: dict[int, list[CadenceStep]],
    calendars: dict[int, WorkCalendar],
    totals: dict[str, int],
) -> None:
    if not chunk:
        return
    lead_ids = [row["lead_id"] for row in chunk]
    since = min(row["enrolled_at"] for row in chunk)
    in_chunk = Enrolment.objects.filter(
        id__gte=chunk[0]["id"], id__lte=chunk[-1]["id"], status="active"
    ).values("lead_id")
    replied = _latest(
        Activity.objects.filter(
            lead_id__in=in_chunk, kind=ActivityKind.EMAIL_REPLIED, occurred_at__gte=since
        ),
        "occurred_at",
    )
    booked = _latest(
        Appointment.objects.filter(lead_id__in=in_chunk, created_at__gte=since), "created_at"
    )
    cap, cap_days = settings.LEADSIEVE_CONTACT_CAP, settings.LEADSIEVE_CONTACT_CAP_DAYS
    has_email = any(
        s.channel == StepChannel.EMAIL
        for row in chunk
        for s in _steps(row["cadence_id"], steps)
        if s.position == row["next_position"]
    )
    sent = _emails_sent_since(lead_ids, now - timedelta(days=cap_days)) if has_email else {}
    sent = defaultdict(int, sent)
    missing = {row["lead__owner_id"] for row in chunk if row["lead__owner_id"]} - set(calendars)
    calendars.update(get_calendars(missing, around=now))
    exits: dict[int, list[str]] = {}
    for cadence_id in {row["cadence_id"] for row in chunk} - set(exits):
        exits[cadence_id] = Cadence.objects.values_list("exit_on", flat=True).get(pk=cadence_id)
    tasks: list[tuple[Any, ...]] = []
    next_dues: dict[tuple[int | None, datetime, int], datetime] = {}
    activities: list[Activity] = []
    emails: list[EmailMessage] = []
    updates: dict[tuple[str, int, datetime | None, str], list[int]] = defaultdict(list)
    completed_at: datetime | None
    for row in chunk:
        lead_id, owner_id, position = row["lead_id"], row["lead__owner_id"], row["next_position"]
        reason = _exit_reason(row, exits[row["cadence_id"]], replied, booked)
        if reason:
            updates[(EnrolmentStatus.EXITED, position, None, reason)].append(row["id"])
            totals["exited"] += 1
            continue
        cadence_steps = _steps(row["cadence_id"], steps)
        step = next((s for s in cadence_steps if s.position == position), None)
        if step is None:
            updates[(EnrolmentStatus.COMPLETED, position, None, "")].append(row["id"])
            totals["completed"] += 1
            continue
        due = row["next_due_at"] or now
        status: str = TaskStatus.OPEN
        skip_reason, completed_at = "", None
        is_email = step.channel == StepChannel.EMAIL
        if step.channel in OUTREACH_CHANNELS and not (
            row["lead__consent"] and not row["lead__do_not_contact"]
        ):
            status, skip_reason = TaskStatus.SKIPPED, "no consent to be contacted"
            totals["skipped"] += 1
        elif is_email and sent[lead_id] >= cap:
            status = TaskStatus.SKIPPED
            skip_reason = f"contact cap: {sent[lead_id]} emails in {cap_days} days"
            totals["skipped"] += 1
        elif is_email and step.send_automatically and row["lead__email"]:
            status, completed_at = TaskStatus.DONE, now
            subject = _render(step.email_subject, row)
            emails.append(
                EmailMessage(subject, _render(step.email_body, row), to=[row["lead__email"]])
            )
            activities.append(
                Activity(
                    lead_id=lead_id,
                    kind=ActivityKind.EMAIL_SENT,
                    occurred_at=now,
                    subject=subject[:300],
                    payload={"cadence": row["cadence_id"], "step": step.position},
                )
            )
            sent[lead_id] += 1
            totals["emails"] += 1
        else:
            totals["tasks"] += 1
        title = f"{CHANNEL_LABELS[step.channel]}: {_name(row)}"
        if step.instruction:
            title = f"{title} — {step.instruction}"
        tasks.append(
            (
                lead_id,
                owner_id,
                row["id"],
                step.pk,
                step.position,
                step.channel,
                title[:300],
                due,
                status,
                skip_reason,
                now,
                completed_at,
            )
        )
        following = next((s for s in cadence_steps if s.position == step.position + 1), None)
        if following is None:
            next_due = now
        else:
            key = (owner_id, due, following.delay_days)
            if key not in next_dues:
                calendar = _calendar(owner_id, calendars)
                next_dues[key] = calendar.add_working_days(due, following.delay_days)
            next_due = next_dues[key]
        updates[(EnrolmentStatus.ACTIVE, step.position + 1, next_due, "")].append(row["id"])
    insert_rows(Task, TASK_COLUMNS, tasks, ignore_conflicts=True)
    Activity.objects.bulk_create(activities)
    for (new_status, position, due_next, reason), ids in updates.items():
        ended = new_status != EnrolmentStatus.ACTIVE
        Enrolment.objects.filter(id__in=ids).update(
            status=new_status,
            next_position=position,
            next_due_at=due_next,
            exit_reason=reason[:200],
            ended_at=now if ended else None,
        )
    if emails:
        transaction.on_commit(lambda: _send(emails))


def _send(emails: list[EmailMessage]) -> None:
    from django.core.mail import get_connection

    with get_connection(fail_silently=True) as mail_connection:
        mail_connection.send_messages(emails)


# --- Tasks ---------------------------------------------------------------------------------


@transaction.atomic
def complete_task(
    task: Task, *, user: Any, note: str = "", now: datetime | None = None
) -> Activity:
    """Mark the task done and log the touch as an activity on the lead."""
    now = now or timezone.now()
    locked = Task.objects.select_for_update().get(pk=task.pk)
    if locked.status != TaskStatus.OPEN:
        raise CadenceError(f"task {task.pk} is already {locked.get_status_display().lower()}")
    lead = Lead.objects.get(pk=locked.lead_id)
    if lead.do_not_contact and locked.channel != StepChannel.TASK:
        raise CadenceError(f"lead {lead.pk} is marked do-not-contact: skip this task instead")
    if not lead.consent and locked.channel in OUTREACH_CHANNELS:
        raise CadenceError(f"lead {lead.pk} has not agreed to be contacted: skip this task instead")
    Task.objects.filter(pk=task.pk).update(
        status=TaskStatus.DONE, completed_at=now, completed_by=user
    )
    task.status, task.completed_at, task.completed_by = TaskStatus.DONE, now, user
    activity = Activity.objects.create(
        lead=lead,
        kind=ACTIVITY_FOR_CHANNEL[StepChannel(locked.channel)],
        occurred_at=now,
        user=user,
        subject=(note or locked.title)[:300],
        payload={"task": locked.pk},
    )
    Lead.objects.filter(pk=lead.pk).update(last_activity_at=now)
    return activity


@transaction.atomic
def skip_task(task: Task, *, user: Any, reason: str, now: datetime | None = None) -> Task:
    """Skip a task with a reason (counted as skipped in the consistency report)."""
    if not reason.strip():
        raise CadenceError("a reason is required to skip a task")
    updated = Task.objects.filter(pk=task.pk, status=TaskStatus.OPEN).update(
        status=TaskStatus.SKIPPED,
        skip_reason=reason[:200],
        completed_by=user,
        completed_at=now or timezone.now(),
    )
    if not updated:
        raise CadenceError(f"task {task.pk} is not open")
    task.refresh_from_db()
    return task
