"""The read-only iCalendar feed and the ``.ics`` download of one appointment."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from leadsieve.cadences.ics import ics_feed, ics_for
from leadsieve.cadences.queries import (
    get_appointment_for_user,
    get_feed_owner,
    list_feed_appointments,
)

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
