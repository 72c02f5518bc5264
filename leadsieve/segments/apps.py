from __future__ import annotations

from django.apps import AppConfig


class SegmentsConfig(AppConfig):
    name = "leadsieve.segments"
    label = "segments"
    verbose_name = "Segments"
