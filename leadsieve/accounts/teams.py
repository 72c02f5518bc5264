"""Who may manage which team, and the team's settings history.

Decided here and only here: an admin any team, a manager their own team, a rep none. A team
outside that scope is a 404 (a guessed URL learns nothing); a rep asking at all is a 403.
Every settings page (team settings, the routing-rule, deadline and cadence editors) loads
its team through ``get_team_for_user`` and records each change with ``record_team_change``:
a Django admin ``LogEntry`` on the team, so the settings page and the admin's history both
say who changed what, and when.
"""

from __future__ import annotations

from typing import Any

from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpResponseRedirect
from django.urls import reverse

from leadsieve.accounts.models import Team, User, is_manager_or_admin

MAX_MESSAGE = 1000


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


def list_members(team: Team) -> QuerySet[User]:
    return User.objects.filter(team=team, is_active=True).order_by("first_name", "username")


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


def record_team_change(team: Team, *, user: User, message: str) -> LogEntry:
    """One line of the team's settings history (also shown in the admin's history of the team)."""
    return LogEntry.objects.create(
        user=user,
        content_type=ContentType.objects.get_for_model(Team),
        object_id=str(team.pk),
        object_repr=str(team)[:200],
        action_flag=CHANGE,
        change_message=message[:MAX_MESSAGE],
    )


def to_team_settings(team: Team, anchor: str = "") -> HttpResponseRedirect:
    url = reverse("teamsettings:settings", args=[team.pk])
    return HttpResponseRedirect(f"{url}#{anchor}" if anchor else url)
