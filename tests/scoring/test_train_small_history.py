"""Training from 100 closed leads: the scorecard's prior, trust stated as intervals."""

from __future__ import annotations

from django.core.management import call_command

from leadsieve.leads.models import Company
from leadsieve.scoring.models import ModelVersion
from leadsieve.scoring.queries import get_active_scoring
from leadsieve.scoring.services import rescore_leads
from leadsieve.scoring.training import MIN_CLOSED, train_model, trust_words
from tests.scoring.synthetic import make_history

FAST = {"gbm_max_rounds": 60, "gbm_early_stopping": 10, "n_inner_folds": 3, "lr_cs": (0.1,)}


def test_it_trains_from_100_closed_leads_and_states_its_trust(make_lead):
    assert MIN_CLOSED == 100
    make_history(100, seed=2)
    lines: list[str] = []
    version = train_model(model_params=FAST, progress=lines.append)
    trust = version.metrics["trust"]
    assert trust["n_closed"] == 100
    assert trust["auc_low"] <= trust["auc"] <= trust["auc_high"]
    assert 0 < trust["rating_margin_pts"] < 50
    assert 0 <= version.metrics["prior_weight"] <= 1
    assert any("fits left" in line for line in lines)
    assert any(line.startswith("trust at 100 closed leads") for line in lines)
    assert "90 % interval" in trust_words(trust)

    lead = make_lead(company=Company.objects.get(domain="c0.test"), decision_role="user")
    rescore_leads([lead.pk])  # scores through the prior when the model kept it
    lead.refresh_from_db()
    assert lead.rating_source == "model"
    assert 1 <= lead.rating <= 100


def test_a_model_that_kept_the_prior_rates_through_it(make_lead, monkeypatch):
    make_history(150, seed=3)
    version = train_model(model_params=FAST)
    model = get_active_scoring().model
    assert model is not None
    model.prior_weight_ = max(model.prior_weight_, 0.25)  # whatever the draw chose
    lead = make_lead(company=Company.objects.get(domain="c1.test"), decision_role="user")
    rescore_leads([lead.pk])
    lead.refresh_from_db()
    assert lead.rating_source == "model" and 1 <= lead.rating <= 100
    assert ModelVersion.objects.get(pk=version.pk).is_active


def test_train_prints_the_trust_interval(db, capsys):
    make_history(120, seed=4)
    call_command("train", "--no-rescore")
    out = capsys.readouterr().out
    assert "trust at 120 closed leads" in out
    assert "fits left" in out
