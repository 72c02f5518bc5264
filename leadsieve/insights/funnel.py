"""The funnel by source (or any grouping): leads → MQL → SQL → appointment set → appointment
held → won, with the exits (disqualified, lost) and their reasons, each rate with its Wilson
95 % interval, and the median and p90 time between steps.

Two readings of "reached" (``query.strict``):

- *reached at any time* (default): the lead reached the step or any later one (a lead won
  without a recorded SQL moment still passed SQL);
- *strict*: the lead reached every step up to this one, each no earlier than the one before.

All counts are of leads captured in the period (a cohort), whatever the date they reached a
step; ``cohort`` splits them by capture week or month.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth, TruncWeek

from leadsieve.insights.cells import (
    bucket,
    can_use_cells,
    cell_durations_and_exits,
    count_cell_groups,
)
from leadsieve.insights.charts import stacked_bars
from leadsieve.insights.dimensions import (
    drill_urls,
    get_dimension,
    label_values,
)
from leadsieve.insights.milestones import as_of_note
from leadsieve.insights.models import LeadMilestones
from leadsieve.insights.queries import list_milestones
from leadsieve.insights.stats import Rate, histogram_percentile, overlap, wilson
from leadsieve.insights.tables import Column, Report, ReportQuery, ReportTable
from leadsieve.segments.models import Segment, SegmentMember

# (key, label, milestone column); the first step is every lead captured.
STEPS: tuple[tuple[str, str, str], ...] = (
    ("leads", "Leads", "captured_at"),
    ("mql", "MQL", "mql_at"),
    ("sql", "SQL", "sql_at"),
    ("appointment_set", "Appointment set", "appointment_set_at"),
    ("appointment_held", "Appointment held", "appointment_held_at"),
    ("won", "Won", "won_at"),
)
TIMES: tuple[tuple[str, str], ...] = (
    ("capture_to_mql_s", "Capture → MQL"),
    ("mql_to_sql_s", "MQL → SQL"),
    ("sql_to_won_s", "SQL → won"),
    ("capture_to_won_s", "Capture → won"),
)
NO_REASON = "(no reason given)"
# Groups compared for "is the difference noise?": the largest ones.
COMPARED_GROUPS = 5
CHART_GROUPS = 12


def reached(index: int, *, strict: bool) -> Q:
    """Leads that reached step ``index`` of ``STEPS`` (any time, or strictly in order)."""
    if index == 0:
        return Q()
    if not strict:
        condition = Q()
        for _, _, column in STEPS[index:]:
            condition |= Q(**{f"{column}__isnull": False})
        return condition
    condition = Q()
    previous = "captured_at"
    for _, _, column in STEPS[1 : index + 1]:
        condition &= Q(**{f"{column}__isnull": False, f"{column}__gte": F(previous)})
        previous = column
    return condition


def _annotations(strict: bool) -> dict[str, Any]:
    counts: dict[str, Any] = {"n_leads": Count("pk")}
    for index, (key, _, _) in enumerate(STEPS[1:], start=1):
        counts[f"n_{key}"] = Count("pk", filter=reached(index, strict=strict))
    counts["n_disqualified"] = Count("pk", filter=Q(disqualified_at__isnull=False))
    counts["n_lost"] = Count("pk", filter=Q(lost_at__isnull=False))
    counts["won_value"] = Sum("won_value")
    return counts


def _cohort_expression(cohort: str) -> Any:
    return TruncWeek("captured_at") if cohort == "week" else TruncMonth("captured_at")


def _cohort_label(value: Any, cohort: str) -> str:
    if value is None:
        return ""
    day = value.date() if isinstance(value, dt.datetime) else value
    if cohort == "week":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{day:%Y-%m}"


def count_groups(
    rows: QuerySet[LeadMilestones], by: str, *, strict: bool, cohort: str = ""
) -> list[dict[str, Any]]:
    """One dict per (cohort, group): ``group`` (the raw value), ``cohort`` and the counts."""
    annotations = _annotations(strict)
    if by == "segment":
        found: list[dict[str, Any]] = []
        for segment in Segment.objects.filter(is_list=True).order_by("name"):
            members = SegmentMember.objects.filter(segment=segment).values("lead_id")
            found.extend(
                {**row, "group": segment.pk}
                for row in _grouped(rows.filter(lead_id__in=members), [], annotations, cohort)
                if row["n_leads"]
            )
        return found
    columns = [get_dimension(by).column] if by else []
    found = _grouped(rows, columns, annotations, cohort)
    for row in found:
        row["group"] = row.pop(columns[0]) if columns else None
    return found


def sum_groups(groups: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The counts of all ``groups`` together (no second pass over the rows)."""
    totals: dict[str, Any] = {"n_leads": 0, "won_value": None}
    for group in groups:
        for key, value in group.items():
            if key.startswith("n_"):
                totals[key] = totals.get(key, 0) + value
        if group.get("won_value") is not None:
            totals["won_value"] = (totals["won_value"] or 0) + group["won_value"]
    for key, _, _ in STEPS:
        totals.setdefault(f"n_{key}", 0)
    totals.setdefault("n_disqualified", 0)
    totals.setdefault("n_lost", 0)
    return totals


def _grouped(
    rows: QuerySet[LeadMilestones], columns: list[str], annotations: dict[str, Any], cohort: str
) -> list[dict[str, Any]]:
    if cohort:
        rows = rows.annotate(cohort_start=_cohort_expression(cohort))
        columns = ["cohort_start", *columns]
    if not columns:
        return [{**rows.aggregate(**annotations), "cohort_start": None}]
    found = list(rows.order_by().values(*columns).annotate(**annotations))
    for row in found:
        row.setdefault("cohort_start", None)
    return found


def _rate_cells(prefix: str, rate: Rate) -> dict[str, Any]:
    return {prefix: rate.value, f"{prefix}_low": rate.low, f"{prefix}_high": rate.high}


def _noise_notes(groups: Sequence[dict[str, Any]], step: str, label: str) -> list[str]:
    """Compare the largest groups' lead → ``step`` rates: within noise or not."""
    largest = sorted(groups, key=lambda g: -g["n_leads"])[:COMPARED_GROUPS]
    rated = [(g["label"], wilson(g[f"n_{step}"], g["n_leads"])) for g in largest if g["n_leads"]]
    if len(rated) < 2:
        return []
    best_label, best = max(rated, key=lambda item: item[1].value or 0.0)
    notes = []
    for other_label, other in rated:
        if other_label == best_label:
            continue
        shown = f"{best_label} ({_pct(best)}) vs {other_label} ({_pct(other)})"
        if overlap(best, other):
            notes.append(
                f"Lead → {label}: {shown}: the 95 % intervals overlap, so this difference "
                "may be noise; wait for more leads before moving budget."
            )
        else:
            notes.append(f"Lead → {label}: {shown}: a difference beyond noise (95 %).")
    return notes


def _pct(rate: Rate) -> str:
    if rate.value is None:
        return "–"
    return f"{rate.value * 100:.1f} %, {rate.low * 100:.1f}–{rate.high * 100:.1f}"  # type: ignore[operator]


def funnel_groups(query: ReportQuery, user: Any) -> list[dict[str, Any]]:
    """The counts per (cohort, group) of the query, from the day cells when they can answer
    it (``cells.can_use_cells``), else from the milestone rows; ``cohort`` set."""
    by = query.by or "source"
    if can_use_cells(query, user):
        found = count_cell_groups(query, user, strict=query.strict)
    else:
        rows = list_milestones(query, user)
        found = count_groups(rows, by, strict=query.strict, cohort=query.cohort)
    folded: dict[tuple[str, Any], dict[str, Any]] = {}
    for group in found:
        cohort = _cohort_label(group.pop("cohort_start", None), query.cohort)
        key = (cohort, group["group"])
        if key not in folded:
            folded[key] = {**group, "cohort": cohort}
            continue
        for name, value in group.items():
            if name.startswith("n_"):
                folded[key][name] += value
        if group.get("won_value") is not None:
            folded[key]["won_value"] = (folded[key]["won_value"] or 0) + group["won_value"]
    return list(folded.values())


class _Others:
    """The value of the row summing the groups not shown apart (``query.groups``)."""

    def __repr__(self) -> str:
        return "OTHERS"


OTHERS: Any = _Others()


def largest_groups(groups: Sequence[dict[str, Any]], n: int) -> set[Any] | None:
    """The values of the ``n`` groups with the most leads (every cohort together); None when
    every group is shown (``n`` 0, or no more groups than that)."""
    leads: Counter[Any] = Counter()
    for group in groups:
        leads[group["group"]] += group["n_leads"]
    if not n or len(leads) <= n:
        return None
    ranked = sorted(leads.items(), key=lambda item: (-item[1], str(item[0])))
    return {value for value, _ in ranked[:n]}


def fold_others(groups: Sequence[dict[str, Any]], kept: set[Any] | None) -> list[dict[str, Any]]:
    """The groups in ``kept``, and per cohort one ``OTHERS`` group summing the rest."""
    if kept is None:
        return list(groups)
    found = [group for group in groups if group["group"] in kept]
    others: dict[str, dict[str, Any]] = {}
    for group in groups:
        if group["group"] in kept:
            continue
        total = others.get(group["cohort"])
        if total is None:
            others[group["cohort"]] = {**group, "group": OTHERS}
            continue
        for name, value in group.items():
            if name.startswith("n_"):
                total[name] += value
        if group.get("won_value") is not None:
            total["won_value"] = (total["won_value"] or 0) + group["won_value"]
    return found + list(others.values())


def _fold_key(value: Any, kept: set[Any] | None) -> Any:
    return value if kept is None or value in kept else OTHERS


def build(query: ReportQuery, user: Any) -> Report:
    by = query.by or "source"
    rows = list_milestones(query, user)
    groups = funnel_groups(query, user)
    # Every lead is in exactly one group, except by segment (a lead may be in several).
    totals = (
        count_groups(rows, "", strict=query.strict)[0] if by == "segment" else sum_groups(groups)
    )
    totals.update(label="Total", cohort="")
    n_values = len({group["group"] for group in groups})
    kept = largest_groups(groups, query.groups)
    groups = fold_others(groups, kept)
    labels = label_values(by, [g["group"] for g in groups if g["group"] is not OTHERS])
    labels[OTHERS] = f"Others ({n_values - len(kept or ())} smaller groups)"
    for group in groups:
        group["label"] = labels[group["group"]]
    groups.sort(key=lambda g: (g["cohort"], g["group"] is OTHERS, -g["n_leads"], g["label"]))
    shown = [g for g in groups if g["group"] is not OTHERS]
    shown_note = (
        (
            f"The {len(kept)} largest of {n_values} groups are shown apart; the others are "
            "summed in one row (ask for more with groups=N, or groups=all).",
        )
        if kept is not None
        else ()
    )

    dimension_label = get_dimension(by).label
    reading = "strict (steps in order)" if query.strict else "reached at any time"
    lead_columns = [Column("cohort", "Cohort")] if query.cohort else []
    funnel = ReportTable(
        key="funnel",
        title=f"Funnel by {dimension_label.lower()} ({reading})",
        columns=(
            Column("label", dimension_label),
            *lead_columns,
            *(Column(f"n_{key}", label, "int") for key, label, _ in STEPS),
            Column("n_disqualified", "Disqualified", "int"),
            Column("n_lost", "Lost", "int"),
            Column("won_rate", "Lead → won", "rate"),
            Column("won_rate_low", "low 95 %", "rate"),
            Column("won_rate_high", "high 95 %", "rate"),
            Column("won_value", "Won value", "money"),
        ),
        rows=tuple(_funnel_row(g) for g in groups),
        totals=_funnel_row(totals),
        notes=(
            *shown_note,
            *_noise_notes(shown, "won", "won"),
            *_noise_notes(shown, "sql", "SQL"),
        ),
        links=drill_urls(query, by, ["" if g["group"] is OTHERS else g["group"] for g in groups]),
    )
    conversion = ReportTable(
        key="conversion",
        title="Step and cumulative conversion, with 95 % (Wilson) intervals",
        columns=(
            Column("label", dimension_label),
            *lead_columns,
            Column("step", "Step"),
            Column("reached", "Reached", "int"),
            Column("step_rate", "From previous step", "rate"),
            Column("step_rate_low", "low", "rate"),
            Column("step_rate_high", "high", "rate"),
            Column("cumulative_rate", "From lead", "rate"),
            Column("cumulative_rate_low", "low", "rate"),
            Column("cumulative_rate_high", "high", "rate"),
        ),
        rows=tuple(row for g in [*groups, totals] for row in _conversion_rows(g)),
        notes=(
            "An interval is where the true rate lies with 95 % confidence given this many "
            "leads; when two groups' intervals overlap, their difference may be noise.",
        ),
    )
    return Report(
        name="funnel",
        title="Funnel by source",
        query=query,
        tables=(
            funnel,
            conversion,
            *_exits_and_times(query, user, rows, dimension_label, labels, kept),
        ),
        charts=_charts(shown, totals, dimension_label),
        notes=as_of_note(),
    )


def _funnel_row(group: dict[str, Any]) -> dict[str, Any]:
    row = {key: group.get(key) for key in ("label", "cohort", "won_value")}
    for key, _, _ in STEPS:
        row[f"n_{key}"] = group[f"n_{key}"]
    row.update(n_disqualified=group["n_disqualified"], n_lost=group["n_lost"])
    row.update(_rate_cells("won_rate", wilson(group["n_won"], group["n_leads"])))
    return row


def _conversion_rows(group: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for index, (key, label, _) in enumerate(STEPS[1:], start=1):
        previous = STEPS[index - 1][0]
        row = {"label": group["label"], "cohort": group["cohort"], "step": label}
        row["reached"] = group[f"n_{key}"]
        row.update(_rate_cells("step_rate", wilson(group[f"n_{key}"], group[f"n_{previous}"])))
        row.update(_rate_cells("cumulative_rate", wilson(group[f"n_{key}"], group["n_leads"])))
        found.append(row)
    return found


def _exits_and_times(
    query: ReportQuery,
    user: Any,
    rows: QuerySet[LeadMilestones],
    dimension_label: str,
    labels: dict[Any, str],
    kept: set[Any] | None,
) -> tuple[ReportTable, ReportTable]:
    """The exits and times tables, the groups not in ``kept`` summed in ``OTHERS``."""
    by = query.by or "source"
    if can_use_cells(query, user):
        durations, counted = cell_durations_and_exits(query, user)
        counted = {(v, kind, reason or NO_REASON): n for (v, kind, reason), n in counted.items()}
    else:
        durations, counted = _row_durations(rows, by), _row_exits(rows, by)
    if kept is not None:
        folded: Counter[tuple[Any, str, str]] = Counter()
        for (value, kind, reason), n in counted.items():
            folded[(_fold_key(value, kept), kind, reason)] += n
        counted = dict(folded)
        merged: dict[Any, dict[str, Counter[int]]] = defaultdict(lambda: defaultdict(Counter))
        for value, histograms in durations.items():
            for key, histogram in histograms.items():
                merged[_fold_key(value, kept)][key].update(histogram)
        durations = merged
    return (
        _exits_table(counted, by, dimension_label, labels),
        _times_table(durations, by, dimension_label, labels),
    )


def _row_exits(rows: QuerySet[LeadMilestones], by: str) -> dict[tuple[Any, str, str], int]:
    column = get_dimension(by).column or "team_id"
    counted: dict[tuple[Any, str, str], int] = defaultdict(int)
    exits = rows.filter(Q(disqualified_at__isnull=False) | Q(lost_at__isnull=False))
    if by == "segment":
        members = SegmentMember.objects.filter(lead_id__in=exits.values("lead_id"))
        in_segment = defaultdict(list)
        for segment_id, lead_id in members.values_list("segment_id", "lead_id"):
            in_segment[lead_id].append(segment_id)
        for lead_id, disqualified, reason in exits.values_list(
            "lead_id", "disqualified_at", "exit_reason"
        ):
            kind = "Disqualified" if disqualified else "Lost"
            for segment_id in in_segment.get(lead_id, []):
                counted[(segment_id, kind, reason or NO_REASON)] += 1
    else:
        for row in (
            exits.order_by()
            .values(column, "exit_reason")
            .annotate(
                n_disqualified=Count("pk", filter=Q(disqualified_at__isnull=False)),
                n_lost=Count("pk", filter=Q(lost_at__isnull=False)),
            )
        ):
            reason = row["exit_reason"] or NO_REASON
            for kind, n in (("Disqualified", row["n_disqualified"]), ("Lost", row["n_lost"])):
                if n:
                    counted[(row[column], kind, reason)] += n
    return dict(counted)


def _exits_table(
    counted: dict[tuple[Any, str, str], int],
    by: str,
    dimension_label: str,
    labels: dict[Any, str],
) -> ReportTable:
    labels = {**labels, **label_values(by, {k[0] for k in counted} - set(labels))}
    found: list[dict[str, Any]] = [
        {
            "label": labels.get(value, str(value)),
            "exit": kind,
            "reason": reason,
            "n": n,
            "others": value is OTHERS,
        }
        for (value, kind, reason), n in counted.items()
    ]
    found.sort(key=lambda r: (r.pop("others"), r["label"], r["exit"], -r["n"], r["reason"]))
    return ReportTable(
        key="exits",
        title="Disqualified and lost, with their reasons",
        columns=(
            Column("label", dimension_label),
            Column("exit", "Exit"),
            Column("reason", "Reason"),
            Column("n", "Leads", "int"),
        ),
        rows=tuple(found),
    )


def _row_durations(rows: QuerySet[LeadMilestones], by: str) -> dict[Any, dict[str, Counter[int]]]:
    """Per group, per step pair: a histogram of durations in hundredths of a day."""
    durations: dict[Any, dict[str, Counter[int]]] = defaultdict(lambda: defaultdict(Counter))
    keys = [key for key, _ in TIMES]
    any_time = Q()
    for key in keys:
        any_time |= Q(**{f"{key}__isnull": False})
    column = get_dimension(by).column if by != "segment" else "lead_id"
    segments: dict[int, list[int]] = defaultdict(list)
    if by == "segment":
        for segment_id, lead_id in SegmentMember.objects.filter(
            lead_id__in=rows.filter(any_time).values("lead_id")
        ).values_list("segment_id", "lead_id"):
            segments[lead_id].append(segment_id)
    for value, *seconds in rows.filter(any_time).values_list(column, *keys):
        groups = segments.get(value, []) if by == "segment" else [value]
        for key, second in zip(keys, seconds, strict=True):
            if second is None:
                continue
            for group in groups:
                durations[group][key][bucket(second)] += 1
    return durations


def _times_table(
    durations: dict[Any, dict[str, Counter[int]]],
    by: str,
    dimension_label: str,
    labels: dict[Any, str],
) -> ReportTable:
    every: dict[str, Counter[int]] = defaultdict(Counter)
    if by == "segment":
        every = {}  # a lead in two segments counts once in the total: read apart
    else:
        for histograms in durations.values():
            for key, histogram in histograms.items():
                every[key].update(histogram)
    labels = {**labels, **label_values(by, set(durations) - set(labels))}
    found = [
        {"label": labels[value], **_time_cells(values), "others": value is OTHERS}
        for value, values in durations.items()
    ]
    found.sort(key=lambda r: (r.pop("others"), r["label"]))
    columns: list[Column] = [Column("label", dimension_label)]
    for key, label in TIMES:
        columns += [
            Column(f"{key}_n", f"{label} (leads)", "int"),
            Column(f"{key}_median", "median", "days"),
            Column(f"{key}_p90", "p90", "days"),
        ]
    return ReportTable(
        key="times",
        title="Time between steps (days, to the hundredth; steps reached in order)",
        columns=tuple(columns),
        rows=tuple(found),
        totals={"label": "Total", **_time_cells(every)} if by != "segment" else None,
    )


def _time_cells(values: dict[str, Counter[int]]) -> dict[str, Any]:
    """Median and p90 (days) of each histogram of hundredths of a day."""
    cells: dict[str, Any] = {}
    for key, _ in TIMES:
        histogram = values.get(key) or Counter()
        median = histogram_percentile(histogram, 50)
        p90 = histogram_percentile(histogram, 90)
        cells[f"{key}_n"] = sum(histogram.values())
        cells[f"{key}_median"] = round(median / 100, 2) if median is not None else None
        cells[f"{key}_p90"] = round(p90 / 100, 2) if p90 is not None else None
    return cells


def _charts(
    groups: Sequence[dict[str, Any]], totals: dict[str, Any], dimension_label: str
) -> tuple[Any, ...]:
    steps = stacked_bars(
        chart_id="funnel-steps",
        title="Funnel: leads reaching each step",
        description="One bar per step, for every lead in the period and scope.",
        rows=[(label, [float(totals[f"n_{key}"])]) for key, label, _ in STEPS],
        series=[("Leads", "response")],
    )
    merged: dict[str, dict[str, int]] = defaultdict(lambda: {"n_leads": 0, "n_won": 0})
    for group in groups:
        merged[group["label"]]["n_leads"] += group["n_leads"]
        merged[group["label"]]["n_won"] += group["n_won"]
    largest = sorted(merged.items(), key=lambda item: -item[1]["n_leads"])[:CHART_GROUPS]
    overall = wilson(totals["n_won"], totals["n_leads"]).value
    won = stacked_bars(
        chart_id="funnel-won-rate",
        title=f"Lead → won by {dimension_label.lower()} (%)",
        description="The share of leads won, largest groups first; the dashed line is the "
        "rate of all leads.",
        rows=[
            (label, [round(100 * c["n_won"] / c["n_leads"], 1) if c["n_leads"] else None])
            for label, c in largest
        ],
        series=[("Won", "ok")],
        unit=" %",
        marker=round(100 * overall, 1) if overall is not None else None,
        marker_label="All leads",
    )
    return (steps, won)
