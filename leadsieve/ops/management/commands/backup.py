"""``leadsieve backup TARGET``: a consistent copy of the SQLite database while it is in use.

SQLite's online backup API (``leadsieve.ops.backup``): the server and the worker keep
running. On PostgreSQL the command refuses and names ``pg_dump`` (docs/deploy.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from leadsieve.ops.backup import DEFAULT_STEP_PAGES, BackupFailed, backup_sqlite

PG_DUMP_HINT = (
    "leadsieve backup copies SQLite databases only; this one is PostgreSQL: back it up with "
    'pg_dump (pg_dump --format=custom --file=leadsieve.dump "$DATABASE_URL") or continuous '
    "archiving (docs/deploy.md, Backups)."
)


class Command(BaseCommand):
    help = (
        "Copy the SQLite database to TARGET while the server and worker keep writing "
        "(SQLite's online backup API). PostgreSQL: use pg_dump."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("target", type=Path, help="The backup file to write (replaced).")
        parser.add_argument(
            "--step-pages",
            type=int,
            default=DEFAULT_STEP_PAGES,
            help="Pages copied per step, one progress line each (default %(default)s).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "sqlite":
            raise CommandError(PG_DUMP_HINT)
        if options["step_pages"] < 1:
            raise CommandError("--step-pages must be at least 1")
        source = Path(str(connection.settings_dict["NAME"]))
        target: Path = options["target"]
        if target.is_dir():
            target = target / f"{source.stem}-backup.sqlite3"

        def progress(done: int, total: int) -> None:
            if options["verbosity"] >= 1:
                percent = 100 * done / total if total else 100.0
                self.stderr.write(f"backup: {done:,}/{total:,} pages ({percent:.0f}%)")

        try:
            result = backup_sqlite(
                source, target, step_pages=options["step_pages"], progress=progress
            )
        except BackupFailed as error:
            raise CommandError(f"backup failed: {error}") from None
        how = (
            "" if result.stepped else f" (finished in one step after {result.n_restarts} restarts)"
        )
        self.stdout.write(f"backed up {source} to {result.target}: {result.n_bytes:,} bytes{how}")
