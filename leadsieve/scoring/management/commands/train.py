"""``leadsieve train``: fit the conversion model on closed leads, then rescore open leads."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from leadsieve.scoring.holdout import CROSS_VALIDATION
from leadsieve.scoring.services import rescore_all
from leadsieve.scoring.time_to_close import describe_time_to_close
from leadsieve.scoring.training import MIN_CLOSED, TooLittleHistory, train_model, trust_words


class Command(BaseCommand):
    help = (
        "Train the conversion model on won/lost leads; print how it was measured, the leakage "
        "guard's verdict per column, and whether it replaced the champion."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--min-closed", type=int, default=MIN_CLOSED)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--no-activate", action="store_true", help="Store it, do not use it.")
        parser.add_argument("--no-rescore", action="store_true", help="Do not rescore afterwards.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            version = train_model(
                min_closed=options["min_closed"],
                random_state=options["seed"],
                activate=not options["no_activate"],
                progress=lambda message: self.stdout.write(f"… {message}"),
            )
        except TooLittleHistory as error:
            raise CommandError(str(error)) from None
        metrics = version.metrics
        self.stdout.write(
            self.style.SUCCESS(
                f"model {version.pk} trained on {version.n_rows} closed leads "
                f"({version.n_won} won, base rate {metrics['base_rate']:.1%})"
            )
        )
        self.stdout.write(trust_words(metrics.get("trust", {})))
        holdout = metrics["holdout"]
        self.stdout.write(f"measured by {holdout['method']}: {holdout['why']}")
        if holdout["method"] == CROSS_VALIDATION:
            self.stdout.write(self.style.WARNING(f"not a time split: {holdout['why']}"))
        for key in ("roc_auc", "log_loss"):
            self.stdout.write(f"  {key:<18} {holdout[key]} ± {holdout[f'{key}_sd']}")
        for key in ("pr_auc", "brier", "ece", "max_band_gap_pts"):
            self.stdout.write(f"  {key:<18} {holdout[key]}")
        self.stdout.write("leakage guard, per column:")
        for finding in metrics["leakage"]:
            line = f"  {finding['message']}"
            self.stdout.write(self.style.WARNING(line) if finding["is_flagged"] else line)
        if version.is_active:
            self.stdout.write(self.style.SUCCESS(f"champion: {version.decision}"))
        else:
            self.stdout.write(self.style.WARNING(f"not used: {version.decision}"))
        self.stdout.write(describe_time_to_close(metrics.get("time_to_close", {"skipped": "—"})))
        if version.is_active and not options["no_rescore"]:
            result = rescore_all(progress=True)
            self.stdout.write(f"rescored {result.n_scored} open leads with the model")
