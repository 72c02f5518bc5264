"""The routing-rule and deadline editors, mounted at ``/team/`` next to the team settings."""

from __future__ import annotations

from django.urls import URLPattern, path

from leadsieve.routing import views

app_name = "routing"

urlpatterns: list[URLPattern] = [
    path("<int:team_id>/rules/new/", views.rule_new, name="rule_new"),
    path("<int:team_id>/rules/<int:rule_id>/", views.rule_edit, name="rule_edit"),
    path("<int:team_id>/deadlines/<str:horizon>/", views.deadline_edit, name="deadline_edit"),
]
