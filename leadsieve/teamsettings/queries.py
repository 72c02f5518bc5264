"""Reads for the team settings page, scoped to the team the user may manage.

Who may manage which team is ``accounts.teams.get_team_for_user``: an admin any team, a
manager their own team, a rep none. A rep, absence or holiday outside that scope is a 404
(a guessed URL learns nothing).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import Http404

from leadsieve.accounts.models import Team, User
from leadsieve.accounts.teams import can_manage_teams, list_members
from leadsieve.cadences.models import Cadence
from leadsieve.leads.models import Horizon
from leadsieve.routing.deadlines import default_policy
from leadsieve.routing.models import Absence, AssignmentRule, DeadlinePolicy, Holiday, RepProfile
from leadsieve.routing.queries import describe_conditions

N_RECENT_CHANGES = 15
WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def get_default_team_id_for_user(user: Any) -> int | None:
    """Where ``/team/`` leads: a manager's own team, an admin's first team (or none)."""
    if not can_manage_teams(user):
        raise PermissionDenied("Team settings are for managers and admins.")
    if not user.is_admin_role():
        return int(user.team_id) if user.team_id else None
    return Team.objects.order_by("name").values_list("pk", flat=True).first()


def list_teams_for_user(user: Any) -> list[Team]:
    """The teams the picker offers: all for an admin, the own team for a manager."""
    if user.is_admin_role():
        return list(Team.objects.order_by("name"))
    return list(Team.objects.filter(pk=user.team_id))


def get_member(team: Team, user_id: int) -> User:
    """An active member of ``team``; 404 for anyone else."""
    member = list_members(team).filter(pk=user_id).first()
    if member is None:
        raise Http404("No such rep on this team")
    return member


def get_absence(team: Team, absence_id: int) -> Absence:
    absence = Absence.objects.filter(user__team=team, pk=absence_id).first()
    if absence is None:
        raise Http404("No such absence")
    return absence


def get_holiday(team: Team, holiday_id: int) -> Holiday:
    """One of the team's own holidays (company-wide ones are changed in the admin)."""
    holiday = Holiday.objects.filter(team=team, pk=holiday_id).first()
    if holiday is None:
        raise Http404("No such holiday")
    return holiday


@dataclass(frozen=True)
class MemberRow:
    """A team member with their routing profile (None: takes no leads) and absences."""

    user: User
    profile: RepProfile | None
    absences: list[Absence]

    @property
    def work_days_text(self) -> str:
        if self.profile is None:
            return ""
        days = sorted(int(day) for day in self.profile.work_days)
        return " ".join(WEEKDAY_NAMES[day] for day in days if 0 <= day < len(WEEKDAY_NAMES))


@dataclass(frozen=True)
class TeamSettings:
    """Everything the team settings page shows, read in a fixed number of queries."""

    team: Team
    rules: list[AssignmentRule]
    members: list[MemberRow]
    holidays: list[Holiday]
    policies: list[DeadlinePolicy]
    cadences: Sequence[Cadence]
    changes: list[LogEntry]

    @property
    def rule_rows(self) -> list[tuple[AssignmentRule, str]]:
        return [(rule, describe_conditions(rule.conditions)) for rule in self.rules]

    @property
    def absences(self) -> list[tuple[User, Absence]]:
        """Every member's absences from today on, soonest first."""
        found = [(row.user, absence) for row in self.members for absence in row.absences]
        return sorted(found, key=lambda pair: (pair[1].starts_on, pair[1].pk))


def get_team_settings(team: Team, *, today: date) -> TeamSettings:
    """The team's rules, reps, absences from ``today`` on, holidays, deadlines, cadences."""
    users = list(list_members(team))
    profiles = {p.user_id: p for p in RepProfile.objects.filter(user__in=users)}
    absences: dict[int, list[Absence]] = defaultdict(list)
    for absence in Absence.objects.filter(user__in=users, ends_on__gte=today).order_by(
        "starts_on", "id"
    ):
        absences[absence.user_id].append(absence)
    members = [MemberRow(u, profiles.get(u.pk), absences[u.pk]) for u in users]
    policies = {p.horizon: p for p in DeadlinePolicy.objects.filter(team=team)}
    cadences = list(
        Cadence.objects.filter(Q(team=team) | Q(team__isnull=True))
        .filter(is_current=True)
        .select_related("team")
        .annotate(n_steps=Count("steps"))
        .order_by("key", "team_id")
    )
    return TeamSettings(
        team=team,
        rules=list(
            AssignmentRule.objects.filter(team=team)
            .select_related("named_owner")
            .order_by("position", "id")
        ),
        members=members,
        holidays=list(
            Holiday.objects.filter(Q(team=team) | Q(team__isnull=True), day__gte=today)
            .select_related("team")
            .order_by("day", "id")
        ),
        policies=[policies.get(h) or default_policy(team, h) for h in Horizon.values],
        cadences=cadences,
        changes=list_team_changes(team),
    )


def list_team_changes(team: Team, *, limit: int = N_RECENT_CHANGES) -> list[LogEntry]:
    """The latest settings changes of ``team``: who, when, what (newest first)."""
    content_type = ContentType.objects.get_for_model(Team)
    return list(
        LogEntry.objects.filter(content_type=content_type, object_id=str(team.pk))
        .select_related("user")
        .order_by("-action_time", "-id")[:limit]
    )
