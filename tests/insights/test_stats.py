"""The statistics helpers against numpy and the textbook Wilson formula."""

from __future__ import annotations

import random
from collections import Counter

import numpy as np
import pytest

from leadsieve.insights.stats import histogram_percentile, overlap, wilson
from tests.insights.test_funnel import wilson as textbook_wilson


@pytest.mark.parametrize("seed", range(5))
def test_a_histogram_percentile_equals_numpy_on_the_expanded_values(seed: int) -> None:
    rng = random.Random(seed)
    values = [rng.randint(0, 40) for _ in range(rng.randint(1, 60))]
    histogram = Counter(values)
    for q in (0, 10, 50, 90, 100):
        assert histogram_percentile(histogram, q) == pytest.approx(np.percentile(values, q))
    assert histogram_percentile(Counter(), 50) is None


def test_wilson_matches_the_formula_and_overlap_reads_the_intervals() -> None:
    for k, n in ((0, 1), (1, 2), (7, 40), (40, 40)):
        rate = wilson(k, n)
        assert (rate.value, rate.low, rate.high) == pytest.approx(textbook_wilson(k, n))
    assert wilson(0, 0).value is None
    assert overlap(wilson(10, 20), wilson(12, 20))
    assert not overlap(wilson(2, 200), wilson(150, 200))


def test_no_success_gives_a_lower_bound_of_exactly_zero() -> None:
    # Computed, the bound at k = 0 is 5.6e-17 for n = 3: a cost per won deal divided by it
    # read 18,215,199,004,867,676,160.00 on the demo's cost page.
    for n in range(1, 60):
        assert wilson(0, n).low == 0.0
        assert wilson(n, n).high == 1.0


def test_a_source_without_a_won_deal_has_no_upper_cost_bound() -> None:
    from decimal import Decimal

    from leadsieve.insights.cost import _per_rate

    assert _per_rate(Decimal("3033.44"), 3, wilson(0, 3).low) is None
