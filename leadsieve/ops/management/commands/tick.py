"""``leadsieve tick``: run the time-based work once (call it from cron every minute)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = (
        "Assign waiting leads, check deadlines, enrol leads and turn due cadence steps into tasks."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--enqueue",
            action="store_true",
            help="Hand the tick to the background worker (leadsieve worker) instead.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["enqueue"]:
            from leadsieve.ops.tasks import tick_task

            result = tick_task.enqueue()
            self.stdout.write(f"enqueued tick {result.id}")
            return
        from leadsieve.ops.tick import run_tick

        self.stdout.write(json.dumps(run_tick(), sort_keys=True))
