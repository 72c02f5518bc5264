"""Writes of the team settings pages, each attributed to the person who made it.

Routing rules go through ``routing.services.save_rule`` (conditions checked there) and
cadences through ``cadences.services.publish_cadence`` (a new version; the published ones
are never edited in place). Every change also writes a Django admin ``LogEntry`` on the
team, so the settings page and the admin history both say who changed what, and when.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import transaction

from leadsieve.accounts.models import Team, User
from leadsieve.cadences.models import Cadence
from leadsieve.cadences.services import publish_cadence
from leadsieve.routing.models import Absence, AssignmentRule, Holiday, RepProfile, SLAPolicy
from leadsieve.routing.services import save_rule

PROFILE_FIELDS = (
    "accepts_leads",
    "max_new_per_day",
    "max_open",
    "weight",
    "work_days",
    "work_start",
    "work_end",
)
POLICY_FIELDS = (
    "first_response_hours",
    "next_touch_days",
    "at_risk_percent",
    "escalate_after_hours",
    "reassign_on_breach",
    "reassign_after_hours",
)
MAX_MESSAGE = 1000


def _shown(value: Any) -> str:
    if value is None or value == "":
        return "–"
    if hasattr(value, "strftime") and hasattr(value, "hour"):
        return str(value.strftime("%H:%M"))
    return str(value)


def describe_changes(before: dict[str, Any], after: dict[str, Any]) -> str:
    """``max open: 200 → 50; weight: 1 → 2`` for the values that differ (in ``after``'s order)."""
    parts = [
        f"{name.replace('_', ' ')}: {_shown(before.get(name))} → {_shown(value)}"
        for name, value in after.items()
        if before.get(name) != value
    ]
    return "; ".join(parts) or "no change"


def record_team_change(team: Team, *, by: User, message: str) -> LogEntry:
    """One line of the team's settings history (also shown in the admin's history of the team)."""
    return LogEntry.objects.create(
        user=by,
        content_type=ContentType.objects.get_for_model(Team),
        object_id=str(team.pk),
        object_repr=str(team)[:200],
        action_flag=CHANGE,
        change_message=message[:MAX_MESSAGE],
    )


@transaction.atomic
def save_team_rule(
    team: Team,
    *,
    by: User,
    name: str,
    conditions: list[dict[str, Any]],
    strategy: str,
    position: int,
    is_active: bool,
    named_owner: User | None = None,
    rule: AssignmentRule | None = None,
) -> AssignmentRule:
    """Create or change one of ``team``'s routing rules (``InvalidCondition`` if refused)."""
    fields = ("name", "conditions", "strategy", "position", "is_active", "named_owner")
    before = {f: getattr(rule, f) for f in fields} if rule is not None else {}
    target = rule or AssignmentRule(team=team)
    target.is_active = is_active
    saved = save_rule(
        name=name,
        team=team,
        conditions=conditions,
        strategy=strategy,
        position=position,
        named_owner=named_owner,
        rule=target,
    )
    after = {f: getattr(saved, f) for f in fields}
    verb = "changed" if before else "added"
    record_team_change(
        team, by=by, message=f"Rule “{saved.name}” {verb}: {describe_changes(before, after)}"
    )
    return saved


@transaction.atomic
def save_rep_profile(member: User, *, by: User, values: dict[str, Any]) -> RepProfile:
    """Set a rep's capacity and working time (creating the routing profile if needed)."""
    profile = RepProfile.objects.select_for_update().filter(user=member).first()
    before = {f: getattr(profile, f) for f in PROFILE_FIELDS} if profile else {}
    profile = profile or RepProfile(user=member)
    after = {f: values[f] for f in PROFILE_FIELDS if f in values}
    for name, value in after.items():
        setattr(profile, name, value)
    profile.save()
    if member.team is not None:
        record_team_change(
            member.team,
            by=by,
            message=f"Capacity and hours of {member}: {describe_changes(before, after)}",
        )
    return profile


@transaction.atomic
def add_absence(
    member: User, *, by: User, starts_on: date, ends_on: date, reason: str = ""
) -> Absence:
    absence = Absence.objects.create(
        user=member, starts_on=starts_on, ends_on=ends_on, reason=reason
    )
    if member.team is not None:
        text = f"Absence of {member} added: {starts_on} – {ends_on}"
        record_team_change(member.team, by=by, message=text + (f" ({reason})" if reason else ""))
    return absence


@transaction.atomic
def remove_absence(absence: Absence, *, by: User) -> None:
    member = absence.user
    text = f"Absence of {member} removed: {absence.starts_on} – {absence.ends_on}"
    absence.delete()
    if member.team is not None:
        record_team_change(member.team, by=by, message=text)


@transaction.atomic
def add_holiday(team: Team, *, by: User, day: date, name: str = "") -> Holiday:
    holiday = Holiday.objects.create(team=team, day=day, name=name)
    record_team_change(team, by=by, message=f"Holiday added: {day} {name}".strip())
    return holiday


@transaction.atomic
def remove_holiday(holiday: Holiday, *, by: User) -> None:
    team = holiday.team
    text = f"Holiday removed: {holiday.day} {holiday.name}".strip()
    holiday.delete()
    if team is not None:
        record_team_change(team, by=by, message=text)


@transaction.atomic
def save_response_deadline(
    team: Team, horizon: str, *, by: User, values: dict[str, Any]
) -> SLAPolicy:
    """Set the team's response deadlines for ``horizon``; running deadlines keep theirs."""
    policy = SLAPolicy.objects.select_for_update().filter(team=team, horizon=horizon).first()
    before = {f: getattr(policy, f) for f in POLICY_FIELDS} if policy else {}
    policy = policy or SLAPolicy(team=team, horizon=horizon)
    after = {f: values[f] for f in POLICY_FIELDS if f in values}
    for name, value in after.items():
        setattr(policy, name, value)
    policy.save()
    record_team_change(
        team,
        by=by,
        message=f"Response deadlines ({policy.get_horizon_display().lower()}): "
        + describe_changes(before, after),
    )
    return policy


def publish_team_cadence(
    team: Team,
    *,
    by: User,
    key: str,
    name: str,
    horizon: str,
    steps: list[dict[str, Any]],
    exit_on: list[str],
) -> Cadence:
    """Publish the edited steps as the team's new current version of cadence ``key``.

    ``publish_cadence`` owns the transaction and the checks (``CadenceError``); earlier
    versions, and the leads enrolled in them, are left exactly as they were.
    """
    with transaction.atomic():
        cadence = publish_cadence(
            team=team, key=key, name=name, horizon=horizon, steps=steps, exit_on=exit_on
        )
        record_team_change(
            team,
            by=by,
            message=f"Cadence “{cadence.name}” ({key}) published as version {cadence.version} "
            f"with {len(steps)} steps",
        )
    return cadence
