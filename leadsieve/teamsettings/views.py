"""Team settings and the consistency report, for managers (own team) and admins (any team).

Views are thin: ``queries.get_team_for_user`` decides access (403 for reps, 404 for a team
the user does not manage), a form validates, one service writes, then POST-redirect-GET.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from leadsieve.accounts.models import Team, User
from leadsieve.accounts.teams import get_team_for_user, list_members, to_team_settings
from leadsieve.accounts.views import signed_in_user, workspace_login_required
from leadsieve.teamsettings import queries, services
from leadsieve.teamsettings.forms import (
    AbsenceForm,
    HolidayForm,
    RepProfileForm,
    TeamPickerForm,
)

NAV = "team"


# --- The settings page -----------------------------------------------------------------------


@workspace_login_required
@require_GET
def team_home(request: HttpRequest) -> HttpResponse:
    """``/team/``: the own team for a manager; an admin picks one (``?team=``)."""
    user = signed_in_user(request)
    default_id = queries.get_default_team_id_for_user(user)
    if user.is_admin_role() and "team" in request.GET:
        picker = TeamPickerForm(request.GET, teams=queries.list_teams_for_user(user))
        if picker.is_valid():
            default_id = picker.cleaned_data["team"]
    if default_id is None:
        return render(request, "teamsettings/no_team.html", {"nav": NAV})
    team = get_team_for_user(user, default_id)
    if request.GET.get("page") == "report":
        return HttpResponseRedirect(reverse("teamsettings:report", args=[team.pk]))
    return to_team_settings(team)


def _render_settings(
    request: HttpRequest, team: Team, *, status: int = 200, **forms: Any
) -> HttpResponse:
    user = signed_in_user(request)
    members = list_members(team)
    context = {
        "nav": NAV,
        "team": team,
        "settings": queries.get_team_settings(team, today=timezone.localdate()),
        "absence_form": forms.get("absence_form") or AbsenceForm(members=members),
        "holiday_form": forms.get("holiday_form") or HolidayForm(),
        "picker": _picker(user, team),
    }
    return render(request, "teamsettings/settings.html", context, status=status)


def _picker(user: User, team: Team) -> TeamPickerForm | None:
    if not user.is_admin_role():
        return None
    return TeamPickerForm(initial={"team": team.pk}, teams=queries.list_teams_for_user(user))


@workspace_login_required
@require_GET
def team_settings(request: HttpRequest, team_id: int) -> HttpResponse:
    team = get_team_for_user(request.user, team_id)
    return _render_settings(request, team)


# --- Routing rules ---------------------------------------------------------------------------


# --- Reps: capacity, hours, absences, holidays -----------------------------------------------


@workspace_login_required
@require_http_methods(["GET", "POST"])
def rep_edit(request: HttpRequest, team_id: int, user_id: int) -> HttpResponse:
    team = get_team_for_user(request.user, team_id)
    member = queries.get_member(team, user_id)
    profile = getattr(member, "rep_profile", None)
    if request.method == "POST":
        form = RepProfileForm(request.POST)
        if form.is_valid():
            services.save_rep_profile(
                member, user=signed_in_user(request), values=form.cleaned_data
            )
            messages.success(request, f"Capacity and hours of {member} saved.")
            return to_team_settings(team, "reps")
        status = 400
    else:
        form = RepProfileForm(initial=RepProfileForm.initial_for(profile))
        status = 200
    context = {"nav": NAV, "team": team, "member": member, "profile": profile, "form": form}
    return render(request, "teamsettings/rep_form.html", context, status=status)


@workspace_login_required
@require_POST
def absence_add(request: HttpRequest, team_id: int) -> HttpResponse:
    team = get_team_for_user(request.user, team_id)
    form = AbsenceForm(request.POST, members=list_members(team))
    if not form.is_valid():
        return _render_settings(request, team, status=400, absence_form=form)
    data = form.cleaned_data
    services.add_absence(
        data["member"],
        user=signed_in_user(request),
        starts_on=data["starts_on"],
        ends_on=data["ends_on"],
        reason=data["reason"],
    )
    messages.success(request, f"Absence of {data['member']} added.")
    return to_team_settings(team, "absences")


@workspace_login_required
@require_POST
def absence_remove(request: HttpRequest, team_id: int, absence_id: int) -> HttpResponse:
    team = get_team_for_user(request.user, team_id)
    services.remove_absence(queries.get_absence(team, absence_id), user=signed_in_user(request))
    messages.success(request, "Absence removed.")
    return to_team_settings(team, "absences")


@workspace_login_required
@require_POST
def holiday_add(request: HttpRequest, team_id: int) -> HttpResponse:
    team = get_team_for_user(request.user, team_id)
    form = HolidayForm(request.POST)
    if not form.is_valid():
        return _render_settings(request, team, status=400, holiday_form=form)
    services.add_holiday(
        team,
        user=signed_in_user(request),
        day=form.cleaned_data["day"],
        name=form.cleaned_data["name"],
    )
    messages.success(request, "Holiday added.")
    return to_team_settings(team, "holidays")


@workspace_login_required
@require_POST
def holiday_remove(request: HttpRequest, team_id: int, holiday_id: int) -> HttpResponse:
    team = get_team_for_user(request.user, team_id)
    services.remove_holiday(queries.get_holiday(team, holiday_id), user=signed_in_user(request))
    messages.success(request, "Holiday removed.")
    return to_team_settings(team, "holidays")


# --- Response deadlines ----------------------------------------------------------------------


# --- Cadences --------------------------------------------------------------------------------


# --- The old report address ------------------------------------------------------------------


@workspace_login_required
@require_GET
def team_report(request: HttpRequest, team_id: int) -> HttpResponseRedirect:
    """``/team/<id>/report/``: the consistency report now lives on the insights speed-to-lead
    and procedure page, for the same team (403/404 as before for people who may not read
    that team's figures)."""
    team = get_team_for_user(request.user, team_id)
    query = urlencode({"by": "rep", "team": team.pk})
    return HttpResponseRedirect(f"{reverse('insights:report', args=['speed-to-lead'])}?{query}")
