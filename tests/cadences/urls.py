"""Test URLconf: the project's URLs plus the cadences app (until config/urls.py mounts it)."""

from __future__ import annotations

from django.urls import include, path

from leadsieve.config.urls import urlpatterns as project_urlpatterns

urlpatterns = [path("", include("leadsieve.cadences.urls")), *project_urlpatterns]
