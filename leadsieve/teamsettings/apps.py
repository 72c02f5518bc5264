from __future__ import annotations

from django.apps import AppConfig


class TeamSettingsConfig(AppConfig):
    name = "leadsieve.teamsettings"
    label = "teamsettings"
    verbose_name = "Team settings"
