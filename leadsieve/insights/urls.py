"""The reports, mounted at ``/insights/``."""

from __future__ import annotations

from django.urls import URLPattern, path

from leadsieve.insights import views

app_name = "insights"

urlpatterns: list[URLPattern] = [
    path("", views.index, name="index"),
    path("model/", views.model_page, name="model"),
    path("cost/spend/", views.spend_page, name="spend"),
    path("cost/spend/import/", views.spend_import, name="spend_import"),
    path("cost/spend/<int:spend_id>/remove/", views.spend_remove, name="spend_remove"),
    path("<slug:name>/", views.report_page, name="report"),
    path("<slug:name>/csv/", views.report_csv, name="csv"),
]
