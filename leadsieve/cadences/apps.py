from __future__ import annotations

from django.apps import AppConfig


class CadencesConfig(AppConfig):
    name = "leadsieve.cadences"
    label = "cadences"
    verbose_name = "Cadences and appointments"
