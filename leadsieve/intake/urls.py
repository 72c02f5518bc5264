"""The forms and import pages, mounted at ``/intake/``."""

from __future__ import annotations

from django.urls import URLPattern, path

from leadsieve.intake import views

app_name = "intake"

urlpatterns: list[URLPattern] = [
    path("forms/", views.form_list, name="form_list"),
    path("forms/new/", views.form_create, name="form_create"),
    path("forms/<int:form_id>/", views.form_edit, name="form_edit"),
    path("imports/", views.import_list, name="import_list"),
    path("imports/<int:job_id>/", views.import_job, name="import_job"),
    path("imports/<int:job_id>/progress/", views.import_progress, name="import_progress"),
    path("imports/<int:job_id>/rejected.csv", views.import_rejected, name="import_rejected"),
]
