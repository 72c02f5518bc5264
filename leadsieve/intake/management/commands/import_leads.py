"""``leadsieve import-leads FILE --mapping MAPPING.toml``: CSV/XLSX leads through capture."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from leadsieve.accounts.models import User
from leadsieve.leads.importing import (
    ImportAborted,
    ImportFileError,
    MappingError,
    import_leads,
    load_mapping,
)
from leadsieve.leads.importing.run import DEFAULT_CHUNK_SIZE
from leadsieve.pipeline import receive_batch


class Command(BaseCommand):
    help = "Import leads from a CSV or XLSX file, mapped to lead fields by a TOML file."
    # Django's system checks (URL configuration, models) take over a second at each start
    # and say nothing about a file; `leadsieve check` runs them.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--mapping", type=Path, required=True, help="TOML mapping file.")
        parser.add_argument("--encoding", help="Text encoding of a CSV (default: detected).")
        parser.add_argument("--delimiter", help="CSV delimiter (default: detected).")
        parser.add_argument(
            "--on-error",
            choices=["skip", "abort"],
            default="skip",
            help="skip: save the good rows; abort: save nothing if any row is bad.",
        )
        parser.add_argument(
            "--rejected",
            type=Path,
            help="Where to write rejected rows (default: FILE.rejected.csv).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Check everything, save nothing."
        )
        parser.add_argument(
            "--user",
            help="Username of who imports: rows merge only into leads this user can see, "
            "new leads join the user's team unless the mapping names one (default: no user, "
            "rows merge into any lead).",
        )
        parser.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE)
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["chunk_size"] < 1:
            raise CommandError("--chunk-size must be at least 1")
        try:
            mapping = load_mapping(options["mapping"])
        except MappingError as error:
            raise CommandError(str(error)) from None
        user = None
        if options["user"] is not None:
            user = User.objects.filter(username=options["user"], is_active=True).first()
            if user is None:
                raise CommandError(f"--user {options['user']!r}: no active user of that name")
        path: Path = options["file"]
        with tqdm(
            unit=" rows", file=sys.stderr, disable=options["no_progress"], desc=path.name
        ) as bar:
            try:
                summary = import_leads(
                    path,
                    mapping,
                    encoding=options["encoding"],
                    delimiter=options["delimiter"],
                    on_error=options["on_error"],
                    rejected_path=options["rejected"],
                    dry_run=options["dry_run"],
                    chunk_size=options["chunk_size"],
                    progress=bar.update,
                    user=user,
                    arrived=receive_batch,
                )
            except (ImportFileError, ImportAborted, OSError) as error:
                raise CommandError(str(error)) from None
        self.stdout.write(summary.describe())
        for problem in summary.errors[:5]:
            self.stderr.write(f"  {problem}")
