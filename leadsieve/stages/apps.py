from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db import connections
from django.db.models.signals import post_migrate


def _ensure_count_triggers(using: str = "default", **kwargs: Any) -> None:
    """SQLite drops a table's triggers when a migration rebuilds it (``AlterField`` on the
    lead table): after every ``migrate``, put the board's count triggers back and recount;
    after a ``flush``, drop counts left for leads it deleted (``repair_after_migrate``)."""
    from leadsieve.stages.counts import COUNT_TABLE, repair_after_migrate

    connection = connections[using]
    tables = connection.introspection.table_names()
    if COUNT_TABLE in tables and "leads_lead" in tables:
        repair_after_migrate(connection)


class StagesConfig(AppConfig):
    name = "leadsieve.stages"
    label = "stages"
    verbose_name = "Pipeline stages"

    def ready(self) -> None:
        post_migrate.connect(_ensure_count_triggers, sender=self, dispatch_uid="stage_counts")
