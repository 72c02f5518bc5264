"""The pipeline board, mounted at the site root."""

from __future__ import annotations

from django.urls import URLPattern, path

from leadsieve.workspace import board as views

app_name = "stages"

urlpatterns: list[URLPattern] = [
    path("board/", views.board, name="board"),
    path("board/column/<int:stage_id>/", views.board_column, name="board_column"),
    path("board/leads/<int:lead_id>/move/", views.board_move, name="move_lead"),
]
