"""The champion/challenger rule: a challenger replaces the champion only if its holdout is
not worse (ROC-AUC and log-loss, with their sd); every version is kept with the decision."""

from __future__ import annotations

from leadsieve.scoring.champion import judge_challenger
from leadsieve.scoring.models import ModelVersion
from leadsieve.scoring.training import train_model
from tests.scoring.synthetic import make_history
from tests.scoring.test_train_model import FAST

CHAMPION = {"roc_auc": 0.80, "roc_auc_sd": 0.01, "log_loss": 0.50, "log_loss_sd": 0.01}


def test_a_challenger_worse_beyond_the_noise_loses() -> None:
    challenger = {"roc_auc": 0.76, "roc_auc_sd": 0.01, "log_loss": 0.50, "log_loss_sd": 0.01}
    decision = judge_challenger(challenger, CHAMPION, champion_id=4)
    assert not decision.is_promoted
    assert decision.reason.startswith("lost to model 4: ROC-AUC 0.760 ± 0.010 is below")
    assert "noise (0.014)" in decision.reason


def test_a_challenger_with_a_worse_log_loss_loses() -> None:
    challenger = {"roc_auc": 0.80, "roc_auc_sd": 0.01, "log_loss": 0.55, "log_loss_sd": 0.01}
    decision = judge_challenger(challenger, CHAMPION)
    assert not decision.is_promoted
    assert "log-loss 0.550" in decision.reason and "ROC-AUC" not in decision.reason


def test_a_challenger_within_the_noise_replaces_the_champion() -> None:
    challenger = {"roc_auc": 0.79, "roc_auc_sd": 0.01, "log_loss": 0.51, "log_loss_sd": 0.01}
    decision = judge_challenger(challenger, CHAMPION, champion_id=4)
    assert decision.is_promoted
    assert decision.reason.startswith("not worse than model 4")


def test_the_first_model_and_a_champion_without_figures_give_way() -> None:
    assert judge_challenger(CHAMPION, None).is_promoted
    assert judge_challenger(CHAMPION, {"skipped": "old model"}).is_promoted
    assert not judge_challenger({"skipped": "x"}, CHAMPION).is_promoted


def test_training_keeps_the_champion_when_the_challenger_is_worse(db):
    make_history(400)
    champion = train_model(min_closed=200, model_params=FAST)
    assert champion.is_active
    # Make the champion's stored figures unbeatable: the next model must lose to them.
    champion.metrics = {
        **champion.metrics,
        "holdout": {"roc_auc": 0.999, "roc_auc_sd": 0.0, "log_loss": 0.01, "log_loss_sd": 0.0},
    }
    champion.save()
    challenger = train_model(min_closed=200, model_params=FAST)
    champion.refresh_from_db()
    assert champion.is_active and not challenger.is_active
    assert challenger.decision.startswith(f"lost to model {champion.pk}")
    assert ModelVersion.objects.count() == 2  # every version is kept


def test_training_replaces_a_champion_it_is_not_worse_than(db):
    make_history(400)
    champion = train_model(min_closed=200, model_params=FAST)
    challenger = train_model(min_closed=200, model_params=FAST)
    champion.refresh_from_db()
    assert challenger.is_active and not champion.is_active
    assert challenger.decision.startswith(f"not worse than model {champion.pk}")
    assert champion.decision == "no model was rating leads: it becomes the champion"
