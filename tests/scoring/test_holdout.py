"""Train's holdout: a time split only when the creation dates spread, else stratified
cross-validation with the reason in words; never a split on file order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial

import numpy as np
import pandas as pd
from django.core.management import call_command

from leadsieve.leads.models import Lead
from leadsieve.scoring.holdout import CROSS_VALIDATION, TIME_SPLIT, plan_holdout
from leadsieve.scoring.management.commands import train as train_command
from leadsieve.scoring.models import ModelVersion
from leadsieve.scoring.training import train_model
from tests.scoring.synthetic import make_history
from tests.scoring.test_train_model import FAST

START = datetime(2025, 1, 1, tzinfo=UTC)


def _outcomes(n: int) -> np.ndarray:
    return (np.arange(n) % 3 == 0).astype(int)


def test_it_refuses_a_time_split_when_every_lead_has_the_same_creation_moment() -> None:
    created = pd.Series([START] * 500)
    plan = plan_holdout(created, _outcomes(500), 0.2)
    assert plan.method == CROSS_VALIDATION and plan.is_test is None
    assert "were all created at the same moment" in plan.why
    assert "cross-validation instead" in plan.why


def test_it_refuses_a_time_split_when_the_dates_span_a_few_days() -> None:
    created = pd.Series([START + timedelta(hours=i % 48) for i in range(500)])
    plan = plan_holdout(created, _outcomes(500), 0.2)
    assert plan.method == CROSS_VALIDATION
    assert "within 2.0 days" in plan.why


def test_it_refuses_a_time_split_when_dates_are_missing() -> None:
    created = pd.Series([START + timedelta(days=i) for i in range(499)] + [None])
    plan = plan_holdout(created, _outcomes(500), 0.2)
    assert plan.method == CROSS_VALIDATION
    assert plan.why.startswith("1 of 500 closed leads have no creation date")


def test_it_never_cuts_through_leads_created_at_one_moment() -> None:
    # 60 % of the leads share the newest moment: a cut on time cannot leave 10-30 % after it.
    created = pd.Series(
        [START + timedelta(days=i) for i in range(200)] + [START + timedelta(days=300)] * 300
    )
    plan = plan_holdout(created, _outcomes(500), 0.2)
    assert plan.method == CROSS_VALIDATION
    assert "share one creation moment" in plan.why


def test_it_splits_on_time_when_the_dates_spread() -> None:
    # File order is the reverse of time: the holdout must be the newest, not the last rows.
    created = pd.Series([START + timedelta(days=500 - i) for i in range(500)])
    plan = plan_holdout(created, _outcomes(500), 0.2)
    assert plan.method == TIME_SPLIT
    assert plan.is_test is not None
    assert plan.is_test[:100].all() and not plan.is_test[100:].any()
    assert "spread over 499 days" in plan.why


def test_train_measures_by_cross_validation_and_says_so_when_dates_do_not_spread(
    db, capsys, monkeypatch
):
    make_history(400)
    Lead.objects.update(created_at=START)  # an import that brought no dates
    # The real training, with the small search the other scoring tests use.
    monkeypatch.setattr(train_command, "train_model", partial(train_model, model_params=FAST))
    call_command("train", "--no-rescore")
    out = capsys.readouterr().out
    assert "not a time split: the closed leads were all created at the same moment" in out
    assert "roc_auc" in out and "±" in out
    # The guard's verdict for every column, in words.
    assert "leakage guard, per column:" in out
    assert "'custom__sales_tag': flagged, its name says after the fact; alone it predicts" in out
    assert "'decision_role': looks known at first contact" in out
    assert "champion: not worse than the scorecard on the same 400 leads" in out
    # It is stored with the model, for the model page.
    holdout = ModelVersion.objects.get().metrics["holdout"]
    assert holdout["method"] == CROSS_VALIDATION
    assert holdout["n_folds"] == 3
    assert 0.55 < holdout["roc_auc"] < 1 and holdout["roc_auc_sd"] > 0
    assert "same moment" in holdout["why"]


def test_train_uses_a_time_split_when_dates_spread(db):
    make_history(400)  # one lead every 6 hours: 100 days
    version = train_model(min_closed=200, model_params=FAST)
    holdout = version.metrics["holdout"]
    assert holdout["method"] == TIME_SPLIT
    assert holdout["n_test"] == 80 and holdout["n_train"] == 320
    assert holdout["roc_auc_sd"] > 0 and holdout["log_loss_sd"] > 0
    assert holdout["test_from"].startswith("2025-03-22")
