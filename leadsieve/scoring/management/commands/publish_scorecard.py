"""``leadsieve publish-scorecard N``: make version N active, archive the old one, rescore."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from leadsieve.scoring.models import ScorecardVersion
from leadsieve.scoring.services import publish_scorecard, rescore_all


class Command(BaseCommand):
    help = "Publish scorecard version N (the previous active one is archived) and rescore."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("number", type=int)
        parser.add_argument("--no-rescore", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        version = ScorecardVersion.objects.filter(number=options["number"]).first()
        if version is None:
            known = ", ".join(
                str(n) for n in ScorecardVersion.objects.values_list("number", flat=True)
            )
            raise CommandError(f"no scorecard version {options['number']} (versions: {known})")
        try:
            version = publish_scorecard(version)
        except ValidationError as error:
            problem = error.messages[0]
            raise CommandError(f"version {version.number} cannot be published: {problem}") from None
        self.stdout.write(self.style.SUCCESS(f"scorecard v{version.number} is active"))
        if not options["no_rescore"]:
            result = rescore_all(progress=True)
            self.stdout.write(f"rescored {result.n_scored} open leads")
