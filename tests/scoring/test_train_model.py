from __future__ import annotations

import json

import pytest

from leadsieve.engine.model import ConversionModel
from leadsieve.leads.models import Company
from leadsieve.scoring.models import ModelVersion
from leadsieve.scoring.services import explain_lead, rescore_leads
from leadsieve.scoring.training import TooLittleHistory, train_model
from tests.scoring.synthetic import make_history

FAST = {"gbm_max_rounds": 60, "gbm_early_stopping": 10, "n_inner_folds": 3, "lr_cs": (0.1,)}


def test_it_refuses_to_train_on_too_little_history(db):
    make_history(50)
    with pytest.raises(
        TooLittleHistory, match=r"Only 50 closed leads.*keep coming from the scorecard"
    ):
        train_model(min_closed=200)
    assert not ModelVersion.objects.exists()


def test_it_trains_stores_json_and_rates_open_leads_with_the_model(make_lead):
    make_history(600)
    version = train_model(min_closed=200, model_params=FAST)
    assert version.is_active
    assert version.n_rows == 600
    assert 0 < version.n_won < 600
    # The artefact is JSON (not pickle) and round-trips to a working model.
    model = ConversionModel.from_dict(json.loads(version.artefact))
    assert "custom__sales_tag" not in {c.name for c in model.encoder_.spec.usable}
    holdout = version.metrics["holdout"]
    assert holdout["roc_auc"] > 0.6
    leak = {f["column"]: f for f in version.metrics["leakage"]}
    assert leak["custom__sales_tag"]["is_flagged"]
    assert any("sales_tag" in w for w in version.metrics["leakage_warnings"])

    good = make_lead(
        company=Company.objects.get(domain="c0.test"), decision_role="decision_maker", budget=60000
    )
    poor = make_lead(company=Company.objects.get(domain="c1.test"), decision_role="user")
    rescore_leads([good.pk, poor.pk])
    good.refresh_from_db()
    poor.refresh_from_db()
    assert good.rating_source == "model" and poor.rating_source == "model"
    assert good.rating > poor.rating
    explanation = explain_lead(good)
    assert explanation.model_version_id == version.pk
    assert explanation.raising
    assert all(f.effect > 0 for f in explanation.raising)
    # The decision role is told in words, not as its stored code.
    labels = [f.label for f in explanation.raising + explanation.lowering]
    role = next(label for label in labels if label.startswith("Decision role"))
    assert role.startswith("Decision role is decision maker:"), labels
    assert explanation.to_dict()["criteria"]
