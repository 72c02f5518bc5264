from __future__ import annotations

from django.apps import AppConfig


class IntakeConfig(AppConfig):
    name = "leadsieve.intake"
    label = "intake"
    verbose_name = "Forms and import"
