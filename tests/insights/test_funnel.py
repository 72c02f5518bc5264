"""The funnel's figures against the hand-built history (conftest.py), worked out here."""

from __future__ import annotations

import math
import statistics
from typing import Any

import pytest

from tests.insights.conftest import PERIOD

Z = 1.959963984540054  # the 97.5th percentile of the standard normal


def wilson(k: int, n: int) -> tuple[float, float, float]:
    """Textbook Wilson score interval, written out apart from the code under test."""
    p = k / n
    centre = p + Z * Z / (2 * n)
    spread = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n))
    return p, (centre - spread) / (1 + Z * Z / n), (centre + spread) / (1 + Z * Z / n)


def p90(values: list[float]) -> float:
    """Linear interpolation between closest ranks (the usual "type 7" percentile)."""
    ordered = sorted(values)
    rank = 0.9 * (len(ordered) - 1)
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def funnel(user: Any, **params: str) -> Any:
    from leadsieve.insights.registry import get_report_spec

    return get_report_spec("funnel").build({**PERIOD, **params}, user)


def by_label(table: Any) -> dict[str, dict[str, Any]]:
    return {row["label"]: row for row in table.rows}


pytestmark = pytest.mark.django_db


def test_it_counts_each_step_reached_at_any_time(history: Any) -> None:
    rows = by_label(funnel(history.admin).table("funnel"))
    assert set(rows) == {"Ads", "Referrals", "Calls"}  # merged M1 and February's O1 left out
    ads = rows["Ads"]
    # A5 was won without a recorded MQL/SQL/appointment: a later step counts for earlier ones.
    assert [
        ads[f"n_{k}"] for k in ("leads", "mql", "sql", "appointment_set", "appointment_held", "won")
    ] == [5, 3, 3, 2, 2, 2]
    assert (ads["n_disqualified"], ads["n_lost"], ads["won_value"]) == (1, 1, 1200)
    referrals = rows["Referrals"]
    assert [
        referrals[f"n_{k}"]
        for k in ("leads", "mql", "sql", "appointment_set", "appointment_held", "won")
    ] == [2, 2, 2, 1, 1, 1]
    calls = rows["Calls"]
    assert (calls["n_leads"], calls["n_mql"], calls["n_sql"], calls["n_lost"]) == (1, 1, 0, 1)


def test_the_strict_funnel_counts_only_steps_reached_in_order(history: Any) -> None:
    rows = by_label(funnel(history.admin, strict="1").table("funnel"))
    ads = rows["Ads"]
    # A1 and A2 went MQL → SQL in order; only A1 went on to the appointment and the win.
    assert [
        ads[f"n_{k}"] for k in ("leads", "mql", "sql", "appointment_set", "appointment_held", "won")
    ] == [5, 2, 2, 1, 1, 1]
    referrals = rows["Referrals"]
    # R2 became SQL before MQL; R1 has no appointment recorded, so strict stops there.
    assert [referrals[f"n_{k}"] for k in ("leads", "mql", "sql", "appointment_set")] == [
        2,
        2,
        1,
        0,
    ]


def test_rates_carry_wilson_intervals(history: Any) -> None:
    report = funnel(history.admin)
    ads = by_label(report.table("funnel"))["Ads"]
    p, low, high = wilson(2, 5)
    assert ads["won_rate"] == pytest.approx(p)
    assert ads["won_rate_low"] == pytest.approx(low)
    assert ads["won_rate_high"] == pytest.approx(high)
    totals = report.table("funnel").totals
    assert totals["n_leads"] == 8 and totals["n_won"] == 3
    assert totals["won_rate_low"] == pytest.approx(wilson(3, 8)[1])

    steps = [r for r in report.table("conversion").rows if r["label"] == "Ads"]
    sql = next(r for r in steps if r["step"] == "SQL")
    assert sql["reached"] == 3
    assert sql["step_rate"] == pytest.approx(1.0)  # 3 of the 3 MQL
    assert sql["step_rate_low"] == pytest.approx(wilson(3, 3)[1])
    assert sql["cumulative_rate"] == pytest.approx(3 / 5)
    assert sql["cumulative_rate_high"] == pytest.approx(wilson(3, 5)[2])


def test_the_page_says_when_a_difference_is_noise(history: Any) -> None:
    notes = funnel(history.admin).table("funnel").notes
    # Referrals 1 of 2 won vs Ads 2 of 5: the intervals overlap widely.
    assert any("Referrals" in n and "Ads" in n and "noise" in n for n in notes)


def test_times_between_steps_are_medians_and_p90_in_days(history: Any) -> None:
    times = funnel(history.admin).table("times")
    day = 86_400
    capture_to_mql = [1.0, 1.0, 2.0, 2.0, 1.0]  # A1, A2, R1, R2, C1
    mql_to_sql = [2.0, 7_200 / day, 5.0]  # A1, A2, R1 (R2 went SQL first: no duration)
    sql_to_won = [7.0, 10.0]  # A1, R1
    capture_to_won = [10.0, 4.0, 17.0]  # A1, A5, R1
    totals = times.totals
    for key, values in (
        ("capture_to_mql_s", capture_to_mql),
        ("mql_to_sql_s", mql_to_sql),
        ("sql_to_won_s", sql_to_won),
        ("capture_to_won_s", capture_to_won),
    ):
        assert totals[f"{key}_n"] == len(values)
        assert totals[f"{key}_median"] == pytest.approx(statistics.median(values), abs=0.01)
        assert totals[f"{key}_p90"] == pytest.approx(p90(values), abs=0.01)
    ads = by_label(times)["Ads"]
    assert ads["capture_to_won_s_median"] == pytest.approx(statistics.median([10.0, 4.0]))


def test_exits_list_their_reasons(history: Any) -> None:
    exits = {
        (r["label"], r["exit"], r["reason"]): r["n"]
        for r in funnel(history.admin).table("exits").rows
    }
    assert exits == {
        ("Ads", "Disqualified", "Student"): 1,
        ("Ads", "Lost", "Budget"): 1,
        ("Calls", "Lost", "No need"): 1,
    }


def test_groupings_filters_and_cohorts(history: Any) -> None:
    kinds = by_label(funnel(history.admin, by="kind").table("funnel"))
    assert kinds["Prospecting (sales outreach)"]["n_leads"] == 1
    assert kinds["Lead generation (marketing inflow)"]["n_leads"] == 7
    owners = by_label(funnel(history.admin, by="owner").table("funnel"))
    assert owners["Bob"]["n_leads"] == 4 and owners["(none)"]["n_leads"] == 2
    only_ads = funnel(history.admin, source=str(history.sources["Ads"].pk)).table("funnel")
    assert [r["label"] for r in only_ads.rows] == ["Ads"]
    weekly = funnel(history.admin, cohort="week").table("funnel")
    ads_weeks = {r["cohort"]: r["n_leads"] for r in weekly.rows if r["label"] == "Ads"}
    assert ads_weeks == {"2026-W10": 5}  # 2 to 6 March: ISO week 10
    referrals = {r["cohort"]: r["n_leads"] for r in weekly.rows if r["label"] == "Referrals"}
    assert referrals == {"2026-W10": 1, "2026-W11": 1}


def test_a_source_row_links_to_its_leads(history: Any) -> None:
    table = funnel(history.admin).table("funnel")
    index = [r["label"] for r in table.rows].index("Ads")
    link = table.links[index]
    assert f"source={history.sources['Ads'].pk}" in link
    assert "created_from=2026-03-01" in link and "created_to=2026-04-01" in link


def test_bad_parameters_name_themselves(history: Any) -> None:
    from leadsieve.insights.tables import ReportQueryError

    for params, field in (
        ({"by": "colour"}, "by"),
        ({"from": "2026-13-01"}, "from"),
        ({"colour": "red"}, "colour"),
        ({"cohort": "day"}, "cohort"),
        ({"source": "abc"}, "source"),
    ):
        with pytest.raises(ReportQueryError) as refused:
            funnel(history.admin, **params)
        assert refused.value.field == field


@pytest.mark.parametrize("reader", ["admin", "alice"])
def test_groups_past_the_largest_are_summed_in_one_row(history: Any, reader: str) -> None:
    # Ads (5 leads) and Referrals (2) are the largest; Calls (1: C1, MQL then lost "No need",
    # capture → MQL one day) is summed alone in "others". Alice (North) sees Ads and Calls.
    user = getattr(history, reader)
    every = funnel(user, groups="all")
    top = funnel(user, groups="1" if reader == "alice" else "2")
    rows = [r["label"] for r in top.table("funnel").rows]
    expected = ["Ads", "Referrals"] if reader == "admin" else ["Ads"]
    assert rows == [*expected, "Others (1 smaller groups)"]
    others = top.table("funnel").rows[-1]
    assert (others["n_leads"], others["n_mql"], others["n_lost"], others["n_won"]) == (1, 1, 1, 0)
    assert top.table("funnel").links[-1] == ""
    assert top.table("funnel").totals == every.table("funnel").totals
    assert "largest of" in " ".join(top.table("funnel").notes)
    exits = [(r["label"], r["exit"], r["reason"], r["n"]) for r in top.table("exits").rows]
    assert exits[-1] == ("Others (1 smaller groups)", "Lost", "No need", 1)
    times = by_label(top.table("times"))["Others (1 smaller groups)"]
    assert (times["capture_to_mql_s_n"], times["capture_to_mql_s_median"]) == (1, 1.0)
    conversion = [r for r in top.table("conversion").rows if r["label"].startswith("Others")]
    assert [r["reached"] for r in conversion] == [1, 0, 0, 0, 0]
    assert [r["label"] for r in every.table("funnel").rows][-1] == "Calls"


def test_the_groups_parameter_is_a_number_or_all(history: Any) -> None:
    from leadsieve.insights.tables import DEFAULT_GROUPS, ReportQueryError

    assert funnel(history.admin).query.groups == DEFAULT_GROUPS
    assert funnel(history.admin, groups="all").query.to_params()["groups"] == "all"
    for bad in ("0", "-3", "many"):
        with pytest.raises(ReportQueryError) as refused:
            funnel(history.admin, groups=bad)
        assert refused.value.field == "groups"
