"""Team settings and the consistency report, mounted at ``/team/``."""

from __future__ import annotations

from django.urls import URLPattern, path

from leadsieve.insights import redirects as insights_redirects
from leadsieve.teamsettings import views

app_name = "teamsettings"

urlpatterns: list[URLPattern] = [
    path("", views.team_home, name="home"),
    path("<int:team_id>/", views.team_settings, name="settings"),
    path("<int:team_id>/report/", insights_redirects.team_report, name="report"),
    path("<int:team_id>/rules/new/", views.rule_new, name="rule_new"),
    path("<int:team_id>/rules/<int:rule_id>/", views.rule_edit, name="rule_edit"),
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
    path("<int:team_id>/deadlines/<str:horizon>/", views.deadline_edit, name="deadline_edit"),
    path("<int:team_id>/cadences/new/", views.cadence_new, name="cadence_new"),
    path("<int:team_id>/cadences/<int:cadence_id>/", views.cadence_detail, name="cadence"),
]
