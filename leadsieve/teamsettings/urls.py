"""Team settings and the consistency report, mounted at ``/team/`` (the rule and deadline
editors are ``routing.urls``, the cadence editor ``cadences.urls``, under the same paths)."""

from __future__ import annotations

from django.urls import URLPattern, path

from leadsieve.teamsettings import views

app_name = "teamsettings"

urlpatterns: list[URLPattern] = [
    path("", views.team_home, name="home"),
    path("<int:team_id>/", views.team_settings, name="settings"),
    path("<int:team_id>/report/", views.team_report, name="report"),
    path("<int:team_id>/reps/<int:user_id>/", views.rep_edit, name="rep_edit"),
    path("<int:team_id>/absences/", views.absence_add, name="absence_add"),
    path(
        "<int:team_id>/absences/<int:absence_id>/remove/",
        views.absence_remove,
        name="absence_remove",
    ),
    path("<int:team_id>/holidays/", views.holiday_add, name="holiday_add"),
    path(
        "<int:team_id>/holidays/<int:holiday_id>/remove/",
        views.holiday_remove,
        name="holiday_remove",
    ),
]
