from __future__ import annotations

from django.apps import AppConfig


class LeadsConfig(AppConfig):
    name = "leadsieve.leads"
    label = "leads"
    verbose_name = "Leads"
