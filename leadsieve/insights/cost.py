"""Cost and return per source (or campaign, kind, team): the spend managers entered against
the leads captured in the same period and how far those leads went.

Spend of a month the period covers in part counts in part (by days). Cost per won deal has an
interval: the spend divided by the leads times the Wilson interval of their won rate. Sources
are ranked by cost per won deal, cheapest first; those without a won deal come last.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied

from leadsieve.accounts.models import is_manager_or_admin
from leadsieve.insights.charts import stacked_bars
from leadsieve.insights.dimensions import drill_urls, get_dimension, label_values
from leadsieve.insights.funnel import funnel_groups
from leadsieve.insights.milestones import as_of_note
from leadsieve.insights.spend import month_overlap, spend_in_scope, spend_rows_for_period
from leadsieve.insights.stats import wilson
from leadsieve.insights.tables import Column, Report, ReportQuery, ReportQueryError, ReportTable

PER = (
    ("lead", "n_leads"),
    ("mql", "n_mql"),
    ("sql", "n_sql"),
    ("appointment", "n_appointment_set"),
)
SPEND_GROUP = {"source": "source_id", "campaign": "campaign_id", "team": "team_id"}


def _per(spend: Decimal | None, n: int) -> float | None:
    if spend is None or not n:
        return None
    return round(float(spend) / n, 2)


def spend_by_group(query: ReportQuery, user: Any, by: str) -> dict[Any, Decimal]:
    """The spend in scope for the period, prorated by days, per group value."""
    filters = query.filter_map
    team_filter = None
    if "team" in filters:
        try:
            team_filter = int(filters["team"])
        except ValueError:
            raise ReportQueryError("team", f"{filters['team']!r} is not a team id") from None
    spend = spend_rows_for_period(spend_in_scope(user, team_filter), query.date_from, query.date_to)
    for name, column in (("source", "source_id"), ("campaign", "campaign_id")):
        if name in filters:
            value = filters[name]
            spend = spend.filter(**{column: int(value)}) if value.isdigit() else spend.none()
    if "kind" in filters:
        spend = spend.filter(source__kind=filters["kind"])
    totals: dict[Any, Decimal] = defaultdict(Decimal)
    column = SPEND_GROUP.get(by, "source__kind")
    for month, amount, value in spend.values_list("month", "amount", column):
        share = month_overlap(month, query.date_from, query.date_to)
        totals[value] += amount * share
    return {key: value.quantize(Decimal("0.01")) for key, value in totals.items()}


def build(query: ReportQuery, user: Any) -> Report:
    if user is not None and not is_manager_or_admin(user):
        raise PermissionDenied("Cost and return is for managers and admins.")
    by = query.by or "source"
    dimension = get_dimension(by)
    groups = {g["group"]: g for g in funnel_groups(replace(query, by=by, cohort=""), user)}
    spend = spend_by_group(query, user, by)
    values = set(groups) | set(spend)
    labels = label_values(by, values)
    rows = []
    for value in values:
        counts = groups.get(value) or {"n_leads": 0, "n_mql": 0, "n_sql": 0}
        rows.append(_row(labels[value], value, spend.get(value), counts))
    rows.sort(key=lambda r: (r["cost_per_won"] is None, r["cost_per_won"] or 0, r["label"]))
    total_counts: dict[str, Any] = defaultdict(int)
    for counts in groups.values():
        for key, n in counts.items():
            if key.startswith("n_"):
                total_counts[key] += n
        total_counts["won_value"] += counts.get("won_value") or 0
    total_spend = sum(spend.values(), Decimal(0)) if spend else None
    totals = _row("Total", None, total_spend, total_counts)
    columns = (
        Column("label", dimension.label),
        Column("spend", "Spend", "money"),
        Column("n_leads", "Leads", "int"),
        Column("cost_per_lead", "Per lead", "money"),
        Column("cost_per_mql", "Per MQL", "money"),
        Column("cost_per_sql", "Per SQL", "money"),
        Column("cost_per_appointment", "Per appt.", "money"),
        Column("n_won", "Won", "int"),
        Column("cost_per_won", "Per won", "money"),
        Column("cost_per_won_low", "low", "money"),
        Column("cost_per_won_high", "high", "money"),
        Column("won_value", "Won value", "money"),
        Column("return_on_spend", "Return ×", "number"),
    )
    notes = [
        "Ranked by cost per won deal, cheapest first. The interval comes from the 95 % "
        "(Wilson) interval of the won rate: a wide one means too few deals to tell.",
        "Spend of a month the period covers in part counts in part (by days). "
        "Return on spend is won value ÷ spend.",
    ]
    if user is not None and not user.is_admin_role():
        notes.append("Your team's spend only; spend entered for the whole company is not in it.")
    if not spend:
        notes.append("No spend entered for this period: enter it under Spend.")
    table = ReportTable(
        key="cost",
        title=f"Cost and return by {dimension.label.lower()}",
        columns=columns,
        rows=tuple(rows),
        totals=totals,
        notes=tuple(notes),
        links=drill_urls(query, by, [r["group"] for r in rows]),
    )
    chart_rows = [(r["label"], [r["cost_per_won"]]) for r in rows if r["spend"]][:12]
    chart = stacked_bars(
        chart_id="cost-per-won",
        title=f"Cost per won deal by {dimension.label.lower()}",
        description="Spend divided by won deals, cheapest first; no bar: no won deal yet.",
        rows=chart_rows,
        series=[("Cost per won deal", "response")],
        empty_text="no won deal",
    )
    return Report(
        name="cost",
        title="Cost and return",
        query=query,
        tables=(table,),
        charts=(chart,),
        notes=as_of_note(),
    )


def _row(label: str, value: Any, spend: Decimal | None, counts: dict[str, Any]) -> dict[str, Any]:
    n_leads = counts.get("n_leads", 0)
    n_won = counts.get("n_won", 0)
    won_value = counts.get("won_value")
    row: dict[str, Any] = {
        "label": label,
        "group": value,
        "spend": spend,
        "n_leads": n_leads,
        "n_won": n_won,
        "won_value": won_value,
    }
    for name, key in PER:
        row[f"cost_per_{name}"] = _per(spend, counts.get(key, 0))
    row["cost_per_won"] = _per(spend, n_won)
    rate = wilson(n_won, n_leads)
    row["cost_per_won_low"] = _per_rate(spend, n_leads, rate.high)
    row["cost_per_won_high"] = _per_rate(spend, n_leads, rate.low)
    row["return_on_spend"] = round(float(won_value or 0) / float(spend), 2) if spend else None
    return row


def _per_rate(spend: Decimal | None, n_leads: int, rate: float | None) -> float | None:
    """Spend per won deal if ``rate`` of the leads were won (None when no deal would be)."""
    if spend is None or not n_leads or not rate:
        return None
    return round(float(spend) / (n_leads * rate), 2)
