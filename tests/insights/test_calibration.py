"""Live calibration: band win rates, the gap to the rating, hot/warm/cold, ROC-AUC and PSI
against figures computed here by hand; alarms; role scope."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from leadsieve.insights.calibration import (
    band_rows,
    is_ordered,
    population_stability,
    roc_auc,
    temperature_rows,
)

UTC = dt.UTC
PERIOD = {"from": "2026-03-01", "to": "2026-03-31"}


def test_band_rows_count_win_rates_and_gaps_by_hand() -> None:
    ratings = np.array([5, 8, 75, 72, 78, 71, 95])
    won = np.array([False, False, True, False, True, True, True])
    rows = {row["band"]: row for row in band_rows(ratings, won)}
    assert (rows["1–10"]["n"], rows["1–10"]["n_won"], rows["1–10"]["win_rate"]) == (2, 0, 0.0)
    band = rows["71–80"]
    assert (band["n"], band["n_won"], band["win_rate"]) == (4, 3, 0.75)
    assert band["mean_rating"] == (75 + 72 + 78 + 71) / 4
    assert band["gap_pts"] == pytest.approx(75 - 74.0)
    assert rows["41–50"]["n"] == 0 and rows["41–50"]["win_rate"] is None
    assert not any(row["is_off"] for row in rows.values())  # too few leads to judge


def test_a_band_twenty_leads_strong_off_by_more_than_ten_points_raises_the_alarm() -> None:
    ratings = np.full(20, 80)
    won = np.array([True] * 13 + [False] * 7)  # 65 % won against a rating of 80
    band = next(row for row in band_rows(ratings, won) if row["band"] == "71–80")
    assert band["gap_pts"] == pytest.approx(-15.0) and band["is_off"]


def test_hot_beats_warm_beats_cold() -> None:
    ratings = np.array([90, 80, 50, 40, 10, 20])
    won = np.array([True, True, True, False, False, False])
    rows = temperature_rows(ratings, won)
    assert [row["key"] for row in rows] == ["hot", "warm", "cold"]
    assert [row["win_rate"] for row in rows] == [1.0, 0.5, 0.0]
    assert is_ordered(rows)
    assert not is_ordered(temperature_rows(ratings, ~won))


def test_roc_auc_is_the_share_of_won_lost_pairs_ranked_right() -> None:
    ratings = np.array([90, 60, 60, 30, 20])
    won = np.array([1, 0, 1, 0, 0])
    pairs = [(w, lo) for w in ratings[won == 1] for lo in ratings[won == 0]]
    by_hand = sum(1.0 if w > lo else 0.5 if w == lo else 0.0 for w, lo in pairs) / len(pairs)
    assert roc_auc(ratings, won) == pytest.approx(by_hand)
    assert roc_auc(ratings, np.zeros(5)) is None


def test_psi_by_hand() -> None:
    before = np.array([15] * 50 + [55] * 50)  # half in 11–20, half in 51–60
    after = np.array([15] * 20 + [55] * 80)
    eps = 1e-4
    by_hand = (0.2 - 0.5) * math.log(0.2 / 0.5) + (0.8 - 0.5) * math.log(0.8 / 0.5)
    # The eight empty bands contribute (eps − eps)·ln 1 = 0.
    assert population_stability(before, after) == pytest.approx(by_hand)
    assert population_stability(before, before) == pytest.approx(0.0, abs=eps)
    assert population_stability(before, np.array([])) is None


@pytest.fixture
def closed(
    make_lead: Callable[..., Any], north: Any, south: Any, bob: Any, carol: Any
) -> dict[str, Any]:
    """North (bob): 20 leads rated 80 at capture, 13 won; 20 rated 20 at capture, 2 won.
    South (carol): 4 leads rated 50, 2 won. All closed in March; 10 of bob's hot ones became
    SQL rated 85."""
    from leadsieve.scoring.models import ScoreSnapshot

    def lead(owner: Any, team: Any, rating: int, won: bool, sql: bool = False) -> None:
        captured = dt.datetime(2026, 2, 10, tzinfo=UTC)
        made = make_lead(
            owner=owner,
            team=team,
            rating=rating + 5,
            outcome="won" if won else "lost",
            closed_at=dt.datetime(2026, 3, 10, tzinfo=UTC),
            created_at=captured,
        )
        ScoreSnapshot.objects.create(lead=made, at=captured, rating=rating, status="new")
        if sql:
            ScoreSnapshot.objects.create(
                lead=made, at=captured + dt.timedelta(days=3), rating=85, status="sql"
            )

    for n in range(20):
        lead(bob, north, 80, n < 13, sql=n % 2 == 0)
        lead(bob, north, 20, n < 2)
    for n in range(4):
        lead(carol, south, 50, n < 2)
    from leadsieve.insights.milestones import refresh_milestones

    refresh_milestones(seconds=60)
    return {"bob": bob, "carol": carol}


def _build(user: Any) -> Any:
    from leadsieve.insights.registry import get_report_spec

    return get_report_spec("calibration").build(dict(PERIOD), user)


def test_the_report_judges_the_rating_at_capture_and_raises_the_alarms(
    closed: dict[str, Any], admin_user: Any
) -> None:
    from leadsieve.scoring.models import ModelVersion

    ModelVersion.objects.create(
        artefact="{}",
        engine_version="test",
        feature_spec={},
        n_rows=1,
        n_won=1,
        metrics={"holdout": {"roc_auc": 0.99}},
        is_active=True,
    )
    report = _build(admin_user)
    bands = {row["band"]: row for row in report.table("at_capture").rows}
    assert (bands["71–80"]["n"], bands["71–80"]["win_rate"]) == (20, 0.65)
    assert (bands["11–20"]["n"], bands["11–20"]["win_rate"]) == (20, 0.1)
    assert bands["71–80"]["alarm"] == "yes" and bands["11–20"]["alarm"] == ""
    assert any(
        "71–80" in w and "off by 15 points" in w for w in report.table("at_capture").warnings
    )
    summary = report.table("summary").rows[0]
    ratings = [80] * 20 + [20] * 20 + [50] * 4
    won = [n < 13 for n in range(20)] + [n < 2 for n in range(20)] + [True, True, False, False]
    wins = [r for r, w in zip(ratings, won, strict=True) if w]
    losses = [r for r, w in zip(ratings, won, strict=True) if not w]
    pairs = [(a, b) for a in wins for b in losses]
    auc = sum(1.0 if a > b else 0.5 if a == b else 0.0 for a, b in pairs) / len(pairs)
    assert summary["auc_at_capture"] == pytest.approx(round(auc, 4))
    assert summary["auc_at_training"] == 0.99
    assert any("AUC fell" in w for w in report.table("summary").warnings)
    at_sql = {row["band"]: row for row in report.table("at_sql").rows}
    assert (at_sql["81–90"]["n"], at_sql["81–90"]["n_won"]) == (10, 7)
    assert is_ordered(list(report.table("temperature").rows))


def test_reps_see_only_their_own_closed_leads_and_the_api_agrees(
    closed: dict[str, Any], api_as: Any
) -> None:
    mine = _build(closed["carol"]).table("at_capture").totals
    assert (mine["n"], mine["n_won"]) == (4, 2)
    api = api_as(closed["bob"]).get("/insights/calibration", PERIOD).json()
    totals = next(t for t in api["tables"] if t["key"] == "at_capture")["totals"]
    assert (totals["n"], totals["n_won"]) == (40, 15)


def test_the_page_and_the_csv_keep_a_rep_to_their_own_closed_leads(
    closed: dict[str, Any], client: Any
) -> None:
    client.force_login(closed["carol"])
    page = client.get("/insights/calibration/", PERIOD)
    assert page.status_code == 200
    assert page.context["report"].table("at_capture").totals["n"] == 4
    csv_text = client.get(
        "/insights/calibration/csv/", {**PERIOD, "table": "temperature"}
    ).content.decode()
    rows = {line.split(",")[0]: line.split(",")[1] for line in csv_text.splitlines()[1:]}
    assert rows["Warm (30–69)"] == "4" and rows["All closed leads"] == "4"
