"""The routing-rule and response-deadline editors, pages of Team settings (``/team/<id>/``).

Thin views: ``accounts.teams.get_team_for_user`` decides access (403 for reps, 404 for a
team the user does not manage), a form validates, one routing service writes (and records
the change in the team's history), then POST-redirect-GET back to the settings page.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from leadsieve.accounts.models import Team
from leadsieve.accounts.teams import get_team_for_user, list_members, to_team_settings
from leadsieve.accounts.views import signed_in_user, workspace_login_required
from leadsieve.routing.conditions import InvalidCondition
from leadsieve.routing.deadlines import get_policy
from leadsieve.routing.forms import (
    SUGGESTED_FIELDS,
    ConditionForm,
    ConditionFormSet,
    DeadlineForm,
    RuleForm,
    conditions_from_formset,
)
from leadsieve.routing.models import AssignmentRule
from leadsieve.routing.queries import get_rule
from leadsieve.routing.services import save_response_deadline, save_team_rule

NAV = "team"


def _rule_initial(rule: AssignmentRule) -> dict[str, Any]:
    return {
        "name": rule.name,
        "position": rule.position,
        "is_active": rule.is_active,
        "strategy": rule.strategy,
        "named_owner": rule.named_owner_id,
    }


def _edit_rule(request: HttpRequest, team: Team, rule: AssignmentRule | None) -> HttpResponse:
    members = list_members(team)
    if request.method == "POST":
        form = RuleForm(request.POST, members=members)
        conditions = ConditionFormSet(request.POST, prefix="conditions")
        if form.is_valid() and conditions.is_valid():
            data = form.cleaned_data
            try:
                saved = save_team_rule(
                    team,
                    user=signed_in_user(request),
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
                return to_team_settings(team, "rules")
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
    return render(request, "routing/rule_form.html", context, status=status)


@workspace_login_required
@require_http_methods(["GET", "POST"])
def rule_new(request: HttpRequest, team_id: int) -> HttpResponse:
    team = get_team_for_user(request.user, team_id)
    return _edit_rule(request, team, None)


@workspace_login_required
@require_http_methods(["GET", "POST"])
def rule_edit(request: HttpRequest, team_id: int, rule_id: int) -> HttpResponse:
    team = get_team_for_user(request.user, team_id)
    return _edit_rule(request, team, get_rule(team, rule_id))


@workspace_login_required
@require_http_methods(["GET", "POST"])
def deadline_edit(request: HttpRequest, team_id: int, horizon: str) -> HttpResponse:
    team = get_team_for_user(request.user, team_id)
    policy = get_policy(team, horizon)
    if request.method == "POST":
        form = DeadlineForm(request.POST)
        if form.is_valid():
            save_response_deadline(
                team, horizon, user=signed_in_user(request), values=form.cleaned_data
            )
            messages.success(request, f"Response deadlines ({horizon}-range) saved.")
            return to_team_settings(team, "deadlines")
        status = 400
    else:
        form = DeadlineForm(initial=DeadlineForm.initial_for(policy))
        status = 200
    context = {"nav": NAV, "team": team, "policy": policy, "form": form}
    return render(request, "routing/deadline_form.html", context, status=status)
