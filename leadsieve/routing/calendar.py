"""Working time: when a rep can take a lead and how deadlines count.

A deadline of "2 working hours" set on Friday at 17:30 falls on Monday morning: the
clock runs only inside the working window of working days that are not holidays.
Every computation happens on local wall-clock times in the calendar's zone, then the
result is converted back to an aware datetime, so daylight-saving jumps do not shift it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

DEFAULT_WORK_DAYS = (0, 1, 2, 3, 4)
DEFAULT_START = time(9, 0)
DEFAULT_END = time(17, 0)
# A calendar with no working day would loop forever; a deadline this far out means "never".
MAX_DAYS_SEARCHED = 800
# numpy's business-day functions count from this day (any fixed day before all data works).
_DAY_ZERO = np.datetime64("1970-01-01", "D")


def zone(name: str | None) -> ZoneInfo:
    """The zone called ``name``, or UTC when blank or unknown (a typo must not stop routing)."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


@dataclass(frozen=True)
class WorkCalendar:
    """Working days (0 = Monday), a daily window, holidays and absences, in one zone."""

    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    work_days: frozenset[int] = frozenset(DEFAULT_WORK_DAYS)
    start: time = DEFAULT_START
    end: time = DEFAULT_END
    holidays: frozenset[date] = frozenset()
    absences: tuple[tuple[date, date], ...] = ()

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.tz)

    def local_date(self, moment: datetime) -> date:
        return moment.astimezone(self.tz).date()

    def is_absent_on(self, day: date) -> bool:
        return any(first <= day <= last for first, last in self.absences)

    def is_working_day(self, day: date) -> bool:
        return (
            day.weekday() in self.work_days
            and day not in self.holidays
            and not self.is_absent_on(day)
        )

    def is_working_at(self, moment: datetime) -> bool:
        here = self.local(moment)
        return self.is_working_day(here.date()) and self.start <= here.time() < self.end

    def start_of_day(self, moment: datetime) -> datetime:
        """Local midnight of ``moment``'s day, as an aware datetime (daily capacity counts)."""
        day = self.local_date(moment)
        return datetime.combine(day, time(0, 0), tzinfo=self.tz)

    def add_working_hours(self, start: datetime, hours: float) -> datetime:
        """The moment ``hours`` of working time after ``start``."""
        remaining = timedelta(hours=hours)
        cursor = self.local(start).replace(tzinfo=None)
        for _ in range(MAX_DAYS_SEARCHED):
            day = cursor.date()
            if self.is_working_day(day):
                opens = datetime.combine(day, self.start)
                closes = datetime.combine(day, self.end)
                begin = max(cursor, opens)
                if begin < closes:
                    available = closes - begin
                    if remaining <= available:
                        return (begin + remaining).replace(tzinfo=self.tz)
                    remaining -= available
            cursor = datetime.combine(day + timedelta(days=1), time(0, 0))
        return start + timedelta(days=MAX_DAYS_SEARCHED)

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """The same local time ``days`` working days later (0: the next working moment)."""
        here = self.local(start).replace(tzinfo=None)
        day = here.date()
        clock = min(max(here.time(), self.start), self.end)
        if days <= 0:
            return self.next_working_moment(start)
        counted = 0
        for _ in range(MAX_DAYS_SEARCHED):
            day += timedelta(days=1)
            if self.is_working_day(day):
                counted += 1
                if counted == days:
                    return datetime.combine(day, clock).replace(tzinfo=self.tz)
        return start + timedelta(days=MAX_DAYS_SEARCHED)

    def next_working_moment(self, start: datetime) -> datetime:
        """``start`` if it is working time, else the next opening."""
        return self.add_working_hours(start, 0)

    def _day_off_dates(self) -> np.ndarray:
        """Holidays and absence days as ``datetime64[D]`` (numpy's business-day holidays)."""
        days = set(self.holidays)
        for first, last in self.absences:
            days.update(first + timedelta(days=n) for n in range((last - first).days + 1))
        return np.array(sorted(days), dtype="datetime64[D]")

    def working_seconds_since_zero(self, moments: pd.Series | pd.DatetimeIndex) -> np.ndarray:
        """Working seconds from a fixed origin to each aware moment (``NaN`` for missing ones).

        The difference of two such figures is the working time between them, counted as
        ``add_working_hours`` counts it: local wall-clock time inside the daily window of
        working days, holidays and absences skipped. Vectorised: one pass for any number.
        """
        local = pd.DatetimeIndex(moments).tz_convert(self.tz).tz_localize(None)
        missing = local.isna()
        filled = local.where(~missing, pd.Timestamp("1970-01-01"))
        days = filled.to_numpy().astype("datetime64[D]")
        mask = [day in self.work_days for day in range(7)]
        if not any(mask):
            return np.full(len(local), np.nan)
        holidays = self._day_off_dates()
        whole_days = np.busday_count(_DAY_ZERO, days, weekmask=mask, holidays=holidays)
        is_working = np.is_busday(days, weekmask=mask, holidays=holidays)
        opens = self.start.hour * 3600 + self.start.minute * 60 + self.start.second
        closes = self.end.hour * 3600 + self.end.minute * 60 + self.end.second
        length = max(closes - opens, 0)
        clock = (filled.to_numpy() - days.astype("datetime64[ns]")) / np.timedelta64(1, "s")
        inside = np.clip(clock - opens, 0, length) * is_working
        seconds = whole_days.astype(float) * length + inside
        seconds[np.asarray(missing)] = np.nan
        return np.asarray(seconds, dtype=float)

    def working_seconds_between(
        self, starts: pd.Series | pd.DatetimeIndex, ends: pd.Series | pd.DatetimeIndex
    ) -> np.ndarray:
        """Working seconds from each start to its end (0 when the end is earlier, ``NaN`` when
        either is missing): the inverse of ``add_working_hours``, for whole columns."""
        elapsed = self.working_seconds_since_zero(ends) - self.working_seconds_since_zero(starts)
        return np.where(np.isnan(elapsed), np.nan, np.maximum(elapsed, 0.0))
