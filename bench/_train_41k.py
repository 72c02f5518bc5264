"""Times the whole ``leadsieve train`` service on the 41k-row generated history, in a database.

Run by ``bench_predictive.py`` in a subprocess of its own (a fresh SQLite database in a
temporary directory, nothing else in it): the generated history (``generated_frame``: 10
numeric and 10 categorical columns, registered as custom fields) is stored as closed leads,
then ``scoring.training.train_model`` runs exactly as ``leadsieve train`` calls it: reading
the leads, the leakage guard, the holdout fits, the final fit, the time to decision, the
decision and storing. Only the training is timed; filling the database is not.

``--dates spread`` (the default) gives the leads creation dates over a year and closing dates
after them (a time-split holdout, a time-to-decision model); ``--dates none`` gives every lead
the same creation moment and no closing date, an import that brought no dates (three-fold
cross-validation, no time to decision): the issue's case.

Prints each stage's wall and CPU seconds, then ONE JSON object on the last line.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _predictive_data import generated_frame
from _product_frames import setup_django

START = datetime(2025, 1, 1, tzinfo=UTC)
SPAN_DAYS = 365


def store_history(dates: str, seed: int = 0) -> int:
    """The generated history as closed leads with custom fields; how many were stored."""
    from leadsieve.leads.models import FieldDefinition, FieldType, Lead, Outcome

    leads, y, spec = generated_frame()
    for column in spec.columns:
        key = column.name.removeprefix("custom__")
        kind = FieldType.NUMBER if column.kind == "numeric" else FieldType.TEXT
        FieldDefinition.objects.create(key=key, label=key.replace("_", " "), type=kind)
    rng = np.random.default_rng(seed)
    created_days = rng.uniform(0, SPAN_DAYS, len(y))
    closing_days = rng.exponential(40, len(y)) + 1
    columns = {
        c.name.removeprefix("custom__"): leads[c.name].to_numpy(dtype=object) for c in spec.columns
    }
    rows = []
    for i in range(len(y)):
        custom = {
            key: (float(values[i]) if isinstance(values[i], float) else values[i])
            for key, values in columns.items()
            if values[i] is not None and not (isinstance(values[i], float) and np.isnan(values[i]))
        }
        created = START + timedelta(days=float(created_days[i])) if dates == "spread" else START
        rows.append(
            Lead(
                email=f"g{i}@gen{i % 500}.test",
                outcome=Outcome.WON if y[i] else Outcome.LOST,
                created_at=created,
                closed_at=(
                    created + timedelta(days=float(closing_days[i])) if dates == "spread" else None
                ),
                custom=custom,
            )
        )
    Lead.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dates", choices=("spread", "none"), default="spread")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="leadsieve-train41k-"))
    setup_django(workdir)
    from leadsieve.scoring.training import train_model

    n = store_history(args.dates)
    marks: list[tuple[str, float, float]] = []

    def progress(message: str) -> None:
        print(f"… {message}", file=sys.stderr, flush=True)  # what `train` shows, as it goes
        if not message.startswith("  "):  # the engine's "fits left" lines belong to a stage
            marks.append((message, time.perf_counter(), time.process_time()))

    started, cpu = time.perf_counter(), time.process_time()
    version = train_model(progress=progress)
    wall_s, cpu_s = time.perf_counter() - started, time.process_time() - cpu
    marks.append(("(end)", started + wall_s, cpu + cpu_s))
    print(f"leadsieve train on {n} generated closed leads (dates: {args.dates})")
    print(f"{'stage':<78} {'wall s':>7} {'CPU s':>6}")
    print(
        f"{'(before the first report)':<78} {marks[0][1] - started:>7.1f} {marks[0][2] - cpu:>6.1f}"
    )
    for (message, at, at_cpu), (_, until, until_cpu) in pairwise(marks):
        if until - at >= 0.05:
            print(f"{message[:78]:<78} {until - at:>7.1f} {until_cpu - at_cpu:>6.1f}")
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    holdout = version.metrics["holdout"]
    print(
        f"total {wall_s:.1f} s wall, {cpu_s:.1f} s CPU, peak RSS {peak_mib:.0f} MiB "
        f"(load average {os.getloadavg()[0]:.1f}); measured by {holdout['method']}, "
        f"ROC-AUC {holdout['roc_auc']} ± {holdout['roc_auc_sd']}; {version.decision}"
    )
    print(
        json.dumps(
            {
                "train_41k_s": round(wall_s, 1),
                "train_41k_cpu_s": round(cpu_s, 1),
                "train_41k_peak_mib": round(peak_mib),
                "train_41k_method": holdout["method"],
                "train_41k_auc": holdout["roc_auc"],
            }
        )
    )


if __name__ == "__main__":
    main()
