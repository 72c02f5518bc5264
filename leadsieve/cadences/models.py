"""Cadences: the one follow-up procedure every rep applies, and appointments.

A ``Cadence`` is versioned: editing publishes a new version and running enrolments keep
the version they started with. ``EnrolmentRule`` decides which leads enter which cadence
(short-range qualified → call now; long-range → nurture). Due steps become ``Task`` rows
for the owner; ``Task`` is unique per (enrolment, step), so a tick never creates one twice.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from leadsieve.leads.models import Horizon


class StepChannel(models.TextChoices):
    CALL = "call", "Call"
    EMAIL = "email", "Email"
    SOCIAL = "social", "Social"
    MEETING = "meeting", "Meeting"
    TASK = "task", "Task"


class ExitCondition(models.TextChoices):
    REPLY = "reply", "The lead replied"
    MEETING_BOOKED = "meeting_booked", "A meeting was booked"
    STATUS_CHANGE = "status_change", "The status changed"
    DISQUALIFIED = "disqualified", "Disqualified"
    DO_NOT_CONTACT = "do_not_contact", "Do not contact"


def default_exit_on() -> list[str]:
    return [
        ExitCondition.MEETING_BOOKED,
        ExitCondition.DISQUALIFIED,
        ExitCondition.DO_NOT_CONTACT,
    ]


class Cadence(models.Model):
    """One version of a team's cadence; ``key`` names it across versions."""

    team = models.ForeignKey(
        "accounts.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="cadences"
    )
    key = models.SlugField(max_length=60)
    version = models.PositiveIntegerField(default=1)
    name = models.CharField(max_length=120)
    horizon = models.CharField(max_length=5, choices=Horizon.choices)
    is_current = models.BooleanField(default=True)
    exit_on = models.JSONField(default=default_exit_on, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["key", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "key", "version"], name="cadence_unique_version"
            ),
            models.UniqueConstraint(
                fields=["team", "key"], condition=Q(is_current=True), name="cadence_one_current"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class CadenceStep(models.Model):
    """Step ``position`` (1-based) of a cadence version."""

    cadence = models.ForeignKey(Cadence, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()
    channel = models.CharField(max_length=8, choices=StepChannel.choices)
    delay_days = models.PositiveSmallIntegerField(
        default=0, help_text="Working days after the previous step (0: at once)."
    )
    instruction = models.CharField(max_length=300, blank=True)
    email_subject = models.CharField(max_length=200, blank=True)
    email_body = models.TextField(blank=True, help_text="{first_name}, {company} are filled in.")
    send_automatically = models.BooleanField(
        default=False, help_text="Email steps only: send instead of creating a task."
    )

    class Meta:
        ordering = ["cadence", "position"]
        constraints = [
            models.UniqueConstraint(fields=["cadence", "position"], name="cadencestep_position")
        ]

    def __str__(self) -> str:
        return f"{self.cadence} step {self.position}: {self.get_channel_display()}"


class EnrolmentRule(models.Model):
    """Leads of ``horizon`` in one of ``statuses`` enter the current ``cadence_key``."""

    team = models.ForeignKey(
        "accounts.Team",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="enrolment_rules",
    )
    position = models.PositiveIntegerField(default=0)
    horizon = models.CharField(max_length=5, choices=Horizon.choices)
    statuses = models.JSONField(default=list, blank=True, help_text="Empty: any open status.")
    cadence_key = models.SlugField(max_length=60)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"{self.horizon} {self.statuses} → {self.cadence_key}"


class EnrolmentStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    COMPLETED = "completed", "Completed"
    EXITED = "exited", "Exited"


class Enrolment(models.Model):
    """A lead in a cadence: the next step and when it is due."""

    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="enrolments")
    cadence = models.ForeignKey(Cadence, on_delete=models.PROTECT, related_name="enrolments")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(
        max_length=10, choices=EnrolmentStatus.choices, default=EnrolmentStatus.ACTIVE
    )
    lead_status_at_start = models.CharField(max_length=14, blank=True)
    next_position = models.PositiveSmallIntegerField(default=1)
    next_due_at = models.DateTimeField(null=True, blank=True)
    enrolled_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    exit_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["lead"],
                condition=Q(status="active"),
                name="enrolment_one_active_per_lead",
            )
        ]
        indexes = [
            models.Index(fields=["status", "next_due_at"], name="enrolment_due"),
            models.Index(fields=["lead", "status"], name="enrolment_lead_status"),
        ]

    def __str__(self) -> str:
        return f"Lead {self.lead_id} in {self.cadence_id} ({self.status})"


class TaskStatus(models.TextChoices):
    OPEN = "open", "To do"
    DONE = "done", "Done"
    SKIPPED = "skipped", "Skipped"


class Task(models.Model):
    """Something a rep must do by ``due_at``: the Today list shows the open ones."""

    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="tasks")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="tasks"
    )
    enrolment = models.ForeignKey(
        Enrolment, null=True, blank=True, on_delete=models.CASCADE, related_name="tasks"
    )
    step = models.ForeignKey(
        CadenceStep, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    position = models.PositiveSmallIntegerField(null=True, blank=True)
    channel = models.CharField(max_length=8, choices=StepChannel.choices)
    title = models.CharField(max_length=300)
    due_at = models.DateTimeField()
    status = models.CharField(max_length=8, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    skip_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["due_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["enrolment", "position"],
                condition=Q(enrolment__isnull=False),
                name="task_once_per_enrolment_step",
            )
        ]
        indexes = [
            models.Index(fields=["owner", "status", "due_at"], name="task_owner_due"),
            # A manager's Today walks the team's open tasks by due date (the lead join filters).
            models.Index(fields=["due_at"], condition=Q(status="open"), name="task_open_due"),
        ]

    def __str__(self) -> str:
        return self.title

    def is_late(self) -> bool:
        """Done after its due moment, or still open past it (compare with ``now``)."""
        return self.completed_at is not None and self.completed_at > self.due_at


class AppointmentOutcome(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    HELD = "held", "Held"
    NO_SHOW = "no_show", "No-show"
    RESCHEDULED = "rescheduled", "Rescheduled"
    CANCELLED = "cancelled", "Cancelled"


class Appointment(models.Model):
    """A meeting with a lead; ``uid`` stays stable so calendar apps update, not duplicate."""

    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="appointments")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="appointments"
    )
    uid = models.CharField(max_length=80, unique=True)
    title = models.CharField(max_length=200)
    starts_at = models.DateTimeField()
    duration_minutes = models.PositiveIntegerField(default=30)
    time_zone = models.CharField(max_length=64, default="UTC")
    location = models.CharField(max_length=300, blank=True)
    url = models.CharField(max_length=500, blank=True)
    attendees = models.JSONField(default=list, blank=True, help_text='[{"name", "email"}]')
    notes = models.TextField(blank=True)
    outcome = models.CharField(
        max_length=12, choices=AppointmentOutcome.choices, default=AppointmentOutcome.SCHEDULED
    )
    sequence = models.PositiveIntegerField(default=0, help_text="iCalendar SEQUENCE.")
    rescheduled_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["starts_at", "id"]
        indexes = [models.Index(fields=["owner", "starts_at"], name="appointment_owner_time")]

    def __str__(self) -> str:
        return f"{self.title} at {self.starts_at:%Y-%m-%d %H:%M}"


class CalendarToken(models.Model):
    """The secret in a rep's read-only calendar feed URL; rotate by replacing it."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_token"
    )
    token = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Calendar feed of {self.user}"
