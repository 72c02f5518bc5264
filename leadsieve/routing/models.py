"""Routing: who gets a lead, why, and how fast they must answer.

Rules and strategies are data; every placement leaves an ``Assignment`` row saying why
(rule, strategy, the rep's load at that moment) and a lead no rule can place waits in
the visible ``QueuedLead`` queue with the reason. Response deadlines live in ``LeadDeadline``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from leadsieve.leads.models import Horizon


class Strategy(models.TextChoices):
    ROUND_ROBIN = "round_robin", "Round robin"
    WEIGHTED_ROUND_ROBIN = "weighted_round_robin", "Weighted round robin"
    LEAST_LOADED = "least_loaded", "Least loaded"
    NAMED_OWNER = "named_owner", "Named owner"


def default_work_days() -> list[int]:
    return [0, 1, 2, 3, 4]


class RepProfile(models.Model):
    """A rep's capacity and working time, read by every strategy."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="rep_profile"
    )
    accepts_leads = models.BooleanField(default=True)
    max_new_per_day = models.PositiveIntegerField(default=20)
    max_open = models.PositiveIntegerField(default=200)
    weight = models.PositiveSmallIntegerField(default=1, help_text="Weighted round robin share.")
    work_days = models.JSONField(default=default_work_days, help_text="0 = Monday … 6 = Sunday.")
    work_start = models.TimeField(default="09:00")
    work_end = models.TimeField(default="17:00")

    def __str__(self) -> str:
        return f"Routing profile of {self.user}"


class Absence(models.Model):
    """Out of office, inclusive dates in the rep's zone."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="absences"
    )
    starts_on = models.DateField()
    ends_on = models.DateField()
    reason = models.CharField(max_length=120, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "ends_on"], name="absence_user_end")]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=models.F("starts_on")), name="absence_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} away {self.starts_on}–{self.ends_on}"


class Holiday(models.Model):
    """A day off for a team (or for everybody when ``team`` is blank)."""

    team = models.ForeignKey(
        "accounts.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="holidays"
    )
    day = models.DateField()
    name = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["day"]

    def __str__(self) -> str:
        return f"{self.name or 'Holiday'} {self.day}"


class AssignmentRule(models.Model):
    """One ordered rule: when every condition holds, ``team`` takes the lead by ``strategy``.

    ``conditions`` is a list of ``{"field": ..., "op": ..., "value": ...}``, evaluated by
    ``routing.conditions.matches`` (never ``eval``).
    """

    name = models.CharField(max_length=120)
    position = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    conditions = models.JSONField(default=list, blank=True)
    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, related_name="rules")
    strategy = models.CharField(
        max_length=24, choices=Strategy.choices, default=Strategy.ROUND_ROBIN
    )
    named_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Only for the named-owner strategy.",
    )

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


class Assignment(models.Model):
    """Why a lead went to a rep: the rule, the strategy and the rep's load at that moment."""

    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="assignments")
    rep = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    previous_rep = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    team = models.ForeignKey(
        "accounts.Team", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    rule = models.ForeignKey(
        AssignmentRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rule_name = models.CharField(max_length=120, blank=True)
    strategy = models.CharField(max_length=24, blank=True)
    reason = models.CharField(max_length=300)
    new_today = models.PositiveIntegerField(default=0, help_text="Rep's new leads today, before.")
    open_leads = models.PositiveIntegerField(default=0, help_text="Rep's open leads, before.")
    assigned_at = models.DateTimeField(default=timezone.now)
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-assigned_at", "-id"]
        indexes = [
            models.Index(fields=["lead", "assigned_at"], name="assignment_lead_time"),
            models.Index(fields=["rep", "assigned_at"], name="assignment_rep_time"),
        ]

    def __str__(self) -> str:
        return f"Lead {self.lead_id} → {self.rep_id}: {self.reason}"


class QueuedLead(models.Model):
    """A lead nobody could take yet, with the reason; retried by every tick."""

    lead = models.OneToOneField("leads.Lead", on_delete=models.CASCADE, related_name="queued")
    reason = models.CharField(max_length=500)
    team = models.ForeignKey(
        "accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    queued_at = models.DateTimeField(default=timezone.now)
    tried_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["queued_at", "id"]

    def __str__(self) -> str:
        return f"Lead {self.lead_id} queued: {self.reason}"


class DeadlinePolicy(models.Model):
    """Response deadlines of a team for one horizon, and what happens on breach."""

    team = models.ForeignKey(
        "accounts.Team", on_delete=models.CASCADE, related_name="deadline_policies"
    )
    horizon = models.CharField(max_length=5, choices=Horizon.choices)
    first_response_hours = models.FloatField(default=2, help_text="Working hours.")
    next_touch_days = models.PositiveIntegerField(default=3, help_text="Working days.")
    at_risk_percent = models.PositiveSmallIntegerField(
        default=75, help_text="Share of the allowed time after which the lead is at risk."
    )
    escalate_after_hours = models.FloatField(
        default=2, help_text="Working hours after the breach before the manager is told."
    )
    reassign_on_breach = models.BooleanField(default=False)
    reassign_after_hours = models.FloatField(
        default=4, help_text="Working hours after the breach before the lead is reassigned."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "horizon"], name="deadlinepolicy_team_horizon")
        ]

    def __str__(self) -> str:
        return f"{self.team} {self.horizon}: {self.first_response_hours} h"


class DeadlineState(models.TextChoices):
    DUE = "due", "Due"
    AT_RISK = "at_risk", "At risk"
    BREACHED = "breached", "Breached"
    MET = "met", "Met"


class LeadDeadline(models.Model):
    """The running deadlines of one lead: restarted on (re)assignment and re-surfacing."""

    lead = models.OneToOneField("leads.Lead", on_delete=models.CASCADE, related_name="deadline")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    policy = models.ForeignKey(
        DeadlinePolicy, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField()
    at_risk_at = models.DateTimeField()
    first_response_due = models.DateTimeField()
    responded_at = models.DateTimeField(null=True, blank=True)
    last_touch_at = models.DateTimeField(null=True, blank=True)
    next_touch_due = models.DateTimeField(null=True, blank=True)
    breached_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["first_response_due"], name="deadline_first_due"),
            models.Index(fields=["next_touch_due"], name="deadline_next_due"),
        ]

    def __str__(self) -> str:
        return f"Deadline of lead {self.lead_id}"

    def state(self, now: object) -> str:
        """Due, at risk, breached or met, at ``now`` (an aware datetime)."""
        if self.responded_at is not None:
            if self.next_touch_due is not None and now > self.next_touch_due:  # type: ignore[operator]
                return DeadlineState.BREACHED
            return DeadlineState.MET
        if now > self.first_response_due:  # type: ignore[operator]
            return DeadlineState.BREACHED
        if now >= self.at_risk_at:  # type: ignore[operator]
            return DeadlineState.AT_RISK
        return DeadlineState.DUE


class BreachKind(models.TextChoices):
    FIRST_RESPONSE = "first_response", "First response"
    NEXT_TOUCH = "next_touch", "Next touch"


class BreachLevel(models.IntegerChoices):
    NOTIFY_OWNER = 1, "Owner notified"
    ESCALATE = 2, "Manager notified"
    REASSIGN = 3, "Reassigned"


class DeadlineBreach(models.Model):
    """One escalation step of one missed deadline: unique, so a tick never repeats it."""

    lead = models.ForeignKey(
        "leads.Lead", on_delete=models.CASCADE, related_name="deadline_breaches"
    )
    kind = models.CharField(max_length=16, choices=BreachKind.choices)
    due_at = models.DateTimeField(help_text="The deadline that was missed.")
    level = models.PositiveSmallIntegerField(choices=BreachLevel.choices)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    notified = models.CharField(max_length=254, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["lead", "kind", "due_at", "level"], name="deadlinebreach_once_per_level"
            )
        ]
        indexes = [models.Index(fields=["owner", "created_at"], name="deadlinebreach_owner_time")]

    def __str__(self) -> str:
        return f"Lead {self.lead_id} {self.kind} breach level {self.level}"
