"""Activity aggregates per lead, computed *as of* a cut-off time.

Every event is joined to its lead's row once, its age is measured from that lead's cut-off
(``as_of`` scalar or one time per lead), and events after the cut-off are dropped right there:
no criterion, decay or horizon rule can see the future, whatever it asks (no leakage by
construction, which is what makes backtests on history honest).

All aggregates are ``np.bincount`` over the joined rows: no loop over leads or events.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypeAlias

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from leadsieve.engine.criteria import as_list, small_factorize
from leadsieve.engine.exceptions import InvalidInput
from leadsieve.engine.types import ACTIVITY_KINDS, ActivityCondition, InterestRule

ACTIVITY_COLUMNS: tuple[str, ...] = ("lead_id", "kind", "occurred_at")
NS_PER_DAY = 86_400 * 10**9

AsOf: TypeAlias = datetime | pd.Timestamp | str | pd.Series
# Activities as a DataFrame, or a mapping of column name to array (``occurred_at`` may then be
# a ``datetime64`` array in UTC): one lead's few events skip pandas altogether.
Activities: TypeAlias = pd.DataFrame | Mapping[str, Any]  # Any: numpy arrays or Series


def _utc_ns(values: pd.Series | pd.DatetimeIndex | np.ndarray) -> np.ndarray:
    """Nanoseconds since the epoch in UTC; naive times are taken to be UTC already."""
    if isinstance(values, np.ndarray) and values.dtype.kind == "M":
        return np.asarray(values.astype("datetime64[ns]").view(np.int64))
    array = getattr(values, "array", None)
    if isinstance(array, pd.arrays.DatetimeArray):  # a datetime Series: UTC (or naive) already
        return np.asarray(array.as_unit("ns").asi8)
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
KIND_POSITIONS: dict[object, int] = {kind: i for i, kind in enumerate(ACTIVITY_KINDS)}
KIND_VALUES = pa.array(ACTIVITY_KINDS, type=pa.string())
SMALL_BATCH = 1_000


def _kind_codes(kinds: pd.Series | np.ndarray) -> np.ndarray:
    """Position of each event's kind in ``ACTIVITY_KINDS`` (-1 for an unknown kind)."""
    if len(kinds) < SMALL_BATCH:  # one lead's events: a dict lookup each
        return np.fromiter(
            (KIND_POSITIONS.get(k, -1) for k in as_list(kinds)), dtype=np.int64, count=len(kinds)
        )
    arrow = getattr(getattr(kinds, "array", None), "_pa_array", None)
    if arrow is not None:  # Arrow-backed strings: one hash lookup each, no factorisation
        found = pc.index_in(arrow, value_set=KIND_VALUES)
        return np.asarray(pc.fill_null(found, -1).to_numpy(zero_copy_only=False), dtype=np.int64)
    codes, uniques = pd.factorize(kinds, use_na_sentinel=True)
    positions = KIND_INDEX.get_indexer(np.asarray(uniques, dtype=object))
    return np.asarray(np.append(positions, -1)[codes])


def _rows_of(lead_ids: np.ndarray, event_lead_ids: np.ndarray) -> np.ndarray:
    """Row of each event's lead, -1 when the lead is not in the batch (``lead_ids`` is never
    empty: ``ActivityIndex`` skips events when there are no leads).

    Dense integer ids use a direct lookup table, sparse ones a sorted search; anything else
    falls back to a pandas index lookup.
    """
    ids = np.asarray(lead_ids)
    events = np.asarray(event_lead_ids)
    if ids.dtype.kind not in "iu" or events.dtype.kind not in "iu":
        return np.asarray(pd.Index(ids).get_indexer(events))
    low, high = int(ids.min()), int(ids.max())
    if high - low <= 4 * len(ids) + 1_000:  # dense ids: a direct lookup table is cheapest
        table = np.full(high - low + 1, -1, dtype=np.int64)
        table[ids - low] = np.arange(len(ids))
        inside = (events >= low) & (events <= high)
        return np.where(inside, table[np.clip(events - low, 0, high - low)], -1)
    order = np.argsort(ids, kind="stable")
    sorted_ids = ids[order]
    pos = np.minimum(np.searchsorted(sorted_ids, events), len(ids) - 1)
    return np.where(sorted_ids[pos] == events, order[pos], -1)


class ActivityIndex:
    """A lead's past events, aligned to lead rows, ready to count and decay."""

    def __init__(
        self, activities: Activities | None, lead_ids: np.ndarray, cutoffs: np.ndarray
    ) -> None:
        self.n_leads = len(lead_ids)
        self._texts: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        if activities is None:
            empty = True
        elif isinstance(activities, pd.DataFrame):
            empty = len(activities.columns) == 0 or len(activities) == 0
        else:
            empty = not activities or len(next(iter(activities.values()))) == 0
        missing = [c for c in ACTIVITY_COLUMNS if activities is not None and c not in activities]
        if not empty and missing:
            raise InvalidInput(f"activities frame misses columns: {', '.join(missing)}")
        if empty or not self.n_leads:
            self.frame: Activities = {}
            self.keep = np.empty(0, dtype=np.int64)
            self.row = np.empty(0, dtype=np.int64)
            self.kind = np.empty(0, dtype=np.int8)
            self.age_days = np.empty(0)
            self._bounds = np.zeros(len(ACTIVITY_KINDS) + 1, dtype=np.int64)
            return
        assert activities is not None
        row = _rows_of(lead_ids, np.asarray(activities["lead_id"]))
        kind = _kind_codes(activities["kind"])
        age_ns = cutoffs[row] - _utc_ns(activities["occurred_at"])
        kept = np.flatnonzero((row >= 0) & (age_ns >= 0) & (kind >= 0))
        # Kept events grouped by kind (a stable sort keeps each lead's events in input order),
        # so every per-kind rule reads one contiguous slice instead of masking all events.
        by_kind = np.argsort(kind[kept].astype(np.int8), kind="stable")
        self.keep = kept[by_kind]
        self.frame = activities
        self.row = row[self.keep].astype(np.int64)
        self.kind = kind[self.keep].astype(np.int8)
        self.age_days = age_ns[self.keep] / NS_PER_DAY
        self._bounds = np.searchsorted(self.kind, np.arange(len(ACTIVITY_KINDS) + 1))

    def _slice(self, kind: str) -> slice:
        """The kept events of one kind."""
        position = ACTIVITY_KINDS.index(kind)
        return slice(int(self._bounds[position]), int(self._bounds[position + 1]))

    def _text_contains(self, column: str, needle: str, events: slice) -> np.ndarray:
        """Per kept event in ``events``: does ``column`` contain ``needle`` (any case)?"""
        frame = self.frame
        if column not in frame:
            return np.zeros(len(self.row[events]), dtype=bool)
        key = f"{column}:{events.start}:{events.stop}"
        if key not in self._texts:
            # Only this kind's events are read (a page-visit rule never looks at emails).
            rows = self.keep[events]
            series = frame[column]
            if len(series) < SMALL_BATCH:  # one lead's events: a dict beats pandas' set-up
                listed = as_list(series)
                codes, uniques = small_factorize([listed[i] for i in rows.tolist()])
            elif isinstance(series, pd.Series):  # Arrow's dictionary encoding on big slices
                codes, uniques = pd.factorize(series.take(rows), use_na_sentinel=True)
            else:
                values = np.asarray(series, dtype=object)[rows]
                codes, uniques = pd.factorize(values, use_na_sentinel=True)
            texts = np.array([str(u).casefold() for u in uniques], dtype=object)
            self._texts[key] = (np.asarray(codes), texts)
        codes, texts = self._texts[key]
        folded = needle.casefold()
        hit = np.array([folded in t for t in texts], dtype=bool)
        return np.asarray(np.append(hit, False)[codes])

    def count(self, condition: ActivityCondition) -> np.ndarray:
        """Events per lead matching the condition (kind, window, url/subject text)."""
        events = self._slice(condition.kind)
        if events.start == events.stop:  # no event of this kind (most kinds, for one lead)
            return np.zeros(self.n_leads, dtype=np.int64)
        mask = np.ones(events.stop - events.start, dtype=bool)
        if condition.within_days is not None:
            mask &= self.age_days[events] <= condition.within_days
        if condition.url_contains:
            mask &= self._text_contains("url", condition.url_contains, events)
        if condition.subject_contains:
            mask &= self._text_contains("subject", condition.subject_contains, events)
        return np.bincount(self.row[events][mask], minlength=self.n_leads)

    def recent_count(self, kinds: tuple[str, ...], days: float) -> np.ndarray:
        """Events of any of ``kinds`` in the last ``days`` days, per lead."""
        wanted = np.zeros(len(ACTIVITY_KINDS), dtype=bool)
        wanted[[KIND_POSITIONS[k] for k in kinds if k in KIND_POSITIONS]] = True
        mask = wanted[self.kind] & (self.age_days <= days)
        return np.bincount(self.row[mask], minlength=self.n_leads)

    def decayed(self, rule: InterestRule) -> tuple[np.ndarray, np.ndarray]:
        """Per lead: decayed points of one kind (before its cap) and the number of events."""
        events = self._slice(rule.kind)
        if events.start == events.stop:  # no event of this kind (most kinds, for one lead)
            return np.zeros(self.n_leads), np.zeros(self.n_leads, dtype=np.int64)
        weights = rule.points * np.exp2(-self.age_days[events] / rule.half_life_days)
        rows = self.row[events]
        return (
            np.bincount(rows, weights=weights, minlength=self.n_leads),
            np.bincount(rows, minlength=self.n_leads),
        )
