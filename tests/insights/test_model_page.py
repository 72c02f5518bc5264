"""The model page: every version with its figures, the champion's verdicts, the drift alarm
against the training figures, and the retraining schedule a manager sets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from leadsieve.insights.model_health import live_figures
from leadsieve.insights.models import LeadMilestones
from leadsieve.leads.models import Lead
from leadsieve.scoring.models import ModelVersion, RetrainingSchedule

TRAINED = datetime(2026, 1, 10, tzinfo=UTC)
HOLDOUT = {
    "method": "stratified cross-validation",
    "why": "the closed leads were all created at the same moment (a time split needs 30 days "
    "or more; import their creation dates to get one): measured by 3-fold stratified "
    "cross-validation instead",
    "roc_auc": 0.82,
    "roc_auc_sd": 0.01,
    "log_loss": 0.45,
    "log_loss_sd": 0.01,
    "ece": 0.02,
}


def _version(**overrides) -> ModelVersion:
    values = {
        "artefact": "{}",
        "engine_version": "1",
        "feature_spec": {"columns": []},
        "n_rows": 800,
        "n_won": 240,
        "trained_at": TRAINED,
        "metrics": {
            "holdout": HOLDOUT,
            "leakage": [
                {
                    "column": "custom__tags",
                    "is_flagged": True,
                    "message": "'custom__tags': "
                    "flagged, its name says after the fact; alone ROC-AUC 0.919",
                },
            ],
        },
        "decision": "not worse than the scorecard on the same 800 leads: ROC-AUC 0.82 against "
        "0.64, log-loss 0.45 against 0.58 (noise 0.020 and 0.015): it rates leads from now on",
        "is_active": True,
    }
    return ModelVersion.objects.create(**{**values, **overrides})


def _closed_since(n: int, *, honest: bool, seed: int = 0) -> None:
    """``n`` leads captured after training and closed: rated honestly, or at random."""
    rng = np.random.default_rng(seed)
    ratings = rng.integers(5, 95, n)
    won = rng.random(n) < (ratings / 100 if honest else 0.3)
    for i in range(n):
        lead = Lead.objects.create(email=f"l{i}@x.test")
        captured = TRAINED + timedelta(days=1 + i % 20)
        LeadMilestones.objects.create(
            lead=lead,
            captured_at=captured,
            rating_at_capture=int(ratings[i]),
            won_at=captured + timedelta(days=9) if won[i] else None,
            lost_at=None if won[i] else captured + timedelta(days=9),
        )


def test_a_rep_reads_the_page_but_cannot_change_the_schedule(db, bob, client):
    client.force_login(bob)
    assert client.post("/insights/model/", {"every_days": "3"}).status_code == 403
    assert not RetrainingSchedule.objects.exists()
    page = client.get("/insights/model/")
    assert page.status_code == 200
    assert "No model rates leads yet" in page.content.decode()


def test_a_manager_sets_the_schedule_and_a_bad_period_is_refused(db, alice, client):
    client.force_login(alice)
    assert client.post("/insights/model/", {"every_days": "400"}).status_code == 400
    response = client.post("/insights/model/", {"every_days": "14"})
    assert response.status_code == 302
    assert RetrainingSchedule.objects.get().every_days == 14
    assert "Retrained every 14 days" in client.get("/insights/model/").content.decode()


def test_the_page_lists_every_version_and_why_a_challenger_lost(db, alice, client):
    champion = _version()
    _version(
        is_active=False,
        trained_at=TRAINED + timedelta(days=7),
        decision=f"ROC-AUC 0.70 ± 0.01 is below model {champion.pk}'s 0.82 ± 0.01",
        metrics={"holdout": {**HOLDOUT, "roc_auc": 0.7}},
    )
    client.force_login(alice)
    html = client.get("/insights/model/").content.decode()
    assert html.count("champion</span>") == 1
    assert f"is below model {champion.pk}&#x27;s 0.82" in html
    assert "Not a time split" in html and "all created at the same moment" in html
    assert "its name says after the fact" in html


def test_the_page_says_how_far_to_trust_the_champions_ratings(db, bob, client):
    trust = {
        "n_closed": 800.0,
        "auc": 0.781,
        "auc_low": 0.742,
        "auc_high": 0.816,
        "rating_margin_pts": 6.8,
    }
    _version(metrics={"holdout": HOLDOUT, "leakage": [], "trust": trust})
    client.force_login(bob)
    html = client.get("/insights/model/").content.decode()
    assert (
        "Learned from 800 closed leads, <strong>ratings are good to about ±7 points</strong>"
        in (html)
    )
    assert "ranks a won lead above a lost one 78 times in 100 (90 % interval 74 to 82)" in html


def test_the_page_says_when_a_stored_model_is_not_measured_for_trust(db, bob, client):
    version = _version(metrics={"holdout": HOLDOUT, "leakage": []})
    client.force_login(bob)
    html = client.get("/insights/model/").content.decode()
    assert f"Not measured: model {version.pk} was stored before training" in html


def test_a_model_that_lost_to_the_scorecard_is_shown_and_the_scorecard_rates(db, bob, client):
    lost = (
        "ROC-AUC 0.47 ± 0.06 is below the scorecard&#x27;s 0.61 ± 0.05 (by more than the "
        "noise, 0.078) on the same 36 leads: the scorecard keeps rating leads"
    )
    version = _version(is_active=False, decision=lost.replace("&#x27;", "'"))
    client.force_login(bob)
    html = client.get("/insights/model/").content.decode()
    assert "No model rates leads yet: ratings come from the scorecard." in html
    assert f"Model {version.pk}, trained 2026-01-10 00:00 on 800 closed leads, does not rate " in (
        html
    )
    assert html.count(lost) == 2  # above, and in its row of the versions table
    assert "champion</span>" not in html


def test_it_waits_for_enough_closed_leads_before_judging_drift(db):
    version = _version()
    _closed_since(30, honest=False)
    live = live_figures(version)
    assert live.alarms == () and live.auc is None
    assert live.waiting.startswith("30 leads rated by model")


def test_it_raises_the_drift_alarm_when_live_ranking_falls_from_training(db, alice, client):
    version = _version()
    _closed_since(300, honest=False)
    live = live_figures(version)
    assert live.auc is not None and live.auc < 0.65
    assert any(alarm.startswith("Ranking drifted: live ROC-AUC") for alarm in live.alarms)
    client.force_login(alice)
    html = client.get("/insights/model/").content.decode()
    assert "Ranking drifted" in html
    calibration = client.get("/insights/calibration/").content.decode()
    assert "/insights/model/#drift" in calibration


def test_no_alarm_when_live_figures_match_training(db):
    version = _version(metrics={"holdout": {**HOLDOUT, "roc_auc": 0.78, "ece": 0.05}})
    _closed_since(600, honest=True, seed=1)
    live = live_figures(version)
    assert live.auc == pytest.approx(0.78, abs=0.06)
    assert live.alarms == ()


def test_leads_captured_before_training_are_not_live(db):
    version = _version(trained_at=TRAINED + timedelta(days=365))
    _closed_since(300, honest=False)
    assert live_figures(version).n_closed == 0


def test_it_raises_the_calibration_alarm_when_live_ratings_run_hot(db):
    version = _version(metrics={"holdout": {**HOLDOUT, "roc_auc": 0.78, "ece": 0.02}})
    rng = np.random.default_rng(2)
    for i in range(400):
        rating = int(rng.integers(40, 99))
        won = rng.random() < (rating - 38) / 100  # ranked right, but wins far less than rated
        lead = Lead.objects.create(email=f"h{i}@x.test")
        captured = TRAINED + timedelta(days=2)
        LeadMilestones.objects.create(
            lead=lead,
            captured_at=captured,
            rating_at_capture=rating,
            won_at=captured + timedelta(days=5) if won else None,
            lost_at=None if won else captured + timedelta(days=5),
        )
    live = live_figures(version)
    assert live.ece is not None and live.ece > 0.2
    assert [a.split(":")[0] for a in live.alarms] == ["Calibration drifted"]
