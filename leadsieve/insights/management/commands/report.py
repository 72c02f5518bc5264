"""``leadsieve report <name> [--from D --to D --by X --cohort week|month --groups N|all
--filter k=v ...]``:
a report's table as JSON (all tables), CSV (one table) or text, one subcommand per entry of
``insights.registry.REPORTS``. Without ``--user`` it reads every lead (whoever runs the
server's commands sees everything); ``--user NAME`` applies that user's scope.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError

from leadsieve.accounts.models import User
from leadsieve.insights.milestones import refresh_milestones
from leadsieve.insights.registry import REPORTS, get_report_spec
from leadsieve.insights.tables import COHORTS, DEFAULT_GROUPS, Report, ReportQueryError

FORMATS = ("json", "csv", "text")


def _add_query_options(parser: ArgumentParser, dimensions: tuple[str, ...]) -> None:
    parser.add_argument("--from", dest="date_from", default="", help="First capture day.")
    parser.add_argument("--to", dest="date_to", default="", help="Last capture day.")
    parser.add_argument("--by", default="", choices=["", *dimensions], help="Grouping.")
    parser.add_argument("--cohort", default="", choices=COHORTS, help="week or month.")
    parser.add_argument("--strict", action="store_true", help="Stages reached in order only.")
    parser.add_argument(
        "--groups",
        default="",
        metavar="N|all",
        help=f"Groups shown apart, the largest (default {DEFAULT_GROUPS}; the rest summed).",
    )
    parser.add_argument(
        "--filter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help=f"Narrow to one value of a grouping ({', '.join(dimensions)}); repeatable.",
    )
    parser.add_argument("--format", default="json", choices=FORMATS)
    parser.add_argument("--table", default="", help="The table to print as CSV or text.")
    parser.add_argument("--user", default="", help="Read in this user's scope.")
    parser.add_argument(
        "--refresh",
        action="store_true",
        help="Read the history up to now first (else: the tick's).",
    )


def _text(report: Report, key: str) -> str:
    table = report.table(key)
    lines = [table.title, "\t".join(c.label for c in table.columns)]
    rows = [*table.rows, *([table.totals] if table.totals else [])]
    for row in rows:
        lines.append(
            "\t".join("" if row.get(k) is None else str(row[k]) for k in table.column_keys())
        )
    lines.extend(table.notes)
    return "\n".join(lines)


class Command(BaseCommand):
    help = "Print a report (funnel, cost, ...) as JSON, CSV or text."

    def add_arguments(self, parser: ArgumentParser) -> None:
        subparsers = parser.add_subparsers(dest="report", required=True, metavar="REPORT")
        for spec in REPORTS.values():
            sub = subparsers.add_parser(spec.name, help=spec.description)
            _add_query_options(sub, spec.dimensions)

    def handle(self, *args: Any, **options: Any) -> None:
        params = {"from": options["date_from"], "to": options["date_to"]}
        params.update(by=options["by"], cohort=options["cohort"])
        if options["strict"]:
            params["strict"] = "1"
        if options["groups"]:
            params["groups"] = options["groups"]
        for pair in options["filter"]:
            name, sep, value = pair.partition("=")
            if not sep:
                raise CommandError(f"--filter {pair!r}: write NAME=VALUE")
            params[name.strip()] = value
        user = None
        if options["user"]:
            user = User.objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"--user: no user {options['user']!r}")
        if options["refresh"]:
            rebuild = refresh_milestones(seconds=float("inf"))
            while not rebuild.is_done:  # pragma: no cover - an infinite budget finishes
                rebuild = refresh_milestones(seconds=float("inf"))
        try:
            report = get_report_spec(options["report"]).build(params, user)
            if options["format"] == "json":
                self.stdout.write(report.to_json())
            elif options["format"] == "csv":
                self.stdout.write(report.table(options["table"]).to_csv(), ending="")
            else:
                self.stdout.write(_text(report, options["table"]))
        except PermissionDenied as exc:
            raise CommandError(f"--user: {exc}") from None
        except ReportQueryError as exc:
            raise CommandError(f"--{exc.field}: {exc.message}") from None
