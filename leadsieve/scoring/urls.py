"""The scorecard editor, mounted at ``/scorecard/``."""

from __future__ import annotations

from django.urls import URLPattern, path

from leadsieve.scoring import views

app_name = "scoring"

urlpatterns: list[URLPattern] = [
    path("", views.scorecard, name="scorecard"),
    path("drafts/", views.create_draft, name="create_draft"),
    path("v<int:number>/", views.version, name="version"),
    path("v<int:number>/criteria/new/", views.edit_criterion, name="add_criterion"),
    path("v<int:number>/criteria/remove/", views.remove_criterion, name="remove_criterion"),
    path("v<int:number>/criteria/<slug:name>/", views.edit_criterion, name="edit_criterion"),
    path("v<int:number>/caps/", views.save_caps, name="save_caps"),
    path("v<int:number>/decay/", views.save_decay, name="save_decay"),
    path("v<int:number>/thresholds/", views.save_thresholds, name="save_thresholds"),
    path("v<int:number>/backtests/", views.start_backtest, name="start_backtest"),
    path("v<int:number>/publish/", views.publish, name="publish"),
    path("backtests/<int:run_id>/", views.backtest, name="backtest"),
    path("backtests/<int:run_id>/chart-<int:index>.svg", views.backtest_chart, name="chart"),
    path("backtests/<int:run_id>/backtest.csv", views.backtest_csv, name="backtest_csv"),
]
