"""Old addresses of what the insights pages now show: ``/team/<id>/report/`` (the consistency
report) moved into the speed-to-lead and procedure page, for the same team."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse

from leadsieve.accounts.views import signed_in_user
from leadsieve.teamsettings.queries import get_team_for_user


@login_required
def team_report(request: HttpRequest, team_id: int) -> HttpResponseRedirect:
    """The team's procedure figures on ``/insights/speed-to-lead/`` (403/404 as before for
    people who may not read that team's report)."""
    team = get_team_for_user(signed_in_user(request), team_id)
    query = urlencode({"by": "rep", "team": team.pk})
    return HttpResponseRedirect(f"{reverse('insights:report', args=['speed-to-lead'])}?{query}")
