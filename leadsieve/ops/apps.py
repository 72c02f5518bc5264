from __future__ import annotations

from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "leadsieve.ops"
    label = "ops"
    verbose_name = "Operations (tick and worker)"
