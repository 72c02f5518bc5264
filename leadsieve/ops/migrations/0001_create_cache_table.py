"""The shared cache's table (``settings.CACHES``: Django's database cache, by default).

``createcachetable`` creates the table of every database cache that lives on this database
and skips those that exist: with Redis configured it creates nothing (set the cache back to
the database later: run ``leadsieve createcachetable``).
"""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps: Any, schema_editor: Any) -> None:
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


def drop_cache_table(apps: Any, schema_editor: Any) -> None:
    from django.conf import settings

    table = schema_editor.quote_name(getattr(settings, "CACHE_TABLE", "leadsieve_cache"))
    schema_editor.execute(f"DROP TABLE IF EXISTS {table}")


class Migration(migrations.Migration):
    dependencies: list[tuple[str, str]] = []

    operations = [migrations.RunPython(create_cache_table, drop_cache_table, elidable=False)]
