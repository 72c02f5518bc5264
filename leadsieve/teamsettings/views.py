"""Team settings and the consistency report, for managers (own team) and admins (any team).

Views are thin: ``queries.get_team_for_user`` decides access (403 for reps, 404 for a team
the user does not manage), a form validates, one service writes, then POST-redirect-GET.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from leadsieve.accounts.models import Team, User
from leadsieve.accounts.views import signed_in_user, workspace_login_required
from leadsieve.cadences.models import Cadence, default_exit_on
from leadsieve.cadences.services import CadenceError
from leadsieve.routing.conditions import InvalidCondition
from leadsieve.routing.models import AssignmentRule
from leadsieve.teamsettings import queries, services
from leadsieve.teamsettings.forms import (
    SUGGESTED_FIELDS,
    AbsenceForm,
    CadenceForm,
    ConditionForm,
    ConditionFormSet,
    DeadlineForm,
    HolidayForm,
    NewCadenceForm,
    PeriodForm,
    RepProfileForm,
    RuleForm,
    StepFormSet,
    TeamPickerForm,
    conditions_from_formset,
    steps_from_formset,
)
from leadsieve.teamsettings.report import DEFAULT_PERIOD_DAYS, build_consistency_report

NAV = "team"


def _to_settings(team: Team, anchor: str = "") -> HttpResponseRedirect:
    url = reverse("teamsettings:settings", args=[team.pk])
    return HttpResponseRedirect(f"{url}#{anchor}" if anchor else url)


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
    team = queries.get_team_for_user(user, default_id)
    if request.GET.get("page") == "report":
        return HttpResponseRedirect(reverse("teamsettings:report", args=[team.pk]))
    return _to_settings(team)


def _render_settings(
    request: HttpRequest, team: Team, *, status: int = 200, **forms: Any
) -> HttpResponse:
    user = signed_in_user(request)
    members = queries.list_members(team)
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
    team = queries.get_team_for_user(request.user, team_id)
    return _render_settings(request, team)


# --- Routing rules ---------------------------------------------------------------------------


def _rule_initial(rule: AssignmentRule) -> dict[str, Any]:
    return {
        "name": rule.name,
        "position": rule.position,
        "is_active": rule.is_active,
        "strategy": rule.strategy,
        "named_owner": rule.named_owner_id,
    }


def _edit_rule(request: HttpRequest, team: Team, rule: AssignmentRule | None) -> HttpResponse:
    members = queries.list_members(team)
    if request.method == "POST":
        form = RuleForm(request.POST, members=members)
        conditions = ConditionFormSet(request.POST, prefix="conditions")
        if form.is_valid() and conditions.is_valid():
            data = form.cleaned_data
            try:
                saved = services.save_team_rule(
                    team,
                    by=signed_in_user(request),
                    name=data["name"],
                    conditions=conditions_from_formset(conditions),
                    strategy=data["strategy"],
                    position=data["position"],
                    is_active=data["is_active"],
                    named_owner=data["named_owner"],
                    rule=rule,
                )
            except (InvalidCondition, ValueError) as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, f"Rule “{saved.name}” saved.")
                return _to_settings(team, "rules")
        status = 400
    else:
        form = RuleForm(initial=_rule_initial(rule) if rule else None, members=members)
        existing = rule.conditions if rule is not None else []
        conditions = ConditionFormSet(
            initial=[ConditionForm.initial_for(c) for c in existing], prefix="conditions"
        )
        status = 200
    context = {
        "nav": NAV,
        "team": team,
        "rule": rule,
        "form": form,
        "conditions": conditions,
        "suggested_fields": SUGGESTED_FIELDS,
    }
    return render(request, "teamsettings/rule_form.html", context, status=status)


@workspace_login_required
@require_http_methods(["GET", "POST"])
def rule_new(request: HttpRequest, team_id: int) -> HttpResponse:
    team = queries.get_team_for_user(request.user, team_id)
    return _edit_rule(request, team, None)


@workspace_login_required
@require_http_methods(["GET", "POST"])
def rule_edit(request: HttpRequest, team_id: int, rule_id: int) -> HttpResponse:
    team = queries.get_team_for_user(request.user, team_id)
    return _edit_rule(request, team, queries.get_rule(team, rule_id))


# --- Reps: capacity, hours, absences, holidays -----------------------------------------------


@workspace_login_required
@require_http_methods(["GET", "POST"])
def rep_edit(request: HttpRequest, team_id: int, user_id: int) -> HttpResponse:
    team = queries.get_team_for_user(request.user, team_id)
    member = queries.get_member(team, user_id)
    profile = getattr(member, "rep_profile", None)
    if request.method == "POST":
        form = RepProfileForm(request.POST)
        if form.is_valid():
            services.save_rep_profile(member, by=signed_in_user(request), values=form.cleaned_data)
            messages.success(request, f"Capacity and hours of {member} saved.")
            return _to_settings(team, "reps")
        status = 400
    else:
        form = RepProfileForm(initial=RepProfileForm.initial_for(profile))
        status = 200
    context = {"nav": NAV, "team": team, "member": member, "profile": profile, "form": form}
    return render(request, "teamsettings/rep_form.html", context, status=status)


@workspace_login_required
@require_POST
def absence_add(request: HttpRequest, team_id: int) -> HttpResponse:
    team = queries.get_team_for_user(request.user, team_id)
    form = AbsenceForm(request.POST, members=queries.list_members(team))
    if not form.is_valid():
        return _render_settings(request, team, status=400, absence_form=form)
    data = form.cleaned_data
    services.add_absence(
        data["member"],
        by=signed_in_user(request),
        starts_on=data["starts_on"],
        ends_on=data["ends_on"],
        reason=data["reason"],
    )
    messages.success(request, f"Absence of {data['member']} added.")
    return _to_settings(team, "absences")


@workspace_login_required
@require_POST
def absence_remove(request: HttpRequest, team_id: int, absence_id: int) -> HttpResponse:
    team = queries.get_team_for_user(request.user, team_id)
    services.remove_absence(queries.get_absence(team, absence_id), by=signed_in_user(request))
    messages.success(request, "Absence removed.")
    return _to_settings(team, "absences")


@workspace_login_required
@require_POST
def holiday_add(request: HttpRequest, team_id: int) -> HttpResponse:
    team = queries.get_team_for_user(request.user, team_id)
    form = HolidayForm(request.POST)
    if not form.is_valid():
        return _render_settings(request, team, status=400, holiday_form=form)
    services.add_holiday(
        team,
        by=signed_in_user(request),
        day=form.cleaned_data["day"],
        name=form.cleaned_data["name"],
    )
    messages.success(request, "Holiday added.")
    return _to_settings(team, "holidays")


@workspace_login_required
@require_POST
def holiday_remove(request: HttpRequest, team_id: int, holiday_id: int) -> HttpResponse:
    team = queries.get_team_for_user(request.user, team_id)
    services.remove_holiday(queries.get_holiday(team, holiday_id), by=signed_in_user(request))
    messages.success(request, "Holiday removed.")
    return _to_settings(team, "holidays")


# --- Response deadlines ----------------------------------------------------------------------


@workspace_login_required
@require_http_methods(["GET", "POST"])
def deadline_edit(request: HttpRequest, team_id: int, horizon: str) -> HttpResponse:
    team = queries.get_team_for_user(request.user, team_id)
    policy = queries.get_policy(team, horizon)
    if request.method == "POST":
        form = DeadlineForm(request.POST)
        if form.is_valid():
            services.save_response_deadline(
                team, horizon, by=signed_in_user(request), values=form.cleaned_data
            )
            messages.success(request, f"Response deadlines ({horizon}-range) saved.")
            return _to_settings(team, "deadlines")
        status = 400
    else:
        form = DeadlineForm(initial=DeadlineForm.initial_for(policy))
        status = 200
    context = {"nav": NAV, "team": team, "policy": policy, "form": form}
    return render(request, "teamsettings/deadline_form.html", context, status=status)


# --- Cadences --------------------------------------------------------------------------------


def _publish(
    request: HttpRequest, team: Team, head: CadenceForm, steps: Any, key: str
) -> HttpResponse | None:
    """Publish the draft when both forms are valid; None (errors on the forms) otherwise."""
    if not (head.is_valid() and steps.is_valid()):
        return None
    try:
        cadence = services.publish_team_cadence(
            team,
            by=signed_in_user(request),
            key=head.cleaned_data.get("key") or key,
            name=head.cleaned_data["name"],
            horizon=head.cleaned_data["horizon"],
            steps=steps_from_formset(steps),
            exit_on=list(head.cleaned_data["exit_on"]),
        )
    except CadenceError as error:
        head.add_error(None, str(error))
        return None
    messages.success(request, f"{cadence.name} version {cadence.version} published.")
    return HttpResponseRedirect(reverse("teamsettings:cadence", args=[team.pk, cadence.pk]))


@workspace_login_required
@require_http_methods(["GET", "POST"])
def cadence_detail(request: HttpRequest, team_id: int, cadence_id: int) -> HttpResponse:
    """A version, its steps, every version of its key, and the draft of the next version."""
    team = queries.get_team_for_user(request.user, team_id)
    cadence = queries.get_cadence(team, cadence_id)
    steps = queries.list_steps(cadence)
    if request.method == "POST":
        head = CadenceForm(request.POST)
        formset = StepFormSet(request.POST, prefix="steps")
        done = _publish(request, team, head, formset, cadence.key)
        if done is not None:
            return done
        status = 400
    else:
        head = CadenceForm(
            initial={"name": cadence.name, "horizon": cadence.horizon, "exit_on": cadence.exit_on}
        )
        formset = StepFormSet(
            initial=[
                {name: getattr(step, name) for name in StepFormSet.form.base_fields}
                for step in steps
            ],
            prefix="steps",
        )
        status = 200
    context = {
        "nav": NAV,
        "team": team,
        "cadence": cadence,
        "steps": steps,
        "versions": queries.list_cadence_versions(cadence),
        "head": head,
        "formset": formset,
    }
    return render(request, "teamsettings/cadence.html", context, status=status)


@workspace_login_required
@require_http_methods(["GET", "POST"])
def cadence_new(request: HttpRequest, team_id: int) -> HttpResponse:
    team = queries.get_team_for_user(request.user, team_id)
    taken = list(Cadence.objects.filter(team=team).values_list("key", flat=True).distinct())
    if request.method == "POST":
        head = NewCadenceForm(request.POST, taken_keys=taken)
        formset = StepFormSet(request.POST, prefix="steps")
        done = _publish(request, team, head, formset, "")
        if done is not None:
            return done
        status = 400
    else:
        head = NewCadenceForm(initial={"exit_on": default_exit_on()}, taken_keys=taken)
        formset = StepFormSet(prefix="steps")
        status = 200
    context = {"nav": NAV, "team": team, "cadence": None, "head": head, "formset": formset}
    return render(request, "teamsettings/cadence.html", context, status=status)


# --- The consistency report ------------------------------------------------------------------


@workspace_login_required
@require_GET
def consistency_report(request: HttpRequest, team_id: int) -> HttpResponse:
    team = queries.get_team_for_user(request.user, team_id)
    period = PeriodForm(request.GET or None)
    if request.GET and not period.is_valid():
        days, status = DEFAULT_PERIOD_DAYS, 400
    else:
        days, status = (period.cleaned_data["days"] if request.GET else DEFAULT_PERIOD_DAYS), 200
    report = build_consistency_report(team, now=timezone.now(), days=days)
    context = {
        "nav": NAV,
        "team": team,
        "report": report,
        "period": period if request.GET else PeriodForm(initial={"days": days}),
        "picker": _picker(signed_in_user(request), team),
    }
    return render(request, "teamsettings/report.html", context, status=status)
