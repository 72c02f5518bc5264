"""Segments (saved lead-list filters and prospecting lists), mounted at the site root."""

from __future__ import annotations

from django.urls import URLPattern, path

from leadsieve.segments import views

app_name = "segments"

urlpatterns: list[URLPattern] = [
    path("segments/", views.segment_list, name="list"),
    path("segments/new/", views.segment_create, name="create"),
    path("segments/add-leads/", views.segment_add_leads, name="add_leads"),
    path("segments/<int:segment_id>/", views.segment_open, name="open"),
    path("segments/<int:segment_id>/edit/", views.segment_edit, name="edit"),
    path("segments/<int:segment_id>/delete/", views.segment_delete, name="delete"),
]
