"""Mount with ``path("", include("leadsieve.cadences.urls"))`` in config/urls.py."""

from __future__ import annotations

from django.urls import path

from leadsieve.cadences import views

app_name = "cadences"
urlpatterns = [
    path("calendar/<str:token>.ics", views.calendar_feed, name="calendar_feed"),
    path("appointments/<int:pk>.ics", views.appointment_ics, name="appointment_ics"),
]
