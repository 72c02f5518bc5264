from __future__ import annotations

from django.apps import AppConfig


class InsightsConfig(AppConfig):
    name = "leadsieve.insights"
    label = "insights"
    verbose_name = "Insights"
