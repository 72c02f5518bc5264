from __future__ import annotations

from django.apps import AppConfig


class RoutingConfig(AppConfig):
    name = "leadsieve.routing"
    label = "routing"
    verbose_name = "Routing and response deadlines"
