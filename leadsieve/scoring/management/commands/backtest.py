"""``leadsieve backtest``: compare a scorecard draft with the active version on history."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from leadsieve.scoring.backtests import backtest
from leadsieve.scoring.models import ScorecardVersion
from leadsieve.scoring.training import TooLittleHistory


def _date(text: str) -> datetime:
    try:
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise CommandError(f"'{text}' is not a date (use YYYY-MM-DD)") from None


class Command(BaseCommand):
    help = "Backtest scorecard version N (--draft N) next to the active one on closed leads."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--draft", type=int, help="Scorecard version number to compare.")
        parser.add_argument("--from", dest="start", help="First creation date, YYYY-MM-DD.")
        parser.add_argument("--to", dest="end", help="Creation date to stop before, YYYY-MM-DD.")
        parser.add_argument("--days-after-creation", type=float, default=0.0)
        parser.add_argument("--out", type=Path, help="Directory for the CSV and SVG files.")

    def handle(self, *args: Any, **options: Any) -> None:
        candidate = None
        if options["draft"] is not None:
            candidate = ScorecardVersion.objects.filter(number=options["draft"]).first()
            if candidate is None:
                raise CommandError(f"no scorecard version {options['draft']}")
        start = _date(options["start"]) if options["start"] else datetime(1970, 1, 1, tzinfo=UTC)
        end = _date(options["end"]) if options["end"] else timezone.now()
        if end <= start:
            raise CommandError("--to must come after --from")
        if options["days_after_creation"] < 0:
            raise CommandError("--days-after-creation cannot be negative")
        try:
            result = backtest(
                candidate,
                period_start=start,
                period_end=end,
                days_after_creation=options["days_after_creation"],
                out_dir=options["out"],
            )
        except TooLittleHistory as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            f"{result.n_leads} closed leads ({result.n_won} won) created "
            f"{start:%Y-%m-%d} – {end:%Y-%m-%d}\n"
        )
        self.stdout.write(result.summary().to_string(float_format=lambda v: f"{v:.3f}"))
        for name, report in result.reports.items():
            if "by_fit_grade" in report:
                self.stdout.write(f"\nconversion by fit grade, {name}:")
                self.stdout.write(report["by_fit_grade"].to_string(float_format="{:.3f}".format))
        for note in result.notes:
            self.stdout.write(self.style.WARNING(f"\nnote: {note}"))
        for path in result.files:
            self.stdout.write(f"wrote {path}")
