from __future__ import annotations

from django.apps import AppConfig


class WebformsConfig(AppConfig):
    name = "leadsieve.webforms"
    label = "webforms"
    verbose_name = "Web forms"
