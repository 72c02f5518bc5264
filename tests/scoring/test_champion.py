"""The champion/challenger rule: a challenger rates leads only if its holdout is better than
chance and not worse than the incumbent's (the champion, or the scorecard when no model rates
leads), on the same leads where that can be done; every version is kept with the decision."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

import numpy as np
from django.core.management import call_command
from django.utils import timezone

from leadsieve.leads.models import Lead, Outcome
from leadsieve.scoring.champion import Comparison, judge_challenger
from leadsieve.scoring.management.commands import train as train_command
from leadsieve.scoring.models import ModelVersion
from leadsieve.scoring.training import train_model
from tests.scoring.synthetic import START, make_history
from tests.scoring.test_train_model import FAST

CHAMPION = {"roc_auc": 0.80, "roc_auc_sd": 0.01, "log_loss": 0.50, "log_loss_sd": 0.01}


def _against(challenger: dict[str, float], incumbent: dict[str, float]) -> Comparison:
    return Comparison("model 4", incumbent, challenger, "on the same 80 leads")


def test_a_challenger_worse_beyond_the_noise_loses() -> None:
    challenger = {"roc_auc": 0.76, "roc_auc_sd": 0.01, "log_loss": 0.50, "log_loss_sd": 0.01}
    decision = judge_challenger(challenger, _against(challenger, CHAMPION))
    assert not decision.is_promoted
    assert decision.reason == (
        "ROC-AUC 0.76 ± 0.01 is below model 4's 0.80 ± 0.01 (by more than the noise, 0.014) "
        "on the same 80 leads: model 4 keeps rating leads"
    )


def test_a_challenger_with_a_worse_log_loss_loses() -> None:
    challenger = {"roc_auc": 0.80, "roc_auc_sd": 0.01, "log_loss": 0.55, "log_loss_sd": 0.01}
    decision = judge_challenger(challenger, _against(challenger, CHAMPION))
    assert not decision.is_promoted
    assert "log-loss 0.55" in decision.reason and "ROC-AUC" not in decision.reason


def test_a_challenger_within_the_noise_replaces_the_champion() -> None:
    challenger = {"roc_auc": 0.79, "roc_auc_sd": 0.01, "log_loss": 0.51, "log_loss_sd": 0.01}
    decision = judge_challenger(challenger, _against(challenger, CHAMPION))
    assert decision.is_promoted
    assert decision.reason.startswith("not worse than model 4 on the same 80 leads: ROC-AUC 0.79")


def test_a_challenger_no_better_than_chance_never_rates_whoever_the_incumbent_is() -> None:
    weak = {"roc_auc": 0.55, "roc_auc_sd": 0.06, "log_loss": 0.60, "log_loss_sd": 0.02}
    worse_scorecard = {"roc_auc": 0.50, "roc_auc_sd": 0.06, "log_loss": 0.90, "log_loss_sd": 0.05}
    for comparison in (
        Comparison("the scorecard", worse_scorecard, weak, "on the same 36 leads"),
        Comparison("model 4", {"skipped": "old model"}, weak, "on different leads"),
    ):
        decision = judge_challenger(weak, comparison)
        assert not decision.is_promoted
        assert decision.reason == (
            "ROC-AUC 0.55 ± 0.06 is not above chance (0.5) by more than its sd: "
            f"{comparison.incumbent} keeps rating leads"
        )


def test_a_champion_without_figures_gives_way_and_figures_are_needed_to_win() -> None:
    assert judge_challenger(CHAMPION, _against(CHAMPION, {"skipped": "old model"})).is_promoted
    assert not judge_challenger({"skipped": "x"}, _against({"skipped": "x"}, CHAMPION)).is_promoted


def _drifting_history(n: int = 400, *, seed: int = 1) -> None:
    """Closed leads whose profile's meaning flips for the newest fifth: older decision makers
    with a stated need lost more often, the newest ones win more often, as the scorecard says.
    A model fitted on the older leads ranks the newest ones backwards; the scorecard does not.
    """
    rng = np.random.default_rng(seed)
    leads = []
    for i in range(n):
        is_decider, has_need = bool(rng.random() < 0.5), bool(rng.random() < 0.5)
        sign = 1.0 if i >= 0.8 * n else -1.0
        z = -0.3 + sign * (1.2 * is_decider + 1.2 * has_need)
        won = rng.random() < 1 / (1 + np.exp(-z))
        leads.append(
            Lead(
                email=f"d{i}@drift{i % 7}.test",
                decision_role="decision_maker" if is_decider else "user",
                need="a new CRM" if has_need else "",
                outcome=Outcome.WON if won else Outcome.LOST,
                created_at=START + timedelta(hours=6 * i),
                closed_at=START + timedelta(hours=6 * i, days=20),
            )
        )
    Lead.objects.bulk_create(leads)


def test_a_first_model_worse_than_the_scorecard_on_the_same_leads_does_not_rate(db, make_lead):
    _drifting_history()
    version = train_model(min_closed=200, model_params=FAST)
    assert not version.is_active  # stored, with its figures, but not used
    assert ModelVersion.objects.get() == version
    holdout = version.metrics["holdout"]
    assert holdout["n_test"] == 80
    assert version.decision.startswith(f"ROC-AUC {holdout['roc_auc']:.2f} ± ")
    assert "is below the scorecard's" in version.decision
    assert version.decision.endswith("on the same 80 leads: the scorecard keeps rating leads")
    lead = make_lead(decision_role="decision_maker")
    from leadsieve.scoring.services import rescore_leads

    rescore_leads([lead.pk])
    lead.refresh_from_db()
    assert lead.rating_source == "scorecard"


def test_train_prints_that_the_scorecard_keeps_rating(db, capsys, monkeypatch):
    _drifting_history()
    monkeypatch.setattr(train_command, "train_model", partial(train_model, model_params=FAST))
    call_command("train")
    out = capsys.readouterr().out
    assert "not used: ROC-AUC" in out
    assert "on the same 80 leads: the scorecard keeps rating leads" in out
    assert "rescored" not in out  # nothing changed: open leads keep the scorecard's rating


def test_a_first_model_better_than_the_scorecard_rates_leads(db):
    make_history(400)
    version = train_model(min_closed=200, model_params=FAST)
    assert version.is_active
    assert version.decision.startswith("not worse than the scorecard on the same 80 leads: ")
    assert version.decision.endswith("it rates leads from now on")


def test_training_keeps_the_champion_when_the_challenger_is_worse(db):
    make_history(400)
    champion = train_model(min_closed=200, model_params=FAST)
    assert champion.is_active
    # Make the champion's stored figures unbeatable: the next model must lose to them. No
    # lead closed after it was trained, so its own holdout is what it defends.
    champion.metrics = {
        **champion.metrics,
        "holdout": {"roc_auc": 0.999, "roc_auc_sd": 0.0, "log_loss": 0.01, "log_loss_sd": 0.0},
    }
    champion.save()
    challenger = train_model(min_closed=200, model_params=FAST)
    champion.refresh_from_db()
    assert champion.is_active and not challenger.is_active
    assert f"is below model {champion.pk}'s 1.00 ± 0.00" in challenger.decision
    assert (
        f"measured on different leads (model {champion.pk} on its own holdout: only 0 of the "
        "leads judged now closed after it was trained, 30 needed)"
    ) in challenger.decision
    assert ModelVersion.objects.count() == 2  # every version is kept


def test_the_champion_is_judged_again_on_the_challengers_leads_it_never_saw(db):
    make_history(400)
    newest = list(Lead.objects.order_by("-created_at").values_list("pk", "outcome")[:80])
    Lead.objects.filter(pk__in=[pk for pk, _ in newest]).update(
        outcome=Outcome.OPEN, closed_at=None
    )
    champion = train_model(min_closed=200, model_params=FAST)  # on the 320 older leads
    for pk, outcome in newest:  # the newest leads close after the champion was trained
        Lead.objects.filter(pk=pk).update(outcome=outcome, closed_at=timezone.now())
    # Its stored figures say nothing here: it is re-scored on the leads it never saw, the
    # same leads the challenger is judged on.
    champion.metrics = {**champion.metrics, "holdout": {"roc_auc": 0.999, "log_loss": 0.01}}
    champion.save()
    challenger = train_model(min_closed=200, model_params=FAST)
    champion.refresh_from_db()
    assert challenger.metrics["holdout"]["n_test"] == 80
    assert challenger.is_active and not champion.is_active
    assert challenger.decision.startswith(
        f"not worse than model {champion.pk} on the same 80 leads, closed after model "
        f"{champion.pk} was trained: "
    )
