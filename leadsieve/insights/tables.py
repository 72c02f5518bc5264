"""What every report returns and what every report is asked: ``Report``/``ReportTable`` and
``ReportQuery``, plus the role scope all reports share.

A report is a function ``build(query, user) -> Report`` (see ``registry.py``). Its figures are
plain rows of plain values in ``ReportTable``s; the page, the API (``to_dict``), the CLI
(``to_json``/``to_csv``) and the CSV export all print the same table, so they cannot disagree.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Q
from django.utils import timezone

# Column kinds: how the page formats a value (the data stays raw in JSON and CSV).
KINDS = frozenset({"text", "int", "rate", "money", "hours", "days", "number", "date", "link"})
COHORTS = ("", "week", "month")
DEFAULT_PERIOD_DAYS = 90
# Groups a table shows by default (the largest; the rest summed in one "others" row), and
# the parameter's word for all of them.
DEFAULT_GROUPS = 25
ALL_GROUPS = "all"
# A period longer than this is refused: a typo (2205 for 2025) should not scan everything.
MAX_PERIOD_DAYS = 3 * 366
# Spreadsheets run a cell starting with one of these as a formula (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class ReportQueryError(ValueError):
    """A report was asked something it cannot answer; ``field`` names the parameter."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "text"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"column {self.key}: unknown kind {self.kind!r}")


@dataclass(frozen=True)
class ReportTable:
    """One table of figures: ``rows`` are dicts keyed by the columns' keys.

    ``totals`` is one more row (the whole scope), or None. ``notes`` are sentences the page
    shows under the table (e.g. "A and B differ within noise"); ``warnings`` above it.
    ``links`` maps a row index to the URL of its leads (a drill into the lead list).
    """

    key: str
    title: str
    columns: tuple[Column, ...]
    rows: tuple[dict[str, Any], ...]
    totals: dict[str, Any] | None = None
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    links: tuple[str, ...] = ()

    def column_keys(self) -> list[str]:
        return [column.key for column in self.columns]

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "title": self.title,
            "columns": [{"key": c.key, "label": c.label, "kind": c.kind} for c in self.columns],
            "rows": [_plain_row(row, self.columns) for row in self.rows],
            "totals": _plain_row(self.totals, self.columns) if self.totals is not None else None,
            "notes": list(self.notes),
            "warnings": list(self.warnings),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)

    def to_csv(self) -> str:
        """The table with a header of labels; totals last (first cell ``Total``)."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([column.label for column in self.columns])
        rows = list(self.rows) + ([self.totals] if self.totals is not None else [])
        for row in rows:
            writer.writerow([_csv_cell(row.get(c.key)) for c in self.columns])
        return out.getvalue()


@dataclass(frozen=True)
class Report:
    """What a report builder returns: its tables (the first is the main one), charts laid out
    by ``charts.py`` for the page, and the query it answered."""

    name: str
    title: str
    query: ReportQuery
    tables: tuple[ReportTable, ...]
    charts: tuple[Any, ...] = ()  # Any: a charts.* layout the template draws
    notes: tuple[str, ...] = ()

    def table(self, key: str | None = None) -> ReportTable:
        """The table ``key`` (default: the first); ``ReportQueryError`` when there is none."""
        if key in (None, ""):
            return self.tables[0]
        for table in self.tables:
            if table.key == key:
                return table
        names = ", ".join(t.key for t in self.tables)
        raise ReportQueryError("table", f"no table {key!r}; use one of: {names}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "report": self.name,
            "title": self.title,
            "query": self.query.to_dict(),
            "notes": list(self.notes),
            "tables": [table.to_dict() for table in self.tables],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def _plain_row(row: Mapping[str, Any], columns: Sequence[Column]) -> dict[str, Any]:
    return {c.key: _plain(row.get(c.key)) for c in columns}


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    text = f"{value:.6g}" if isinstance(value, float) else str(_plain(value))
    if text.startswith(FORMULA_PREFIXES) and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


# --- The question ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportQuery:
    """A period (capture dates ``date_from`` ≤ d ≤ ``date_to``), a grouping (``by``), filters
    ``{dimension: value}``, an optional cohort (``week`` or ``month`` of capture) and how many
    groups to show apart (``groups``, the largest; 0 = all)."""

    date_from: dt.date
    date_to: dt.date
    by: str = ""
    filters: tuple[tuple[str, str], ...] = ()
    cohort: str = ""
    strict: bool = False
    groups: int = DEFAULT_GROUPS

    @property
    def filter_map(self) -> dict[str, str]:
        return dict(self.filters)

    def start(self) -> dt.datetime:
        """The first moment of the period in the current time zone."""
        return timezone.make_aware(dt.datetime.combine(self.date_from, dt.time.min))

    def end(self) -> dt.datetime:
        """The moment after the period (exclusive)."""
        day_after = self.date_to + dt.timedelta(days=1)
        return timezone.make_aware(dt.datetime.combine(day_after, dt.time.min))

    def to_dict(self) -> dict[str, Any]:
        return {
            "from": self.date_from.isoformat(),
            "to": self.date_to.isoformat(),
            "by": self.by,
            "filters": dict(self.filters),
            "cohort": self.cohort,
            "strict": self.strict,
            "groups": self.groups or ALL_GROUPS,
        }

    def to_params(self) -> dict[str, str]:
        """The query as URL parameters (``parse_report_query`` reads them back)."""
        params = {"from": self.date_from.isoformat(), "to": self.date_to.isoformat()}
        if self.by:
            params["by"] = self.by
        if self.cohort:
            params["cohort"] = self.cohort
        if self.strict:
            params["strict"] = "1"
        if self.groups != DEFAULT_GROUPS:
            params["groups"] = str(self.groups or ALL_GROUPS)
        params.update(dict(self.filters))
        return params


RESERVED_PARAMS = frozenset({"from", "to", "by", "cohort", "strict", "groups", "table", "format"})


def _date(params: Mapping[str, str], name: str, default: dt.date) -> dt.date:
    raw = (params.get(name) or "").strip()
    if not raw:
        return default
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise ReportQueryError(name, f"{raw!r} is not a date; write YYYY-MM-DD") from None


def parse_report_query(
    params: Mapping[str, str],
    *,
    dimensions: Sequence[str],
    default_by: str = "",
    today: dt.date | None = None,
) -> ReportQuery:
    """Read ``from``, ``to``, ``by``, ``cohort``, ``strict``, ``groups`` and one filter per
    dimension name (``source=3``) from request or CLI parameters; anything else is a
    ``ReportQueryError`` naming the parameter. Default period: the last
    ``DEFAULT_PERIOD_DAYS`` days."""
    today = today or timezone.localdate()
    date_to = _date(params, "to", today)
    date_from = _date(params, "from", date_to - dt.timedelta(days=DEFAULT_PERIOD_DAYS - 1))
    if date_from > date_to:
        raise ReportQueryError("from", "the period starts after it ends")
    if (date_to - date_from).days >= MAX_PERIOD_DAYS:
        raise ReportQueryError("from", f"the period is longer than {MAX_PERIOD_DAYS} days")
    by = (params.get("by") or default_by).strip()
    if by and by not in dimensions:
        raise ReportQueryError(
            "by", f"{by!r} is not a grouping; use one of: {', '.join(dimensions)}"
        )
    cohort = (params.get("cohort") or "").strip()
    if cohort not in COHORTS:
        raise ReportQueryError("cohort", "use week or month (or nothing)")
    strict = (params.get("strict") or "").strip().lower() in {"1", "true", "yes", "on"}
    groups = _groups(params)
    filters = []
    for name, value in params.items():
        if name in RESERVED_PARAMS or name.startswith("csrf"):
            continue
        if name not in dimensions:
            known = ", ".join([*sorted(RESERVED_PARAMS), *dimensions])
            raise ReportQueryError(name, f"unknown parameter; use one of: {known}")
        value = str(value).strip()
        if value:
            filters.append((name, value))
    return ReportQuery(
        date_from=date_from,
        date_to=date_to,
        by=by,
        filters=tuple(sorted(filters)),
        cohort=cohort,
        strict=strict,
        groups=groups,
    )


def _groups(params: Mapping[str, str]) -> int:
    raw = (params.get("groups") or "").strip().lower()
    if not raw:
        return DEFAULT_GROUPS
    if raw == ALL_GROUPS:
        return 0
    if not raw.isdigit() or int(raw) < 1:
        raise ReportQueryError("groups", f"{raw!r}: write a number of groups, or {ALL_GROUPS}")
    return int(raw)


# --- Who sees what -----------------------------------------------------------------------------


def report_scope(user: Any, *, owner: str = "owner_id", team: str = "team_id") -> Q:
    """``leads.queries.scope_leads_for_user``'s rule on any table with an owner and a team
    column: admins all; managers their team (their own leads without a team); reps their own
    leads plus their team's unassigned ones; anyone else nothing. ``None`` (the command line,
    run by whoever runs the server) sees everything."""
    if user is None:
        return Q()
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Q(pk__in=[])
    if user.is_admin_role():
        return Q()
    own = Q(**{owner: user.pk})
    if user.team_id is None:
        return own
    same_team = Q(**{team: user.team_id})
    if user.is_manager_role():
        return same_team
    return own | (same_team & Q(**{f"{owner}__isnull": True}))
