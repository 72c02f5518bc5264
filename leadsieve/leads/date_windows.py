"""The dates LeadSieve accepts: one window per kind of date (docs/api.md, "Dates").

A date far from now breaks things far from where it was typed: ``0001-01-01T00:00+14:00`` is
an instant in year 0 that PostgreSQL stores and psycopg cannot read back (every page showing
it answered 500); ``9999-12-31T23:59:59-23:00`` overflows Python's datetime once turned to
UTC; an activity in year 9999 pins "last activity" forever. So every entry point (API
schemas, web forms, imports) checks its dates against one of two windows and names the field
when a date falls outside, and the services storing a moment check again.

- **history**, things that happened (an activity's ``occurred_at``, an imported lead's
  ``created_at`` and ``closed_at``): from 1970-01-01T00:00Z up to one day ahead of now (a
  client's clock or zone may be off; the future has not happened yet).
- **calendar**, every other date a person or a client types (list filters, due dates,
  appointments, absences, holidays, backtest periods): from 1970-01-01 to 2099-12-31.

Naive datetimes are read as UTC, like everywhere in the API.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.utils import timezone

EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
# Exclusive: the calendar window ends with 2099-12-31.
CALENDAR_END = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)
HISTORY_AHEAD = dt.timedelta(days=1)
# The window's years as an ISO 8601 prefix, for schemas and patterns (1970-2099).
YEAR_PATTERN = r"(?:19[7-9][0-9]|20[0-9][0-9])"

HISTORY_MESSAGE = "must be between 1970-01-01T00:00:00Z and one day ahead of now"
CALENDAR_MESSAGE = "must be between 1970-01-01 and 2099-12-31"


class DateOutOfWindow(ValueError):
    """A date outside its window; ``field`` names it for the error the caller answers."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field} {message}")
        self.field = field
        self.message = message


def _aware(when: dt.datetime) -> dt.datetime:
    return when if timezone.is_aware(when) else when.replace(tzinfo=dt.UTC)


def is_in_history(when: dt.datetime, *, now: dt.datetime | None = None) -> bool:
    """Whether ``when`` can be the moment something happened (see the module docstring)."""
    now = now or timezone.now()
    # Aware datetimes compare by their difference: no UTC conversion that could overflow.
    return EARLIEST <= _aware(when) <= now + HISTORY_AHEAD


def is_in_calendar(when: dt.datetime | dt.date) -> bool:
    """Whether a date or datetime lies from 1970-01-01 to 2099-12-31."""
    if isinstance(when, dt.datetime):
        return EARLIEST <= _aware(when) < CALENDAR_END
    return EARLIEST.date() <= when < CALENDAR_END.date()


def check_history(field: str, when: dt.datetime, *, now: dt.datetime | None = None) -> None:
    """Raise ``DateOutOfWindow`` naming ``field`` when ``when`` cannot have happened."""
    if not is_in_history(when, now=now):
        raise DateOutOfWindow(field, HISTORY_MESSAGE)


# --- Form validators: the same windows, worded for a person -----------------------------------


def validate_in_calendar(value: dt.datetime | dt.date) -> None:
    """For a form's date or datetime field: 1970-01-01 to 2099-12-31."""
    if not is_in_calendar(value):
        raise ValidationError("choose a date from 1970-01-01 to 2099-12-31", code="date_window")


def validate_in_history(value: dt.datetime) -> None:
    """For a form's moment that already happened: from 1970 up to a day ahead of now."""
    if not is_in_history(value):
        raise ValidationError("choose a moment from 1970 up to now", code="date_window")
