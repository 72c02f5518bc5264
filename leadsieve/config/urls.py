"""Project URLs: each app mounts its own."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("leadsieve.accounts.urls")),
    path("api/v1/", include("leadsieve.api.urls")),
    path("f/", include("leadsieve.webforms.urls")),
    path("scorecard/", include("leadsieve.scoring.urls")),
    path("team/", include("leadsieve.teamsettings.urls")),
    path("intake/", include("leadsieve.intake.urls")),
    path("", include("leadsieve.cadences.urls")),
    path("", include("leadsieve.stages.urls")),
    path("", include("leadsieve.segments.urls")),
    path("", include("leadsieve.leads.urls")),
]
