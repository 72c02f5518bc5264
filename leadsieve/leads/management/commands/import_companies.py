"""``leadsieve import-companies FILE --mapping MAPPING.toml``: the team's firmographics."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from leadsieve.leads.importing import ImportFileError, MappingError
from leadsieve.leads.importing.companies import import_companies, load_company_mapping


class Command(BaseCommand):
    help = "Create or update companies (domain, name, industry, size, ...) from CSV or XLSX."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--mapping", type=Path, required=True, help="TOML mapping file.")
        parser.add_argument("--encoding", help="Text encoding of a CSV (default: detected).")
        parser.add_argument("--delimiter", help="CSV delimiter (default: detected).")
        parser.add_argument("--rejected", type=Path, help="Where to write rejected rows.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            columns = load_company_mapping(options["mapping"])
            summary = import_companies(
                options["file"],
                columns,
                encoding=options["encoding"],
                delimiter=options["delimiter"],
                rejected_path=options["rejected"],
            )
        except (MappingError, ImportFileError, OSError) as error:
            raise CommandError(str(error)) from None
        self.stdout.write(summary.describe())
        for problem in summary.errors[:5]:
            self.stderr.write(f"  {problem}")
