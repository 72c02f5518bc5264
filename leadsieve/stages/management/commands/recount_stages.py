"""``leadsieve recount-stages``: rebuild the board's kept counts from the leads."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Rebuild the board's per-stage counts (StageCount) from the leads and put back their "
        "triggers if a migration dropped them."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        from leadsieve.stages.counts import install_count_triggers, recount_stage_counts

        install_count_triggers()
        rows = recount_stage_counts()
        if options["verbosity"]:
            self.stdout.write(f"recounted the board: {rows} rows of counts")
