from __future__ import annotations

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "leadsieve.accounts"
    label = "accounts"
    verbose_name = "Teams and users"
