"""Mount with ``path("", include("leadsieve.cadences.urls"))`` in config/urls.py."""

from __future__ import annotations

from django.urls import path

from leadsieve.cadences import views

app_name = "cadences"
urlpatterns = [
    path("calendar/<str:token>.ics", views.calendar_feed, name="calendar_feed"),
    path("appointments/<int:pk>.ics", views.appointment_ics, name="appointment_ics"),
    # The cadence editor, a page of Team settings (``/team/<id>/``).
    path("team/<int:team_id>/cadences/new/", views.cadence_new, name="cadence_new"),
    path("team/<int:team_id>/cadences/<int:cadence_id>/", views.cadence_detail, name="cadence"),
]
