"""Activity aggregates per lead, computed *as of* a cut-off time.

Every event is joined to its lead's row once, its age is measured from that lead's cut-off
(``as_of`` scalar or one time per lead), and events after the cut-off are dropped right there:
no criterion, decay or horizon rule can see the future, whatever it asks (no leakage by
construction, which is what makes backtests on history honest).

All aggregates are ``np.bincount`` over the joined rows: no loop over leads or events.
"""

from __future__ import annotations

from datetime import datetime
from typing import TypeAlias

import numpy as np
import pandas as pd

from leadsieve.engine.exceptions import InvalidInput
from leadsieve.engine.types import ACTIVITY_KINDS, ActivityCondition, InterestRule

ACTIVITY_COLUMNS: tuple[str, ...] = ("lead_id", "kind", "occurred_at")
NS_PER_DAY = 86_400 * 10**9

AsOf: TypeAlias = datetime | pd.Timestamp | str | pd.Series


def _utc_ns(values: pd.Series | pd.DatetimeIndex) -> np.ndarray:
    """Nanoseconds since the epoch in UTC; naive times are taken to be UTC already."""
    index = pd.DatetimeIndex(values)
    if index.tz is None:
        index = index.tz_localize("UTC")
    return np.asarray(index.tz_convert("UTC").as_unit("ns").asi8)


def cutoff_ns(as_of: AsOf, lead_ids: np.ndarray) -> np.ndarray:
    """One cut-off per lead row: a scalar for all, or a Series indexed by lead id."""
    if isinstance(as_of, pd.Series):
        aligned = as_of.reindex(lead_ids)
        if aligned.isna().any():
            raise InvalidInput("as_of has no cut-off time for some lead ids")
        return _utc_ns(aligned)
    try:
        stamp = pd.Timestamp(as_of)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"as_of is not a time: {as_of!r}") from exc
    if pd.isna(stamp):
        raise InvalidInput("as_of is required")
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return np.full(len(lead_ids), stamp.as_unit("ns").value, dtype=np.int64)


KIND_INDEX = pd.Index(ACTIVITY_KINDS)
SMALL_BATCH = 1_000


def _kind_codes(kinds: pd.Series) -> np.ndarray:
    """Position of each event's kind in ``ACTIVITY_KINDS`` (-1 for an unknown kind)."""
    if len(kinds) < SMALL_BATCH:  # one lead's events: skip the Categorical machinery
        return np.asarray(KIND_INDEX.get_indexer(kinds.to_numpy(dtype=object)))
    return np.asarray(pd.Categorical(kinds, categories=ACTIVITY_KINDS).codes)


class ActivityIndex:
    """A lead's past events, aligned to lead rows, ready to count and decay."""

    def __init__(
        self, activities: pd.DataFrame | None, lead_ids: np.ndarray, cutoffs: np.ndarray
    ) -> None:
        self.n_leads = len(lead_ids)
        if activities is None or len(activities) == 0:
            self.frame = pd.DataFrame({"url": [], "subject": []})
            self.keep = np.empty(0, dtype=np.int64)
            self.row = np.empty(0, dtype=np.int64)
            self.kind = np.empty(0, dtype=np.int8)
            self.age_days = np.empty(0)
            return
        missing = [c for c in ACTIVITY_COLUMNS if c not in activities.columns]
        if missing:
            raise InvalidInput(f"activities frame misses columns: {', '.join(missing)}")
        row = pd.Index(lead_ids).get_indexer(activities["lead_id"].to_numpy())
        kind = _kind_codes(activities["kind"])
        age_ns = cutoffs[row] - _utc_ns(activities["occurred_at"])
        keep = (row >= 0) & (age_ns >= 0) & (kind >= 0)
        self.keep = np.flatnonzero(keep)
        self.frame = activities
        self.row = row[keep].astype(np.int64)
        self.kind = kind[keep].astype(np.int8)
        self.age_days = age_ns[keep] / NS_PER_DAY

    def _text_contains(self, column: str, needle: str) -> np.ndarray:
        """Per kept event: does ``column`` contain ``needle`` (case-insensitive)?"""
        if column not in self.frame.columns:
            return np.zeros(len(self.row), dtype=bool)
        codes, uniques = pd.factorize(self.frame[column].to_numpy(dtype=object)[self.keep])
        folded = needle.casefold()
        hit = np.array([folded in str(u).casefold() for u in uniques], dtype=bool)
        return np.asarray(np.append(hit, False)[codes])

    def count(self, condition: ActivityCondition) -> np.ndarray:
        """Events per lead matching the condition (kind, window, url/subject text)."""
        mask = self.kind == ACTIVITY_KINDS.index(condition.kind)
        if condition.within_days is not None:
            mask &= self.age_days <= condition.within_days
        if condition.url_contains:
            mask &= self._text_contains("url", condition.url_contains)
        if condition.subject_contains:
            mask &= self._text_contains("subject", condition.subject_contains)
        return np.bincount(self.row[mask], minlength=self.n_leads)

    def recent_count(self, kinds: tuple[str, ...], days: float) -> np.ndarray:
        """Events of any of ``kinds`` in the last ``days`` days, per lead."""
        codes = [ACTIVITY_KINDS.index(k) for k in kinds if k in ACTIVITY_KINDS]
        mask = np.isin(self.kind, codes) & (self.age_days <= days)
        return np.bincount(self.row[mask], minlength=self.n_leads)

    def decayed(self, rule: InterestRule) -> tuple[np.ndarray, np.ndarray]:
        """Per lead: decayed points of one kind (before its cap) and the number of events."""
        mask = self.kind == ACTIVITY_KINDS.index(rule.kind)
        weights = rule.points * np.exp2(-self.age_days[mask] / rule.half_life_days)
        rows = self.row[mask]
        return (
            np.bincount(rows, weights=weights, minlength=self.n_leads),
            np.bincount(rows, minlength=self.n_leads),
        )
