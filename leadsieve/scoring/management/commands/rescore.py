"""``leadsieve rescore``: score every open lead with the active scorecard and model."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from leadsieve.scoring.queries import NoActiveScorecard
from leadsieve.scoring.services import rescore_all


class Command(BaseCommand):
    help = "Rescore all open leads (progress bar; prints leads per second)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=50_000)
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1")
        try:
            result = rescore_all(
                batch_size=options["batch_size"], progress=not options["no_progress"]
            )
        except NoActiveScorecard as error:
            raise CommandError(str(error)) from None
        rate = result.n_scored / result.seconds if result.seconds else 0.0
        self.stdout.write(
            f"rescored {result.n_scored} leads in {result.seconds:.1f} s ({rate:,.0f} leads/s); "
            f"{result.n_status_changed} statuses moved, {result.n_snapshots} snapshots written"
        )
