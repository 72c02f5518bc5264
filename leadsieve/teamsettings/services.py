"""Writes of the team settings page (reps' capacity and hours, absences, holidays), each
attributed to the person who made it and recorded in the team's history
(``accounts.teams.record_team_change``). The rule and deadline editors write through
``routing.services``, the cadence editor through ``cadences.publishing``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import transaction

from leadsieve.accounts.models import Team, User
from leadsieve.accounts.teams import describe_changes, record_team_change
from leadsieve.routing.models import Absence, Holiday, RepProfile

PROFILE_FIELDS = (
    "accepts_leads",
    "max_new_per_day",
    "max_open",
    "weight",
    "work_days",
    "work_start",
    "work_end",
)
MAX_MESSAGE = 1000


@transaction.atomic
def save_rep_profile(member: User, *, user: User, values: dict[str, Any]) -> RepProfile:
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
            user=user,
            message=f"Capacity and hours of {member}: {describe_changes(before, after)}",
        )
    return profile


@transaction.atomic
def add_absence(
    member: User, *, user: User, starts_on: date, ends_on: date, reason: str = ""
) -> Absence:
    absence = Absence.objects.create(
        user=member, starts_on=starts_on, ends_on=ends_on, reason=reason
    )
    if member.team is not None:
        text = f"Absence of {member} added: {starts_on} – {ends_on}"
        record_team_change(
            member.team, user=user, message=text + (f" ({reason})" if reason else "")
        )
    return absence


@transaction.atomic
def remove_absence(absence: Absence, *, user: User) -> None:
    member = absence.user
    text = f"Absence of {member} removed: {absence.starts_on} – {absence.ends_on}"
    absence.delete()
    if member.team is not None:
        record_team_change(member.team, user=user, message=text)


@transaction.atomic
def add_holiday(team: Team, *, user: User, day: date, name: str = "") -> Holiday:
    holiday = Holiday.objects.create(team=team, day=day, name=name)
    record_team_change(team, user=user, message=f"Holiday added: {day} {name}".strip())
    return holiday


@transaction.atomic
def remove_holiday(holiday: Holiday, *, user: User) -> None:
    team = holiday.team
    text = f"Holiday removed: {holiday.day} {holiday.name}".strip()
    holiday.delete()
    if team is not None:
        record_team_change(team, user=user, message=text)
