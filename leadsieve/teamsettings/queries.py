"""Reads for the team settings pages, scoped to the team the user may manage.

Who may manage which team is decided here and only here: an admin any team, a manager
their own team, a rep none. A team, rep, rule or cadence outside that scope is a 404
(a guessed URL learns nothing); a rep asking for team settings at all is a 403.
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
from django.db.models import Count, Q, QuerySet
from django.http import Http404

from leadsieve.accounts.models import Team, User, is_manager_or_admin
from leadsieve.cadences.models import Cadence, CadenceStep
from leadsieve.leads.models import Horizon
from leadsieve.routing.models import Absence, AssignmentRule, Holiday, RepProfile, SLAPolicy
from leadsieve.routing.sla import DEFAULT_FIRST_RESPONSE_HOURS, DEFAULT_NEXT_TOUCH_DAYS

N_RECENT_CHANGES = 15
WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
OPERATOR_LABELS = {
    "eq": "is",
    "ne": "is not",
    "in": "is one of",
    "not_in": "is none of",
    "gt": "greater than",
    "gte": "at least",
    "lt": "less than",
    "lte": "at most",
    "contains": "contains",
    "startswith": "starts with",
    "is_empty": "is empty",
    "not_empty": "is not empty",
}


def describe_conditions(conditions: list[dict[str, Any]]) -> str:
    """``country is one of FR, BE and rating at least 60`` (``every lead`` for none)."""
    parts = []
    for condition in conditions:
        op = str(condition.get("op", ""))
        value = condition.get("value")
        shown = ", ".join(map(str, value)) if isinstance(value, list) else value
        words = f"{condition.get('field')} {OPERATOR_LABELS.get(op, op)}"
        parts.append(words if shown is None else f"{words} {shown}")
    return " and ".join(parts) or "every lead"


def can_manage_teams(user: Any) -> bool:
    """Managers and admins see the team settings; reps do not."""
    return is_manager_or_admin(user)


def get_team_for_user(user: Any, team_id: int) -> Team:
    """The team ``user`` may manage: 403 for reps, 404 for any other team."""
    if not can_manage_teams(user):
        raise PermissionDenied("Team settings are for managers and admins.")
    if not user.is_admin_role() and team_id != user.team_id:
        raise Http404("No such team")
    team = Team.objects.filter(pk=team_id).first()
    if team is None:
        raise Http404("No such team")
    return team


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


def list_members(team: Team) -> QuerySet[User]:
    return User.objects.filter(team=team, is_active=True).order_by("first_name", "username")


def get_member(team: Team, user_id: int) -> User:
    """An active member of ``team``; 404 for anyone else."""
    member = list_members(team).filter(pk=user_id).first()
    if member is None:
        raise Http404("No such rep on this team")
    return member


def get_rule(team: Team, rule_id: int) -> AssignmentRule:
    rule = AssignmentRule.objects.filter(team=team, pk=rule_id).first()
    if rule is None:
        raise Http404("No such rule")
    return rule


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


def get_policy(team: Team, horizon: str) -> SLAPolicy:
    """The team's policy for ``horizon``, or an unsaved one holding the defaults."""
    if horizon not in Horizon.values:
        raise Http404("No such horizon")
    policy = SLAPolicy.objects.filter(team=team, horizon=horizon).first()
    return policy or _default_policy(team, horizon)


def _default_policy(team: Team, horizon: str) -> SLAPolicy:
    """An unsaved policy holding what routing uses when the team has none for ``horizon``."""
    return SLAPolicy(
        team=team,
        horizon=horizon,
        first_response_hours=DEFAULT_FIRST_RESPONSE_HOURS[horizon],
        next_touch_days=DEFAULT_NEXT_TOUCH_DAYS[horizon],
    )


def get_cadence(team: Team, cadence_id: int) -> Cadence:
    """A version of one of the team's cadences, or of a company-wide one (team blank)."""
    cadence = (
        Cadence.objects.filter(Q(team=team) | Q(team__isnull=True), pk=cadence_id)
        .select_related("team")
        .first()
    )
    if cadence is None:
        raise Http404("No such cadence")
    return cadence


def list_cadence_versions(cadence: Cadence) -> list[Cadence]:
    """Every version of ``cadence``'s key for its team, newest first, with enrolment counts."""
    same_team = Q(team__isnull=True) if cadence.team_id is None else Q(team_id=cadence.team_id)
    return list(
        Cadence.objects.filter(same_team, key=cadence.key)
        .annotate(n_enrolments=Count("enrolments"))
        .order_by("-version")
    )


def list_steps(cadence: Cadence) -> list[CadenceStep]:
    return list(cadence.steps.order_by("position"))


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
    policies: list[SLAPolicy]
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
    policies = {p.horizon: p for p in SLAPolicy.objects.filter(team=team)}
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
        policies=[policies.get(h) or _default_policy(team, h) for h in Horizon.values],
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
