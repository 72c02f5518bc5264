from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core.management import CommandError, call_command

from leadsieve.scoring.backtests import backtest
from leadsieve.scoring.models import ScorecardVersion
from leadsieve.scoring.services import create_scorecard_draft
from leadsieve.scoring.training import TooLittleHistory
from tests.scoring.synthetic import make_history

FROM = datetime(2025, 1, 1, tzinfo=UTC)
TO = datetime(2026, 1, 1, tzinfo=UTC)


def make_draft() -> ScorecardVersion:
    """The active scorecard with software companies worth far more fit points."""
    config = ScorecardVersion.objects.get(status="active").config
    for criterion in config["criteria"]:
        if criterion["name"] == "industry_target":
            criterion["value"] = ["software"]
            criterion["points"] = 40
    config["caps"] = [c for c in config["caps"] if c.get("group") != "company"]
    return create_scorecard_draft(config, note="software first")


def test_it_refuses_a_period_without_enough_outcomes(db):
    make_history(30)
    with pytest.raises(TooLittleHistory, match="Widen the period"):
        backtest(None, period_start=datetime(2030, 1, 1, tzinfo=UTC), period_end=TO.replace(2031))


def test_the_command_names_a_bad_date_and_an_unknown_draft(db):
    with pytest.raises(CommandError, match="'2025-13-01' is not a date"):
        call_command("backtest", "--from", "2025-13-01")
    with pytest.raises(CommandError, match="no scorecard version 99"):
        call_command("backtest", "--draft", "99")


def test_it_compares_a_draft_with_the_active_version_and_writes_files(db, tmp_path):
    make_history(400)
    draft = make_draft()
    result = backtest(draft, period_start=FROM, period_end=TO, out_dir=tmp_path)
    assert result.n_leads == 400
    assert set(result.reports) == {"active v1", "draft v2"}
    summary = result.summary()
    for column in ("roc_auc", "pr_auc", "log_loss", "brier", "ece", "mql_precision"):
        assert column in summary.columns
    # The draft rewards what actually converts here, so it ranks better.
    assert summary.loc["draft v2", "roc_auc"] > summary.loc["active v1", "roc_auc"]
    report = result.reports["draft v2"]
    assert len(report["rating_bands"]) == 10 and len(report["lift"]) == 10
    assert "by_fit_grade" in report
    names = sorted(p.name for p in result.files)
    assert "backtest_draft_v2.csv" in names and "backtest_draft_v2.svg" in names
    assert (tmp_path / "backtest_draft_v2.svg").read_text().lstrip().startswith("<?xml")
    assert "roc_auc" in (tmp_path / "backtest_summary.csv").read_text()


def test_the_command_prints_the_table(db, tmp_path, capsys):
    make_history(200)
    draft = make_draft()
    call_command(
        "backtest", "--draft", str(draft.number), "--from", "2025-01-01", "--out", str(tmp_path)
    )
    out = capsys.readouterr().out
    assert "200 closed leads" in out
    assert "draft v2" in out and "active v1" in out
    assert "wrote" in out
