"""The sales workspace, mounted at the site root."""

from __future__ import annotations

from django.urls import URLPattern, path

from leadsieve.workspace import views

app_name = "leads"

urlpatterns: list[URLPattern] = [
    path("", views.today, name="today"),
    path("leads/", views.lead_list, name="list"),
    path("leads/export.csv", views.lead_export, name="export"),
    path("leads/bulk/", views.lead_bulk, name="bulk"),
    path("leads/new/", views.lead_new, name="new"),
    path("leads/<int:lead_id>/", views.lead_detail, name="detail"),
    path("leads/<int:lead_id>/activities/", views.lead_log_activity, name="log_activity"),
    path("leads/<int:lead_id>/disqualify/", views.lead_disqualify, name="disqualify"),
    path("leads/<int:lead_id>/status/", views.lead_set_status, name="set_status"),
    path("leads/<int:lead_id>/stage/", views.lead_move_stage, name="move_stage"),
    path(
        "leads/<int:lead_id>/appointments/",
        views.lead_book_appointment,
        name="book_appointment",
    ),
    path("leads/<int:lead_id>/tasks/", views.lead_add_task, name="add_task"),
    path(
        "leads/<int:lead_id>/tasks/<int:task_id>/finish/",
        views.lead_finish_task,
        name="finish_task",
    ),
    path("leads/<int:lead_id>/close/", views.lead_close, name="close"),
    path(
        "leads/<int:lead_id>/merges/<int:merge_id>/undo/",
        views.lead_unmerge,
        name="unmerge",
    ),
    path("duplicates/", views.duplicate_queue, name="duplicates"),
    path(
        "duplicates/<int:candidate_id>/merge/",
        views.duplicate_merge,
        name="duplicate_merge",
    ),
    path(
        "duplicates/<int:candidate_id>/dismiss/",
        views.duplicate_dismiss,
        name="duplicate_dismiss",
    ),
]
