"""Backtest runs: stored results next to the active version, readable failures, the queue."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from leadsieve.scoring import drafts
from leadsieve.scoring.models import BacktestState, ScorecardVersion
from tests.scoring.synthetic import make_history

FROM = datetime(2025, 1, 1, tzinfo=UTC)
TO = datetime(2026, 1, 1, tzinfo=UTC)


def test_an_empty_history_fails_with_a_message_saying_what_to_do(
    draft: ScorecardVersion, alice: Any
) -> None:
    run = drafts.start_backtest(draft, period_start=FROM, period_end=TO, user=alice)

    assert run.state == BacktestState.FAILED
    assert "0 closed leads" in run.error and "Widen the period" in run.error
    assert run.result == {}


def test_it_stores_every_metric_of_the_draft_next_to_the_active_version(
    draft: ScorecardVersion, alice: Any
) -> None:
    make_history(300)

    run = drafts.start_backtest(draft, period_start=FROM, period_end=TO, user=alice)

    assert run.state == BacktestState.DONE and run.finished_at is not None
    assert run.n_leads == 300
    names = [s["name"] for s in run.result["subjects"]]
    assert names == ["active v1", f"draft v{draft.number}"]
    subject = run.result["subjects"][1]
    assert set(subject["metrics"]) == {
        "roc_auc",
        "pr_auc",
        "log_loss",
        "brier",
        "ece",
        "max_band_gap_pts",
    }
    assert 0 < subject["metrics"]["roc_auc"] < 1
    assert set(subject["mql"]) == {"precision", "recall", "n_selected"}
    assert len(subject["bands"]) == 10 and len(subject["lift"]) == 10
    assert {row["fit_grade"] for row in subject["grades"]} <= {"A", "B", "C", "D"}
    assert subject["svg"].lstrip().startswith("<?xml")
    assert (
        "roc_auc" in run.result["csv"] and f"# subject: draft v{draft.number}" in run.result["csv"]
    )


def test_a_large_period_goes_to_the_worker_after_commit(
    draft: ScorecardVersion, alice: Any, django_capture_on_commit_callbacks: Any
) -> None:
    make_history(60)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        run = drafts.start_backtest(
            draft, period_start=FROM, period_end=TO, user=alice, inline_max=10
        )
        assert run.state == BacktestState.QUEUED

    assert len(callbacks) == 1
    run.refresh_from_db()
    assert run.state == BacktestState.DONE
    assert len(run.result["subjects"]) == 2


def test_a_finished_run_is_not_run_again(draft: ScorecardVersion, alice: Any) -> None:
    run = drafts.start_backtest(draft, period_start=FROM, period_end=TO, user=alice)
    finished_at = run.finished_at

    again = drafts.run_backtest(run.pk)

    assert again.finished_at == finished_at


def test_a_backtest_whose_worker_died_fails_with_a_message(
    draft: ScorecardVersion, alice: Any, client_for: Any, ended_worker: str
) -> None:
    from leadsieve.scoring.models import BacktestRun

    run = BacktestRun.objects.create(
        version=draft,
        period_start=FROM,
        period_end=TO,
        state=BacktestState.RUNNING,
        worker=ended_worker,
    )

    page = client_for(alice).get(f"/scorecard/backtests/{run.pk}/")

    run.refresh_from_db()
    assert page.status_code == 200
    assert run.state == BacktestState.FAILED and "ended without finishing" in run.error
    assert "ended without finishing" in page.content.decode()
    assert drafts.list_backtest_runs(draft)[0].state == BacktestState.FAILED
