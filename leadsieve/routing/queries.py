"""Reads for routing: calendars, the unassigned queue, a lead's assignment history."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import connection
from django.db.models import QuerySet
from django.http import Http404

from leadsieve.accounts.models import Team, User
from leadsieve.routing.calendar import DEFAULT_END, DEFAULT_START, WorkCalendar, zone
from leadsieve.routing.kept import kept_while_unchanged
from leadsieve.routing.models import (
    Absence,
    Assignment,
    AssignmentRule,
    Holiday,
    LeadDeadline,
    QueuedLead,
    RepProfile,
)

# Absences and holidays are loaded this far around "now": deadlines rarely reach further.
CALENDAR_HORIZON_DAYS = 400


def get_calendars(user_ids: set[int] | list[int], *, around: datetime) -> dict[int, WorkCalendar]:
    """One working calendar per user: profile hours, zone, team holidays and absences.

    Users without a routing profile get Monday–Friday 09:00–17:00 in their (team's) zone.
    """
    ids = set(user_ids)
    if not ids:
        return {}
    hours = {
        user_id: (work_days, start, end)
        for user_id, work_days, start, end in RepProfile.objects.filter(
            user_id__in=ids
        ).values_list("user_id", "work_days", "work_start", "work_end")
    }
    users = User.objects.filter(id__in=ids).values_list(
        "id", "team_id", "timezone", "team__timezone"
    )
    return build_calendars(
        [
            (user_id, team_id, tz, team_tz, hours.get(user_id))
            for user_id, team_id, tz, team_tz in users
        ],
        around=around,
    )


CalendarRow = tuple[int, int | None, str, str | None, tuple[list[int], time, time] | None]


def _calendar_window(around: datetime) -> tuple[date, date]:
    """The days whose holidays and absences a calendar built ``around`` a moment holds."""
    return (
        around.date() - timedelta(days=31),
        around.date() + timedelta(days=CALENDAR_HORIZON_DAYS),
    )


def build_calendars(rows: list[CalendarRow], *, around: datetime) -> dict[int, WorkCalendar]:
    """``get_calendars`` from users already read: ``(user id, team id, user's zone, team's
    zone or None, (work days, start, end) of the routing profile or None)`` each. Routing
    reads these columns with the profiles it locks, and so skips two queries per lead."""
    if not rows:
        return {}
    ids = {row[0] for row in rows}
    first, last = _calendar_window(around)
    holidays: dict[int | None, set[date]] = defaultdict(set)
    for team_id, day in Holiday.objects.filter(day__range=(first, last)).values_list(
        "team_id", "day"
    ):
        holidays[team_id].add(day)
    absences: dict[int, list[tuple[date, date]]] = defaultdict(list)
    for user_id, starts_on, ends_on in Absence.objects.filter(
        user_id__in=ids, ends_on__gte=first, starts_on__lte=last
    ).values_list("user_id", "starts_on", "ends_on"):
        absences[user_id].append((starts_on, ends_on))
    calendars = {}
    for user_id, user_team_id, user_zone, team_zone, profile in rows:
        calendars[user_id] = WorkCalendar(
            tz=zone(user_zone or team_zone),
            work_days=frozenset(profile[0]) if profile else frozenset(range(5)),
            start=profile[1] if profile else DEFAULT_START,
            end=profile[2] if profile else DEFAULT_END,
            holidays=frozenset(holidays[None] | holidays[user_team_id]),
            absences=tuple(absences[user_id]),
        )
    return calendars


def get_kept_calendars(rows: list[CalendarRow], *, around: datetime) -> dict[int, WorkCalendar]:
    """``build_calendars(rows, around=around)``, kept by the process while the holidays and
    absences it reads (and ``rows`` and the day) are unchanged: one plain statement instead
    of two ORM queries for every arriving lead (``routing.arrival``)."""
    if not rows:
        return {}
    first, last = _calendar_window(around)
    ids = sorted({row[0] for row in rows})
    day = connection.ops.adapt_datefield_value
    holiday, absence = Holiday._meta.db_table, Absence._meta.db_table
    sql = (
        f'SELECT 0, team_id, day, day FROM "{holiday}" WHERE day BETWEEN %s AND %s '
        f'UNION ALL SELECT 1, user_id, starts_on, ends_on FROM "{absence}" '
        f"WHERE user_id IN ({', '.join(['%s'] * len(ids))}) AND ends_on >= %s AND starts_on <= %s "
        "ORDER BY 1, 2, 3, 4"
    )
    calendars = kept_while_unchanged(
        f"calendars:{ids}",
        sql,
        [day(first), day(last), *ids, day(first), day(last)],
        lambda: build_calendars(rows, around=around),
        key=(first, last, rows),
    )
    return dict(calendars)


def list_assignments_for_lead(lead: Any) -> QuerySet[Assignment]:
    """A lead's whole assignment history, newest first (reassignments keep the old rows)."""
    return Assignment.objects.filter(lead=lead).select_related("rep", "previous_rep", "team")


def get_queue_entry_for_lead(lead: Any) -> QueuedLead | None:
    """Why an unowned lead waits: the routing queue's row (reason, when last tried)."""
    return QueuedLead.objects.filter(lead=lead).first()


def get_deadline_for_lead(lead: Any) -> LeadDeadline | None:
    return LeadDeadline.objects.filter(lead=lead).first()


OPERATOR_LABELS = {
    "eq": "is",
    "ne": "is not",
    "in": "is one of",
    "not_in": "is none of",
    "gt": "greater than",
    "gte": "at least",
    "lt": "less than",
    "lte": "at most",
    "contains": "contains",
    "startswith": "starts with",
    "is_empty": "is empty",
    "not_empty": "is not empty",
}


def describe_conditions(conditions: list[dict[str, Any]]) -> str:
    """``country is one of FR, BE and rating at least 60`` (``every lead`` for none)."""
    parts = []
    for condition in conditions:
        op = str(condition.get("op", ""))
        value = condition.get("value")
        shown = ", ".join(map(str, value)) if isinstance(value, list) else value
        words = f"{condition.get('field')} {OPERATOR_LABELS.get(op, op)}"
        parts.append(words if shown is None else f"{words} {shown}")
    return " and ".join(parts) or "every lead"


def get_rule(team: Team, rule_id: int) -> AssignmentRule:
    rule = AssignmentRule.objects.filter(team=team, pk=rule_id).first()
    if rule is None:
        raise Http404("No such rule")
    return rule
