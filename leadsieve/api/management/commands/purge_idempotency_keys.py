"""``leadsieve purge-idempotency-keys [--days 7]``: a scheduler runs this daily."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from leadsieve.api.services import purge_idempotency_keys


class Command(BaseCommand):
    help = "Delete API idempotency keys older than --days (a retry after that is a new request)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=7, help="Keep keys this recent.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["days"] < 1:
            raise CommandError("--days must be at least 1.")
        n_deleted = purge_idempotency_keys(older_than=dt.timedelta(days=options["days"]))
        self.stdout.write(f"Deleted {n_deleted} idempotency keys.")
