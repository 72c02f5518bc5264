from __future__ import annotations

from django.apps import AppConfig


class StagesConfig(AppConfig):
    name = "leadsieve.stages"
    label = "stages"
    verbose_name = "Pipeline stages"
