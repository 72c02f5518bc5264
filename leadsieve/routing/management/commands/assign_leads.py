"""``leadsieve assign-leads``: place every unowned open lead now (or just the given ids)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from leadsieve.leads.models import Lead, Outcome


class Command(BaseCommand):
    help = "Assign unowned open leads by the rules; print how many were assigned and queued."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("ids", nargs="*", type=int, help="Lead ids (default: all unowned).")

    def handle(self, *args: Any, **options: Any) -> None:
        from leadsieve.routing.services import assign_leads

        leads = Lead.objects.filter(
            owner__isnull=True, outcome=Outcome.OPEN, merged_into__isnull=True
        )
        if options["ids"]:
            leads = leads.filter(id__in=options["ids"])
            if not leads.exists():
                raise CommandError(f"no unowned open lead among ids {options['ids']}")
        result = assign_leads(leads, via="command")
        reasons: dict[str, int] = {}
        for reason in result.queued.values():
            reasons[reason] = reasons.get(reason, 0) + 1
        summary = {"assigned": len(result.assigned), "queued": len(result.queued)}
        self.stdout.write(json.dumps({**summary, "queued_reasons": reasons}, sort_keys=True))
