from __future__ import annotations

from django.apps import AppConfig


class ScoringConfig(AppConfig):
    """Scoring registers nothing at start-up: ``leadsieve.pipeline`` calls it, in order."""

    name = "leadsieve.scoring"
    label = "scoring"
    verbose_name = "Scoring"
