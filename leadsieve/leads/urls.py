"""The sales workspace, mounted at the site root."""

from __future__ import annotations

from django.urls import URLPattern, path

from leadsieve.leads import views

app_name = "leads"

urlpatterns: list[URLPattern] = [
    path("", views.today, name="today"),
    path("leads/", views.lead_list, name="list"),
    path("leads/export.csv", views.lead_export, name="export"),
    path("leads/bulk/", views.lead_bulk, name="bulk"),
    path("leads/<int:lead_id>/", views.lead_detail, name="detail"),
    path("leads/<int:lead_id>/activities/", views.lead_log_activity, name="log_activity"),
    path("leads/<int:lead_id>/disqualify/", views.lead_disqualify, name="disqualify"),
    path("leads/<int:lead_id>/status/", views.lead_set_status, name="set_status"),
    path("leads/<int:lead_id>/stage/", views.lead_move_stage, name="move_stage"),
]
