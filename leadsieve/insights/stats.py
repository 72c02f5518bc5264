"""Small statistics the reports share: Wilson intervals, whether two rates differ beyond
noise, and percentiles of durations."""

from __future__ import annotations

import bisect
import functools
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import norm

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Rate:
    """``k`` of ``n``, with its Wilson interval (``None`` everywhere when ``n`` is 0)."""

    k: int
    n: int
    value: float | None
    low: float | None
    high: float | None


@functools.cache
def z_value(confidence: float) -> float:
    """The two-sided normal quantile of ``confidence`` (1.96 for 95 %)."""
    return float(norm.ppf(1 - (1 - confidence) / 2))


def wilson(k: int, n: int, *, confidence: float = CONFIDENCE) -> Rate:
    """The Wilson score interval of ``k`` successes in ``n`` trials (statsmodels'
    ``proportion_confint(k, n, method="wilson")``)."""
    if n <= 0:
        return Rate(k, n, None, None, None)
    z = z_value(confidence)
    p = k / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    # At k = 0 (or k = n) the bound is exactly 0 (or 1); computed, it can come out as 1e-17,
    # and a cost per won deal divided by it as 10^19 (seen on the demo's cost page).
    low = 0.0 if k <= 0 else max(0.0, centre - half)
    high = 1.0 if k >= n else min(1.0, centre + half)
    return Rate(k, n, p, low, high)


def overlap(a: Rate, b: Rate) -> bool:
    """Whether the two intervals overlap: the difference may be noise."""
    if a.low is None or b.low is None or a.high is None or b.high is None:
        return True
    return a.low <= b.high and b.low <= a.high


def percentile(values: Sequence[float] | np.ndarray, q: float) -> float | None:
    """The ``q``-th percentile (linear interpolation, numpy's default); None if empty."""
    if len(values) == 0:
        return None
    return float(np.percentile(np.asarray(values, dtype=float), q))


def histogram_percentile(histogram: Counter[int], q: float) -> float | None:
    """``percentile`` of the values a histogram {value: count} stands for, without expanding
    it (numpy's linear interpolation between the two closest ranks)."""
    n = sum(histogram.values())
    if n == 0:
        return None
    values = sorted(histogram)
    ends = []  # the rank after the last copy of each value
    running = 0
    for value in values:
        running += histogram[value]
        ends.append(running)
    rank = q / 100 * (n - 1)
    low = math.floor(rank)

    def at(index: int) -> float:
        return float(values[bisect.bisect_right(ends, index)])

    low_value = at(low)
    if rank == low:
        return low_value
    return low_value + (at(min(low + 1, n - 1)) - low_value) * (rank - low)
