"""Entering spend: one month of one source (or campaign), typed on the page, sent to the API or
imported from a CSV file. Managers enter their team's spend, admins their team's or the whole
company's (no team). Every refusal names its field (and row, for a file); a file with any bad
row saves nothing, so the manager fixes the file and imports it again.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet

from leadsieve.accounts.models import Team, User, is_manager_or_admin
from leadsieve.insights.models import Spend
from leadsieve.leads.models import Campaign, Source

MAX_AMOUNT = Decimal("999999999999.99")
CSV_COLUMNS = ("month", "source", "campaign", "amount", "team", "note")
REQUIRED_COLUMNS = ("month", "source", "amount")
MAX_ROWS = 10_000


class SpendError(ValueError):
    """Refused spend: ``field`` (and ``row``, 1 = the first data row) name the bad value."""

    def __init__(self, field: str, message: str, row: int | None = None) -> None:
        where = f"row {row}, " if row is not None else ""
        super().__init__(f"{where}{field}: {message}")
        self.field = field
        self.message = message
        self.row = row


@dataclass(frozen=True)
class SpendEntry:
    """One validated line of spend, ready to store."""

    month: dt.date
    source: Source
    campaign: Campaign | None
    team: Team | None
    amount: Decimal
    note: str = ""


def parse_month(raw: str, *, field_name: str = "month", row: int | None = None) -> dt.date:
    """``YYYY-MM`` (or any day of the month, ``YYYY-MM-DD``) → the month's first day."""
    text = (raw or "").strip()
    try:
        if len(text) == 7:
            return dt.date.fromisoformat(f"{text}-01")
        return dt.date.fromisoformat(text).replace(day=1)
    except ValueError:
        raise SpendError(field_name, f"{text!r} is not a month; write YYYY-MM", row) from None


def parse_amount(raw: Any, *, row: int | None = None) -> Decimal:
    text = str(raw if raw is not None else "").strip().replace(" ", "").replace(",", "")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise SpendError("amount", f"{raw!r} is not a number", row) from None
    if not amount.is_finite() or amount < 0:
        raise SpendError("amount", "must be zero or more", row)
    if amount > MAX_AMOUNT:
        raise SpendError("amount", f"must be at most {MAX_AMOUNT}", row)
    return amount.quantize(Decimal("0.01"))


def spend_team_for(user: Any, team: Team | None, *, row: int | None = None) -> Team | None:
    """The team a spend line is booked to: a manager's own team, whatever they asked; an
    admin's choice (none = the whole company). Reps enter no spend."""
    if not is_manager_or_admin(user):
        raise SpendError("user", "only managers and admins enter spend", row)
    if user.is_admin_role():
        return team
    if user.team_id is None:
        raise SpendError("team", "you are in no team; ask an admin to enter this spend", row)
    if team is not None and team.pk != user.team_id:
        raise SpendError("team", "managers enter their own team's spend only", row)
    return Team.objects.get(pk=user.team_id)


def check_entry(
    user: Any,
    *,
    month: dt.date,
    source: Source,
    campaign: Campaign | None,
    team: Team | None,
    amount: Decimal,
    note: str = "",
    row: int | None = None,
) -> SpendEntry:
    if campaign is not None and campaign.source_id != source.pk:
        raise SpendError("campaign", f"{campaign.name!r} is not a campaign of {source.name}", row)
    return SpendEntry(
        month=month.replace(day=1),
        source=source,
        campaign=campaign,
        team=spend_team_for(user, team, row=row),
        amount=parse_amount(amount, row=row),
        note=(note or "").strip()[:200],
    )


@transaction.atomic
def enter_spend(entries: Sequence[SpendEntry], *, user: Any) -> list[Spend]:
    """Store each entry; an entry for a (month, source, campaign, team) already entered
    replaces its amount and note."""
    stored = []
    for entry in entries:
        spend, _ = Spend.objects.update_or_create(
            month=entry.month,
            source=entry.source,
            campaign=entry.campaign,
            team=entry.team,
            defaults={
                "amount": entry.amount,
                "note": entry.note,
                "entered_by": user if isinstance(user, User) else None,
            },
        )
        stored.append(spend)
    return stored


@transaction.atomic
def remove_spend(spend: Spend) -> None:
    spend.delete()


def list_spend_for_user(user: Any) -> QuerySet[Spend]:
    """The spend lines ``user`` may read and change: all (admin), their team's (manager)."""
    spend = Spend.objects.select_related("source", "campaign", "team", "entered_by")
    if user is None or user.is_admin_role():
        return spend
    if is_manager_or_admin(user) and user.team_id is not None:
        return spend.filter(team_id=user.team_id)
    return spend.none()


def spend_in_scope(user: Any, team_filter: int | None = None) -> QuerySet[Spend]:
    """The spend the cost report divides: an admin's all (or one team's), a manager's team's."""
    spend = list_spend_for_user(user)
    if team_filter is not None:
        spend = spend.filter(team_id=team_filter)
    return spend


@dataclass
class SpendImport:
    entries: list[SpendEntry] = field(default_factory=list)
    errors: list[SpendError] = field(default_factory=list)


def _by_name(names: Sequence[str], model: Any, key: str = "name") -> dict[str, Any]:
    found = model.objects.filter(**{f"{key}__in": set(names)})
    return {getattr(obj, key).casefold(): obj for obj in found}


def read_spend_csv(text: str, *, user: Any) -> SpendImport:
    """Every row of a spend file (columns: month, source, campaign, amount, team, note;
    source and campaign by name, team by slug), each refusal with its row number."""
    result = SpendImport()
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [name.strip().lower() for name in (reader.fieldnames or [])]
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    unknown = [name for name in header if name not in CSV_COLUMNS]
    if missing or unknown:
        if missing:
            result.errors.append(SpendError("header", f"missing column(s): {', '.join(missing)}"))
        if unknown:
            known = ", ".join(CSV_COLUMNS)
            message = f"unknown column(s): {', '.join(unknown)}; use {known}"
            result.errors.append(SpendError("header", message))
        return result
    reader.fieldnames = header
    rows = list(reader)
    if len(rows) > MAX_ROWS:
        result.errors.append(SpendError("file", f"more than {MAX_ROWS} rows"))
        return result
    sources = _by_name([(r.get("source") or "").strip() for r in rows], Source)
    campaigns: dict[tuple[int, str], Campaign] = {
        (c.source_id, c.name.casefold()): c
        for c in Campaign.objects.filter(source__in=list(sources.values()))
    }
    teams = _by_name([(r.get("team") or "").strip() for r in rows], Team, "slug")
    seen: dict[tuple[Any, ...], int] = {}
    for number, raw in enumerate(rows, start=1):
        try:
            entry = _read_row(raw, number, user, sources, campaigns, teams)
        except SpendError as exc:
            result.errors.append(exc)
            continue
        key = (entry.month, entry.source.pk, entry.campaign and entry.campaign.pk, entry.team)
        if key in seen:
            message = f"the same month, source, campaign and team as row {seen[key]}"
            result.errors.append(SpendError("month", message, number))
            continue
        seen[key] = number
        result.entries.append(entry)
    if not rows:
        result.errors.append(SpendError("file", "no rows under the header"))
    return result


def _read_row(
    raw: dict[str, Any],
    number: int,
    user: Any,
    sources: dict[str, Source],
    campaigns: dict[tuple[int, str], Campaign],
    teams: dict[str, Team],
) -> SpendEntry:
    def cell(name: str) -> str:
        return str(raw.get(name) or "").strip()

    month = parse_month(cell("month"), row=number)
    source = sources.get(cell("source").casefold())
    if source is None:
        raise SpendError("source", f"no source named {cell('source')!r}", number)
    campaign = None
    if cell("campaign"):
        campaign = campaigns.get((source.pk, cell("campaign").casefold()))
        if campaign is None:
            message = f"{source.name} has no campaign named {cell('campaign')!r}"
            raise SpendError("campaign", message, number)
    team = None
    if cell("team"):
        team = teams.get(cell("team").casefold())
        if team is None:
            raise SpendError("team", f"no team with slug {cell('team')!r}", number)
    amount = parse_amount(cell("amount"), row=number)
    return check_entry(
        user,
        month=month,
        source=source,
        campaign=campaign,
        team=team,
        amount=amount,
        note=cell("note"),
        row=number,
    )


def import_spend_csv(text: str, *, user: Any) -> list[Spend]:
    """Store every row of a spend file, or none: ``SpendImportRefused`` lists every bad row."""
    result = read_spend_csv(text, user=user)
    if result.errors:
        raise SpendImportRefused(result.errors)
    return enter_spend(result.entries, user=user)


class SpendImportRefused(ValueError):
    def __init__(self, errors: list[SpendError]) -> None:
        super().__init__("; ".join(str(e) for e in errors[:5]))
        self.errors = errors


def month_overlap(month: dt.date, start: dt.date, end: dt.date) -> Decimal:
    """The share of ``month`` inside ``start``..``end`` (inclusive days): spend of a month
    the period covers in part counts in part."""
    first = month.replace(day=1)
    next_month = (first + dt.timedelta(days=32)).replace(day=1)
    last = next_month - dt.timedelta(days=1)
    days = (min(last, end) - max(first, start)).days + 1
    if days <= 0:
        return Decimal(0)
    return Decimal(days) / Decimal((last - first).days + 1)


def spend_rows_for_period(spend: QuerySet[Spend], start: dt.date, end: dt.date) -> QuerySet[Spend]:
    return spend.filter(Q(month__gte=start.replace(day=1)) & Q(month__lte=end))
