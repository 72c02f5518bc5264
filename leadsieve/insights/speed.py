"""Speed to lead and procedure: how fast leads get an owner, a first attempt, a real contact
and qualification, per rep and per team.

The milestones of each lead come from ``LeadMilestones`` (``insights.milestones`` keeps them
current from the history tables, so the funnel and this page agree): captured, first
assignment to a rep, first attempt (a call, email, meeting or social touch a *person* made:
automatic cadence emails carry no user and do not count), first real contact (a reply, a
meeting, a connected call) and sales-qualified.

System delay is capture → assignment (wall-clock minutes: routing runs day and night). Rep
time is assignment → first attempt in **working** minutes of the rep's calendar, counted as the
response deadlines count them (``routing.calendar.WorkCalendar``), and falls in one of the
response-time bands 0–5 min, 5–60 min, 1–24 h, later, or "no attempt yet".

The pure part, ``summarise_speed``, takes that frame and the calendars and returns rows; the
tests check it on histories built by hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from django.db import connection
from django.db.models import FloatField, Func, Q, QuerySet

from leadsieve.accounts.models import Team, User
from leadsieve.insights.charts import BarChart, stacked_bars
from leadsieve.insights.models import LeadMilestones
from leadsieve.insights.tables import (
    Column,
    Report,
    ReportQuery,
    ReportQueryError,
    ReportTable,
    report_scope,
)
from leadsieve.leads.models import Status
from leadsieve.routing.calendar import WorkCalendar
from leadsieve.routing.queries import get_calendars

QUALIFIED_STATUSES = (Status.SQL, Status.CONVERTED)
# Response-time bands of rep time in working minutes: (key, label, upper bound inclusive).
RESPONSE_BANDS: tuple[tuple[str, str, float], ...] = (
    ("within_5m", "0–5 min", 5.0),
    ("within_1h", "5–60 min", 60.0),
    ("within_24h", "1–24 h", 24 * 60.0),
    ("later", "later", float("inf")),
)
WAITING = ("waiting", "no attempt yet")
DIMENSIONS = ("rep", "team", "source")
MILESTONES = ("created_at", "assigned_at", "attempt_at", "contact_at", "qualified_at")


# --- Reading ---------------------------------------------------------------------------------


def speed_scope(user: Any, *, owner: str = "owner_id", team: str = "team_id") -> Q:
    """Reports' scope, except that a rep sees only the leads they own (their own figures)."""
    scope = report_scope(user, owner=owner, team=team)
    if user is not None and getattr(user, "is_rep_role", lambda: False)():
        scope &= Q(**{owner: user.pk})
    return scope


def _int(name: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ReportQueryError(name, f"{value!r} is not an id") from None


def list_speed_milestones(query: ReportQuery, user: Any) -> QuerySet[LeadMilestones]:
    """The milestone rows of the leads captured in the period, in the user's scope."""
    rows = LeadMilestones.objects.filter(
        speed_scope(user), captured_at__gte=query.start(), captured_at__lt=query.end()
    )
    for name, column in (("rep", "owner_id"), ("team", "team_id"), ("source", "source_id")):
        value = query.filter_map.get(name)
        if value:
            rows = rows.filter(**{column: _int(name, value)})
    return rows


class EpochSeconds(Func):
    """A moment as seconds since 1970 (a float; NULL stays NULL), so that a hundred thousand
    moments come back as plain numbers instead of being parsed one by one."""

    output_field = FloatField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler, connection, template="((julianday(%(expressions)s) - 2440587.5) * 86400.0)"
        )

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, template="EXTRACT(EPOCH FROM %(expressions)s)")


def load_speed_frame(rows: QuerySet[LeadMilestones]) -> pd.DataFrame:
    """One row per lead: ids (rep = current owner, team, source) and the milestone moments
    (``NaT`` if none), read from ``LeadMilestones`` (kept current by ``insights.milestones``:
    a rep's touch is an activity with a user, so automatic cadence emails are no attempt).

    The moments travel as seconds since 1970 on a raw cursor: a quarter of a million-lead
    history is over a hundred thousand rows, too many to convert value by value.
    """
    sources = ("captured_at", "assigned_at", "first_attempt_at", "first_contact_at", "sql_at")
    epochs = {f"{name}_s": EpochSeconds(name) for name in MILESTONES}
    sql, params = (
        rows.annotate(
            **{key: EpochSeconds(source) for key, source in zip(epochs, sources, strict=True)}
        )
        .values_list("lead_id", "owner_id", "team_id", "source_id", *epochs)
        .query.sql_with_params()
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        values = cursor.fetchall()
    columns = ["lead_id", "rep_id", "team_id", "source_id", *MILESTONES]
    matrix = np.array(values, dtype=float).reshape(len(values), len(columns))
    frame = pd.DataFrame(matrix[:, :4], columns=columns[:4])
    for number, name in enumerate(MILESTONES, start=4):
        frame[name] = pd.to_datetime(np.round(matrix[:, number] * 1000), unit="ms", utc=True)
    return frame


# --- Computing -------------------------------------------------------------------------------


def percentile(values: np.ndarray, q: float) -> float | None:
    """The ``q``-th percentile (linear interpolation, numpy's default); None when empty."""
    values = values[~np.isnan(values)]
    return float(np.percentile(values, q)) if len(values) else None


def add_durations(
    frame: pd.DataFrame,
    calendars: Mapping[int, WorkCalendar],
    default: WorkCalendar | None = None,
) -> pd.DataFrame:
    """The frame plus the durations the report shows.

    ``system_min`` (capture → assigned, wall clock), ``response_min`` (assigned → first
    attempt, working minutes of the rep's calendar), ``contact_h`` (assigned → first real
    contact, working hours), ``qualify_d`` (capture → qualified, days) and ``band``. Reps
    sharing a calendar (same hours, zone, holidays, no absence) are counted in one pass.
    """
    frame = frame.copy()
    default = default or WorkCalendar()
    frame["system_min"] = (frame["assigned_at"] - frame["created_at"]).dt.total_seconds().clip(
        lower=0
    ) / 60
    response = np.full(len(frame), np.nan)
    contact = np.full(len(frame), np.nan)
    reps = frame["rep_id"].to_numpy(dtype=float)
    calendar_of = np.full(len(frame), -1)
    distinct: dict[WorkCalendar, int] = {default: 0}
    for rep_id in pd.unique(reps[~np.isnan(reps)]):
        calendar = calendars.get(int(rep_id), default)
        calendar_of[reps == rep_id] = distinct.setdefault(calendar, len(distinct))
    calendar_of[calendar_of < 0] = 0
    for calendar, number in distinct.items():
        mask = calendar_of == number
        if not mask.any():
            continue
        part = frame.loc[mask]
        response[mask] = calendar.working_seconds_between(part["assigned_at"], part["attempt_at"])
        contact[mask] = calendar.working_seconds_between(part["assigned_at"], part["contact_at"])
    frame["response_min"] = response / 60
    frame["contact_h"] = contact / 3600
    frame["qualify_d"] = (frame["qualified_at"] - frame["created_at"]).dt.total_seconds() / 86400
    band = np.full(len(frame), "", dtype=object)
    assigned = frame["assigned_at"].notna().to_numpy()
    band[assigned] = WAITING[0]
    minutes = response / 60
    lower = -1.0
    for key, _, upper in RESPONSE_BANDS:
        band[assigned & (minutes > lower) & (minutes <= upper)] = key
        lower = upper
    frame["band"] = band
    return frame


BAND_KEYS = (*(key for key, _, _ in RESPONSE_BANDS), WAITING[0])


def _summarise(columns: Mapping[str, np.ndarray], index: np.ndarray) -> dict[str, Any]:
    """The figures of the leads at ``index`` (a rep, a team, everyone)."""

    def pick(name: str) -> np.ndarray:
        return np.asarray(columns[name][index])

    assigned = pick("assigned")
    n_assigned = int(assigned.sum())
    band = pick("band")[assigned]
    system, response = pick("system_min"), pick("response_min")
    contact, qualify = pick("contact_h"), pick("qualify_d")
    row: dict[str, Any] = {
        "n_leads": len(index),
        "n_assigned": n_assigned,
        "system_median_min": _rounded(percentile(system, 50)),
        "system_p90_min": _rounded(percentile(system, 90)),
        "n_attempted": int((~np.isnan(response)).sum()),
        "response_median_min": _rounded(percentile(response, 50)),
        "response_p90_min": _rounded(percentile(response, 90)),
    }
    for key in BAND_KEYS:
        share = float((band == key).sum()) / n_assigned if n_assigned else None
        row[f"share_{key}"] = None if share is None else round(share, 4)
    row["n_contacted"] = int((~np.isnan(contact)).sum())
    row["contact_median_h"] = _rounded(percentile(contact, 50))
    row["n_qualified"] = int((~np.isnan(qualify)).sum())
    row["qualify_median_d"] = _rounded(percentile(qualify, 50))
    return row


def summarise_group(part: pd.DataFrame) -> dict[str, Any]:
    """The figures of one group of leads (a frame ``add_durations`` completed)."""
    return _summarise(_columns(part), np.arange(len(part)))


def _columns(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    return {
        "assigned": frame["assigned_at"].notna().to_numpy(),
        "band": frame["band"].to_numpy(dtype=object),
        **{
            name: frame[name].to_numpy(dtype=float)
            for name in ("system_min", "response_min", "contact_h", "qualify_d")
        },
    }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def summarise_speed(frame: pd.DataFrame, by: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Rows per ``by`` value (``rep_id``/``team_id``/``source_id``; ``None`` for leads without
    one) and the totals row, from a frame that ``add_durations`` completed."""
    column = {"rep": "rep_id", "team": "team_id", "source": "source_id"}[by]
    columns = _columns(frame)
    keys = frame[column].to_numpy(dtype=float)
    missing = np.isnan(keys)
    order = np.argsort(np.where(missing, np.inf, keys), kind="stable")
    values, starts = np.unique(np.where(missing, np.inf, keys)[order], return_index=True)
    bounds = [*starts.tolist(), len(order)]
    rows = []
    for number, value in enumerate(values.tolist()):
        index = order[bounds[number] : bounds[number + 1]]
        key = None if np.isinf(value) else int(value)
        rows.append({"key": key, **_summarise(columns, index)})
    return rows, {"key": None, **_summarise(columns, np.arange(len(frame)))}


# --- The report ------------------------------------------------------------------------------

SPEED_COLUMNS = (
    Column("label", "Rep"),
    Column("n_leads", "Leads", "int"),
    Column("n_assigned", "Assigned", "int"),
    Column("system_median_min", "System delay, median (min)", "number"),
    Column("system_p90_min", "System delay, p90 (min)", "number"),
    Column("n_attempted", "Attempted", "int"),
    Column("response_median_min", "Rep time, median (working min)", "number"),
    Column("response_p90_min", "Rep time, p90 (working min)", "number"),
    *(Column(f"share_{key}", label, "rate") for key, label, _ in RESPONSE_BANDS),
    Column(f"share_{WAITING[0]}", WAITING[1].capitalize(), "rate"),
    Column("n_contacted", "Reached", "int"),
    Column("contact_median_h", "To real contact, median (working h)", "hours"),
    Column("n_qualified", "Qualified (SQL)", "int"),
    Column("qualify_median_d", "Capture → SQL, median", "days"),
)


def _labels(by: str, keys: list[int | None]) -> dict[int | None, str]:
    ids = [k for k in keys if k is not None]
    if by == "rep":
        found = {u.pk: str(u) for u in User.objects.filter(pk__in=ids)}
        none = "(no rep)"
    elif by == "team":
        found = dict(Team.objects.filter(pk__in=ids).values_list("pk", "name"))
        none = "(no team)"
    else:
        from leadsieve.leads.models import Source

        found = dict(Source.objects.filter(pk__in=ids).values_list("pk", "name"))
        none = "(no source)"
    named: dict[int | None, str] = dict(found.items())
    named[None] = none
    return named


def _calendars(frame: pd.DataFrame, *, around: datetime) -> dict[int, WorkCalendar]:
    ids = {int(v) for v in frame["rep_id"].dropna().unique()}
    return get_calendars(ids, around=around)


def speed_table(query: ReportQuery, user: Any) -> tuple[ReportTable, pd.DataFrame]:
    """The speed-to-lead table and the per-lead frame behind it."""
    by = query.by or "rep"
    frame = load_speed_frame(list_speed_milestones(query, user))
    frame = add_durations(frame, _calendars(frame, around=query.start()))
    rows, totals = summarise_speed(frame, by)
    labels = _labels(by, [row["key"] for row in rows])
    for row in rows:
        row["label"] = labels.get(row["key"], str(row["key"]))
    totals["label"] = "All leads"
    columns = (Column("label", by.capitalize()), *SPEED_COLUMNS[1:])
    table = ReportTable(
        key="speed",
        title=f"Speed to lead by {by}",
        columns=columns,
        rows=tuple(rows),
        totals=totals,
        notes=(
            "System delay: capture → assignment, wall-clock minutes. Rep time: assignment → "
            "first call, email, meeting or social touch by a person, in working minutes of the "
            "rep's calendar (as the response deadlines count them); automatic cadence emails "
            "do not count. Shares are of the assigned leads. Median and p90 interpolate.",
            "Real contact: an email reply, a meeting or a connected call.",
        ),
    )
    return table, frame


def _speed_chart(table: ReportTable) -> BarChart:
    series = [(label, key) for key, label, _ in RESPONSE_BANDS] + [(WAITING[1], WAITING[0])]
    css = {"within_5m": "ok", "within_1h": "response", "within_24h": "late", "later": "overdue"}
    return stacked_bars(
        chart_id="speed-bands",
        title="First attempt within the response-time bands",
        description=(
            "Share of each group's assigned leads first attempted within 5 working minutes, "
            "within the hour, within 24 working hours, later, or not yet. The table beside "
            "gives every number."
        ),
        rows=[
            (
                str(row["label"]),
                [100 * (row.get(f"share_{key}") or 0.0) for _, key in series],
            )
            for row in table.rows
        ],
        series=[(label, css.get(key, "pending")) for label, key in series],
        unit=" %",
    )


def build(query: ReportQuery, user: Any) -> Report:
    """Speed to lead by rep, team or source, then the procedure (consistency) table."""
    from leadsieve.insights.procedure import procedure_table

    table, frame = speed_table(query, user)
    procedure = procedure_table(query, user, frame)
    charts: tuple[Any, ...] = (_speed_chart(table),) if table.rows else ()
    return Report(
        name="speed-to-lead",
        title="Speed to lead and procedure",
        query=query,
        tables=(table, procedure),
        charts=charts,
    )
