"""Install the engine's default scorecard as active version 1 on a fresh database.

Idempotent: does nothing when any scorecard version exists. The configuration is the
engine's ``default_scorecard().to_dict()`` at the time the migration runs, stored as JSON, so
later engine releases never change a team's published version behind its back.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations
from django.utils import timezone


def fill_default_scorecard(apps: Any, schema_editor: Any) -> None:
    from leadsieve.engine.defaults import default_scorecard

    version_model = apps.get_model("scoring", "ScorecardVersion")
    if version_model.objects.exists():
        return
    now = timezone.now()
    version_model.objects.create(
        number=1,
        status="active",
        config=default_scorecard().to_dict(),
        note="LeadSieve's starter scorecard",
        created_at=now,
        published_at=now,
    )


class Migration(migrations.Migration):
    dependencies = [("scoring", "0001_add_scorecard_model_snapshot")]

    operations = [migrations.RunPython(fill_default_scorecard, migrations.RunPython.noop)]
