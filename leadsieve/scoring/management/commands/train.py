"""``leadsieve train``: fit the conversion model on closed leads, then rescore open leads."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from leadsieve.scoring.services import rescore_all
from leadsieve.scoring.training import MIN_CLOSED, TooLittleHistory, train_model, trust_words


class Command(BaseCommand):
    help = "Train the conversion model on won/lost leads; print metrics and leakage warnings."

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
        if "skipped" in holdout:
            self.stdout.write(f"holdout: skipped ({holdout['skipped']})")
        else:
            self.stdout.write(
                f"holdout (newest {holdout['n_test']} leads, fitted on {holdout['n_train']} older):"
            )
            for key in ("roc_auc", "pr_auc", "log_loss", "brier", "ece", "max_band_gap_pts"):
                self.stdout.write(f"  {key:<18} {holdout[key]}")
        for warning in metrics["leakage_warnings"]:
            self.stdout.write(self.style.WARNING(f"leakage: {warning}"))
        if not options["no_activate"] and not options["no_rescore"]:
            result = rescore_all(progress=True)
            self.stdout.write(f"rescored {result.n_scored} open leads with the model")
