"""Project URLs: each app mounts its own."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    # Browsers ask for /favicon.ico on pages that name no icon (the admin, the API docs).
    path(
        "favicon.ico",
        RedirectView.as_view(url=f"{settings.STATIC_URL}leadsieve/icon.svg", permanent=True),
    ),
    path("admin/", admin.site.urls),
    path("accounts/", include("leadsieve.accounts.urls")),
    path("api/v1/", include("leadsieve.api.urls")),
    path("f/", include("leadsieve.webforms.urls")),
    path("scorecard/", include("leadsieve.scoring.urls")),
    path("team/", include("leadsieve.teamsettings.urls")),
    path("team/", include("leadsieve.routing.urls")),
    path("intake/", include("leadsieve.intake.urls")),
    path("insights/", include("leadsieve.insights.urls")),
    path("", include("leadsieve.cadences.urls")),
    path("", include("leadsieve.workspace.board_urls")),
    path("", include("leadsieve.segments.urls")),
    path("", include("leadsieve.workspace.urls")),
]
