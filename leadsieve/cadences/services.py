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
from leadsieve.routing.calendar import WorkCalendar
from leadsieve.routing.queries import get_calendars
from leadsieve.routing.sla import restart_sla

CHUNK = 2000
ACTIVITY_FOR_CHANNEL = {
    StepChannel.CALL: ActivityKind.CALL,
    StepChannel.EMAIL: ActivityKind.EMAIL_SENT,
    StepChannel.SOCIAL: ActivityKind.SOCIAL,
    StepChannel.MEETING: ActivityKind.MEETING,
    StepChannel.TASK: ActivityKind.NOTE,
}
RESURFACE_REASON = "interest jumped: horizon long → short"


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


def _current_cadence(key: str, team_id: int | None) -> Cadence | None:
    found = Cadence.objects.filter(key=key, is_current=True)
    return found.filter(team_id=team_id).first() or found.filter(team__isnull=True).first()


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
        while True:
            with transaction.atomic():
                batch = list(_eligible_leads(rule).values_list("id", "owner_id", "status")[:CHUNK])
                if not batch:
                    break
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
            restart_sla(lead, now=now, horizon=Horizon.SHORT)
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


def _exit_reason(
    enrolment: Enrolment,
    lead: Lead,
    exits: set[str],
    replied: dict[int, datetime],
    booked: dict[int, datetime],
) -> str:
    """Why this enrolment must stop now, or "" to go on."""
    if lead.do_not_contact:
        return ExitCondition.DO_NOT_CONTACT.label
    if lead.status == Status.DISQUALIFIED:
        return ExitCondition.DISQUALIFIED.label
    if lead.outcome != Outcome.OPEN or lead.merged_into_id is not None:
        return "lead closed"
    if ExitCondition.MEETING_BOOKED in exits and booked.get(lead.pk, now_min()) >= (
        enrolment.enrolled_at
    ):
        return ExitCondition.MEETING_BOOKED.label
    if ExitCondition.REPLY in exits and replied.get(lead.pk, now_min()) >= enrolment.enrolled_at:
        return ExitCondition.REPLY.label
    if ExitCondition.STATUS_CHANGE in exits and lead.status != enrolment.lead_status_at_start:
        return ExitCondition.STATUS_CHANGE.label
    return ""


def now_min() -> datetime:
    return datetime.min.replace(tzinfo=timezone.get_fixed_timezone(0))


def _latest(queryset: Any, field: str) -> dict[int, datetime]:
    return dict(queryset.values("lead_id").annotate(at=Max(field)).values_list("lead_id", "at"))


def _emails_sent_since(lead_ids: list[int], since: datetime) -> dict[int, int]:
    counts: dict[int, int] = defaultdict(int)
    for lead_id in Activity.objects.filter(
        lead_id__in=lead_ids, kind=ActivityKind.EMAIL_SENT, occurred_at__gte=since
    ).values_list("lead_id", flat=True):
        counts[lead_id] += 1
    return counts


def _render(text: str, lead: Lead) -> str:
    values = {
        "first_name": lead.first_name,
        "last_name": lead.last_name,
        "company": lead.company_name,
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
    last_id = 0
    while True:
        with transaction.atomic():
            chunk = list(
                Enrolment.objects.filter(status="active", next_due_at__lte=now, id__gt=last_id)
                .select_related("lead", "cadence")
                .order_by("id")[:CHUNK]
            )
            if not chunk:
                break
            last_id = chunk[-1].id
            _run_chunk(chunk, now=now, steps=steps, calendars=calendars, totals=totals)
    return dict(totals)


def _run_chunk(
    chunk: list[Enrolment],
    *,
    now: datetime,
    steps: dict[int, list[CadenceStep]],
    calendars: dict[int, WorkCalendar],
    totals: dict[str, int],
) -> None:
    lead_ids = [e.lead_id for e in chunk]
    since = min(e.enrolled_at for e in chunk)
    replied = _latest(
        Activity.objects.filter(
            lead_id__in=lead_ids, kind=ActivityKind.EMAIL_REPLIED, occurred_at__gte=since
        ),
        "occurred_at",
    )
    booked = _latest(
        Appointment.objects.filter(lead_id__in=lead_ids, created_at__gte=since), "created_at"
    )
    cap_days = settings.LEADSIEVE_CONTACT_CAP_DAYS
    sent = _emails_sent_since(lead_ids, now - timedelta(days=cap_days))
    missing = {e.lead.owner_id for e in chunk if e.lead.owner_id} - set(calendars)
    calendars.update(get_calendars(missing, around=now))
    tasks: list[Task] = []
    activities: list[Activity] = []
    emails: list[EmailMessage] = []
    updates: dict[tuple[str, int, datetime | None, str], list[int]] = defaultdict(list)
    for enrolment in chunk:
        lead = enrolment.lead
        reason = _exit_reason(enrolment, lead, set(enrolment.cadence.exit_on), replied, booked)
        if reason:
            updates[(EnrolmentStatus.EXITED, enrolment.next_position, None, reason)].append(
                enrolment.pk
            )
            totals["exited"] += 1
            continue
        cadence_steps = _steps(enrolment.cadence_id, steps)
        step = next((s for s in cadence_steps if s.position == enrolment.next_position), None)
        if step is None:
            updates[(EnrolmentStatus.COMPLETED, enrolment.next_position, None, "")].append(
                enrolment.pk
            )
            totals["completed"] += 1
            continue
        due = enrolment.next_due_at or now
        task = Task(
            lead_id=lead.pk,
            owner_id=lead.owner_id,
            enrolment=enrolment,
            step=step,
            position=step.position,
            channel=step.channel,
            title=f"{step.get_channel_display()}: {lead.display_name()}"
            + (f" — {step.instruction}" if step.instruction else ""),
            due_at=due,
            created_at=now,
        )
        if step.channel == StepChannel.EMAIL and not lead.is_contactable():
            task.status, task.skip_reason = TaskStatus.SKIPPED, "no consent to be contacted"
            totals["skipped"] += 1
        elif step.channel == StepChannel.EMAIL and sent[lead.pk] >= settings.LEADSIEVE_CONTACT_CAP:
            task.status = TaskStatus.SKIPPED
            task.skip_reason = f"contact cap: {sent[lead.pk]} emails in {cap_days} days"
            totals["skipped"] += 1
        elif step.channel == StepChannel.EMAIL and step.send_automatically and lead.email:
            task.status, task.completed_at = TaskStatus.DONE, now
            subject = _render(step.email_subject, lead)
            emails.append(EmailMessage(subject, _render(step.email_body, lead), to=[lead.email]))
            activities.append(
                Activity(
                    lead_id=lead.pk,
                    kind=ActivityKind.EMAIL_SENT,
                    occurred_at=now,
                    subject=subject[:300],
                    payload={"cadence": enrolment.cadence.key, "step": step.position},
                )
            )
            sent[lead.pk] += 1
            totals["emails"] += 1
        else:
            totals["tasks"] += 1
        tasks.append(task)
        following = next((s for s in cadence_steps if s.position == step.position + 1), None)
        next_due = (
            _calendar(lead.owner_id, calendars).add_working_days(due, following.delay_days)
            if following
            else now
        )
        updates[(EnrolmentStatus.ACTIVE, step.position + 1, next_due, "")].append(enrolment.pk)
    Task.objects.bulk_create(tasks, ignore_conflicts=True)
    Activity.objects.bulk_create(activities)
    for (status, position, next_due, reason), ids in updates.items():
        ended = status != EnrolmentStatus.ACTIVE
        Enrolment.objects.filter(id__in=ids).update(
            status=status,
            next_position=position,
            next_due_at=next_due,
            exit_reason=reason[:200],
            ended_at=now if ended else None,
        )
    if emails:
        transaction.on_commit(lambda: _send(emails))


def _send(emails: list[EmailMessage]) -> None:
    from django.core.mail import get_connection

    with get_connection(fail_silently=True) as connection:
        connection.send_messages(emails)


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
