"""The read-only iCalendar feed and the ``.ics`` download of one appointment; the cadence
editor (a page of Team settings, ``/team/<id>/cadences/``).

The editor's views are thin: ``accounts.teams.get_team_for_user`` decides access, the forms
validate, ``publish_team_cadence`` writes a new version and records it in the team's history.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from leadsieve.accounts.models import Team
from leadsieve.accounts.teams import get_team_for_user
from leadsieve.accounts.views import signed_in_user, workspace_login_required
from leadsieve.cadences.forms import CadenceForm, NewCadenceForm, StepFormSet, steps_from_formset
from leadsieve.cadences.ics import ics_feed, ics_for
from leadsieve.cadences.models import Cadence, default_exit_on
from leadsieve.cadences.publishing import publish_team_cadence
from leadsieve.cadences.queries import (
    get_appointment_for_user,
    get_cadence,
    get_feed_owner,
    list_cadence_versions,
    list_feed_appointments,
    list_steps,
)
from leadsieve.cadences.services import CadenceError

NAV = "team"
CALENDAR_TYPE = "text/calendar; charset=utf-8"


@require_GET
def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    user = get_feed_owner(token)
    body = ics_feed(list_feed_appointments(user), name=f"LeadSieve — {user}")
    response = HttpResponse(body, content_type=CALENDAR_TYPE)
    response["Cache-Control"] = "private, max-age=300"
    return response


@login_required
@require_GET
def appointment_ics(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = get_appointment_for_user(request.user, pk)
    response = HttpResponse(ics_for(appointment), content_type=CALENDAR_TYPE)
    response["Content-Disposition"] = f'attachment; filename="appointment-{appointment.pk}.ics"'
    return response


def _publish(
    request: HttpRequest, team: Team, head: CadenceForm, steps: Any, key: str
) -> HttpResponse | None:
    """Publish the draft when both forms are valid; None (errors on the forms) otherwise."""
    if not (head.is_valid() and steps.is_valid()):
        return None
    try:
        cadence = publish_team_cadence(
            team,
            user=signed_in_user(request),
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
    return HttpResponseRedirect(reverse("cadences:cadence", args=[team.pk, cadence.pk]))


@workspace_login_required
@require_http_methods(["GET", "POST"])
def cadence_detail(request: HttpRequest, team_id: int, cadence_id: int) -> HttpResponse:
    """A version, its steps, every version of its key, and the draft of the next version."""
    team = get_team_for_user(request.user, team_id)
    cadence = get_cadence(team, cadence_id)
    steps = list_steps(cadence)
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
        "versions": list_cadence_versions(cadence),
        "head": head,
        "formset": formset,
    }
    return render(request, "cadences/cadence.html", context, status=status)


@workspace_login_required
@require_http_methods(["GET", "POST"])
def cadence_new(request: HttpRequest, team_id: int) -> HttpResponse:
    team = get_team_for_user(request.user, team_id)
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
    return render(request, "cadences/cadence.html", context, status=status)
