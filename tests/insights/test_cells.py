"""The day cells give the same figures as the milestone rows, and stay current."""

from __future__ import annotations

from typing import Any

import pytest

from tests.insights.conftest import PERIOD, at

pytestmark = pytest.mark.django_db

DIMENSIONS = ("source", "kind", "channel", "owner", "team", "fit_grade", "rating_band", "campaign")


def _both(name: str, params: dict[str, str], user: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    from leadsieve.insights.cells import CELLS_READY, can_use_cells
    from leadsieve.insights.models import MilestoneStream
    from leadsieve.insights.registry import get_report_spec

    spec = get_report_spec(name)
    from_cells = spec.build({**PERIOD, **params}, user).to_dict()
    MilestoneStream.objects.filter(name=CELLS_READY).update(watermark=0)
    try:
        from_rows = spec.build({**PERIOD, **params}, user).to_dict()
    finally:
        MilestoneStream.objects.filter(name=CELLS_READY).update(watermark=1)
    query = spec.build({**PERIOD, **params}, user).query
    assert can_use_cells(query, user)
    return from_cells, from_rows


@pytest.mark.parametrize("by", DIMENSIONS)
@pytest.mark.parametrize("strict", ["", "1"])
def test_cells_and_rows_agree_for_an_admin(history: Any, by: str, strict: str) -> None:
    from_cells, from_rows = _both("funnel", {"by": by, "strict": strict}, history.admin)
    assert from_cells["tables"] == from_rows["tables"]


@pytest.mark.parametrize("cohort", ["week", "month"])
def test_cells_and_rows_agree_by_cohort_and_team(history: Any, cohort: str) -> None:
    params = {"cohort": cohort, "team": str(history.alice.team_id)}
    from_cells, from_rows = _both("funnel", params, history.admin)
    assert from_cells["tables"] == from_rows["tables"]
    from_cells, from_rows = _both("funnel", {"cohort": cohort}, history.alice)
    assert from_cells["tables"] == from_rows["tables"]


def test_cost_agrees_too(history: Any) -> None:
    from_cells, from_rows = _both("cost", {}, history.admin)
    assert from_cells["tables"] == from_rows["tables"]


@pytest.mark.parametrize("by", DIMENSIONS)
def test_cells_and_rows_agree_for_a_rep(history: Any, by: str) -> None:
    """A rep's funnel sums their own leads' cells and their team's unowned leads' cells."""
    from leadsieve.insights.models import LeadMilestones

    bob = history.bob
    owned = LeadMilestones.objects.filter(owner_id=bob.pk).count()
    unowned = LeadMilestones.objects.filter(team_id=bob.team_id, owner_id=None).count()
    assert owned and unowned  # both parts of a rep's scope are there to be summed
    for strict in ("", "1"):
        from_cells, from_rows = _both("funnel", {"by": by, "strict": strict}, bob)
        assert from_cells["tables"] == from_rows["tables"]


def test_a_filter_or_a_rep_filtering_a_team_reads_the_rows(history: Any) -> None:
    from leadsieve.insights.cells import can_use_cells
    from leadsieve.insights.registry import get_report_spec

    spec = get_report_spec("funnel")
    rep = spec.build(PERIOD, history.bob).query
    assert can_use_cells(rep, history.bob)
    team = spec.build({**PERIOD, "team": str(history.bob.team_id)}, history.bob).query
    assert not can_use_cells(team, history.bob)
    filtered = spec.build({**PERIOD, "source": "1"}, history.admin).query
    assert not can_use_cells(filtered, history.admin)


def test_cells_follow_new_history(history: Any) -> None:
    from leadsieve.insights.milestones import refresh_milestones
    from leadsieve.insights.registry import get_report_spec
    from leadsieve.leads.models import LeadChange, Status

    LeadChange.objects.create(
        lead=history.leads["A4"],
        changed_at=at(3, 7),
        via="scoring",
        action="status_scored",
        changes={"status": [Status.NEW, Status.MQL]},
    )
    refresh_milestones(seconds=60)
    report = get_report_spec("funnel").build(PERIOD, history.admin)
    ads = next(r for r in report.table("funnel").rows if r["label"] == "Ads")
    assert ads["n_mql"] == 4  # A1, A2, A5 and now A4
    from_cells, from_rows = _both("funnel", {}, history.admin)
    assert from_cells["tables"] == from_rows["tables"]
