"""Scorecard criteria: validation, vectorised matching on lead columns, and plain-word labels.

Text operators are evaluated once per *distinct* value of a column (``pd.factorize``) and
broadcast back through the codes, so a million leads with a few hundred job titles cost one
hash pass, not a million string comparisons. Matching is case-insensitive for text.

Empty values (missing, ``None``, blank text) match only ``is_empty``: a lead whose country is
unknown is neither "one of" nor "not one of" a list of countries.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from leadsieve.engine.exceptions import InvalidScorecard
from leadsieve.engine.freemail import FREE_MAIL_DOMAINS
from leadsieve.engine.types import ACTIVITY_KINDS, DIMENSIONS, OPERATORS, Criterion, Scalar

# Leads as a DataFrame, or as a mapping of column name to array (one-lead calls skip pandas).
Leads: TypeAlias = pd.DataFrame | Mapping[str, Any]  # Any: numpy arrays or pandas Series
TEXT_OPERATORS = frozenset({"equal", "one_of", "not_one_of", "contains", "free_mail"})
KIND_WORDS: dict[str, tuple[str, str]] = {
    "form_submit": ("form submission", "form submissions"),
    "page_visit": ("page visit", "page visits"),
    "email_sent": ("email sent", "emails sent"),
    "email_opened": ("email open", "email opens"),
    "email_clicked": ("email click", "email clicks"),
    "email_replied": ("email reply", "email replies"),
    "call": ("call", "calls"),
    "meeting": ("meeting", "meetings"),
    "note": ("note", "notes"),
    "capture": ("capture", "captures"),
    "social": ("social interaction", "social interactions"),
}


def humanize_column(column: str) -> str:
    """``company__size`` → "Company size", ``custom__plan_tier`` → "Plan tier"."""
    text = column.removeprefix("custom__").replace("__", " ").replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def format_value(value: Scalar | tuple[Scalar, ...]) -> str:
    """A criterion value as reps read it: quoted text, plain numbers, yes/no."""
    if isinstance(value, tuple):
        return ", ".join(format_value(v) for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return f"{value:g}"
    return f"'{value}'"


def format_points(points: float) -> str:
    """``+10``, ``-5``, ``+2.5``: always signed, no trailing zeros."""
    return f"{points:+.3g}" if points != int(points) else f"{int(points):+d}"


def kind_words(kind: str, count: int) -> str:
    """Activity kind in words, singular or plural."""
    singular, plural = KIND_WORDS.get(kind, (kind, kind))
    return singular if count == 1 else plural


def describe(criterion: Criterion) -> str:
    """The criterion's condition in plain words (its own ``label`` wins when set)."""
    if criterion.label:
        return criterion.label
    if criterion.operator == "activity" and criterion.activity is not None:
        cond = criterion.activity
        text = (
            f"Each {kind_words(cond.kind, 1)}"
            if criterion.per_event
            else f"At least {cond.min_count} {kind_words(cond.kind, cond.min_count)}"
            if cond.min_count > 1
            else kind_words(cond.kind, 1).capitalize()
        )
        if cond.url_contains:
            text += f" on a page containing '{cond.url_contains}'"
        if cond.subject_contains:
            text += f" about '{cond.subject_contains}'"
        if cond.within_days is not None:
            text += f" in the last {cond.within_days:g} days"
        return text
    subject = humanize_column(criterion.column or "")
    value = format_value(criterion.value)
    phrases = {
        "equal": f"{subject} is {value}",
        "one_of": f"{subject} is one of {value}",
        "not_one_of": f"{subject} is not one of {value}",
        "contains": f"{subject} contains {value}",
        "is_empty": f"{subject} is empty",
        "is_set": f"{subject} is set",
        "free_mail": f"{subject} is a free-mail provider",
    }
    if criterion.operator == "range":
        low, high = criterion.min, criterion.max
        if low is not None and high is not None:
            return f"{subject} between {low:g} and {high:g}"
        return f"{subject} at least {low:g}" if low is not None else f"{subject} at most {high:g}"
    return phrases[criterion.operator]


def validate_criterion(criterion: Criterion, columns: Collection[str]) -> None:
    """Raise ``InvalidScorecard`` naming the criterion if it cannot be evaluated."""

    def fail(problem: str) -> None:
        raise InvalidScorecard(f"criterion '{criterion.name}': {problem}")

    if criterion.dimension not in DIMENSIONS:
        fail(f"unknown dimension '{criterion.dimension}' (use one of {', '.join(DIMENSIONS)})")
    if criterion.operator not in OPERATORS:
        fail(f"unknown operator '{criterion.operator}'")
    if not np.isfinite(criterion.points):
        fail("points must be a finite number")
    if criterion.operator == "activity":
        cond = criterion.activity
        if cond is None:
            fail("an activity criterion needs an 'activity' condition")
        elif cond.kind not in ACTIVITY_KINDS:
            fail(f"unknown activity kind '{cond.kind}'")
        elif cond.min_count < 1 or (cond.within_days is not None and cond.within_days <= 0):
            fail("min_count must be ≥ 1 and within_days > 0")
        return
    if not criterion.column:
        fail("a column is required")
    if criterion.column not in columns:
        fail(f"column '{criterion.column}' is not in the leads frame")
    if criterion.operator in ("one_of", "not_one_of") and not isinstance(criterion.value, tuple):
        fail(f"'{criterion.operator}' needs a list of values")
    if criterion.operator in ("equal", "contains") and criterion.value in (None, ""):
        fail(f"'{criterion.operator}' needs a value")
    if criterion.operator == "range":
        if criterion.min is None and criterion.max is None:
            fail("'range' needs min and/or max")
        if (
            criterion.min is not None
            and criterion.max is not None
            and criterion.min > criterion.max
        ):
            fail("'range' has min greater than max")


SMALL_BATCH = 1_000


def _is_missing(value: object) -> bool:
    """What ``pd.factorize`` treats as missing: None, NaN, NaT, pd.NA."""
    return value is None or value is pd.NA or value is pd.NaT or value != value


def small_factorize(values: list[object]) -> tuple[np.ndarray, list[object]]:
    """``pd.factorize`` for a handful of values, in plain Python (same codes, same order)."""
    positions: dict[object, int] = {}
    codes = [
        -1 if _is_missing(value) else positions.setdefault(value, len(positions))
        for value in values
    ]
    return np.array(codes, dtype=np.int64), list(positions)


def as_list(values: Any) -> list[object]:  # Any: a Series or an array
    """Python values of a Series or array (for the few values of a small batch)."""
    if isinstance(values, pd.Series):
        listed: list[object] = values.tolist()
        return listed
    return list(np.asarray(values, dtype=object).tolist())


class ColumnCache:
    """Per-call cache of column arrays, so several criteria on one column share work.

    Each column is read from the leads once (a DataFrame column costs pandas' indexing each
    time), then kept as codes into its distinct texts and/or as floats.
    """

    def __init__(self, leads: Leads, n: int) -> None:
        self.leads = leads
        self.n = n
        self._columns: dict[str, Any] = {}  # Any: a Series or an array
        self._factorized: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self._numbers: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._is_numeric: dict[str, bool] = {}

    def has(self, column: str) -> bool:
        return column in self.leads

    def column(self, column: str) -> Any:  # Any: a Series or an array
        """The column as the caller gave it (a Series or an array), read once."""
        if column not in self._columns:
            self._columns[column] = self.leads[column]
        return self._columns[column]

    def factorized(self, column: str) -> tuple[np.ndarray, np.ndarray]:
        """Codes (-1 for missing) and the distinct values as stripped, case-folded text."""
        codes, text, _ = self.factorized_blank(column)
        return codes, text

    def factorized_blank(self, column: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``factorized`` plus which distinct texts are blank."""
        if column not in self._factorized:
            values = self.column(column)
            if self.n < SMALL_BATCH:
                # Small batches (a single lead): a dict beats any vectorised factorisation.
                codes, uniques = small_factorize(as_list(values))
            else:  # large batches: pandas' (Arrow's) hash tables
                codes, uniques = pd.factorize(values, use_na_sentinel=True)
            text = np.array([str(v).strip().casefold() for v in uniques], dtype=object)
            self._factorized[column] = (np.asarray(codes), text, text == "")
        return self._factorized[column]

    def numbers_present(self, column: str) -> tuple[np.ndarray, np.ndarray]:
        """The column as floats (NaN where missing or not a number), and where not NaN."""
        if column not in self._numbers:
            values = self.column(column)
            dtype = getattr(values, "dtype", None)
            if isinstance(dtype, np.dtype) and dtype.kind in "iuf":
                numbers = np.asarray(values, dtype=float)
            else:
                numbers = np.asarray(
                    pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(
                        dtype=float, na_value=np.nan
                    )
                )
            self._numbers[column] = (numbers, ~np.isnan(numbers))
        return self._numbers[column]

    def is_numeric(self, column: str) -> bool:
        if column not in self._is_numeric:
            values = self.column(column)
            if isinstance(values, np.ndarray):
                self._is_numeric[column] = values.dtype.kind in "iufc"
            else:
                self._is_numeric[column] = _is_numeric_dtype(values.dtype)
        return self._is_numeric[column]


@lru_cache(maxsize=64)
def _is_numeric_dtype(dtype: Any) -> bool:  # Any: a numpy or pandas dtype
    """Numbers but not booleans (cached: pandas' dtype checks cost more than one lead's math)."""
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)


def _as_text(value: Scalar) -> str:
    if isinstance(value, bool):
        return str(value).casefold()
    if isinstance(value, float) and value == int(value):
        return str(int(value))
    return str(value).strip().casefold()


def _domain(text: str) -> str:
    return text.rsplit("@", 1)[-1]


NUMERIC_OPERATORS = frozenset({"equal", "one_of", "not_one_of", "range", "is_empty", "is_set"})


@dataclass(frozen=True)
class ColumnMatcher:
    """A column criterion made ready once per scorecard: bounds set, values case-folded."""

    column: str
    operator: str
    low: float
    high: float
    numbers: tuple[float, ...]
    wanted: tuple[str, ...]

    @classmethod
    def of(cls, criterion: Criterion) -> ColumnMatcher:
        values = criterion.value if isinstance(criterion.value, tuple) else (criterion.value,)
        return cls(
            column=criterion.column or "",
            operator=criterion.operator,
            low=-np.inf if criterion.min is None else criterion.min,
            high=np.inf if criterion.max is None else criterion.max,
            numbers=tuple(float(v) for v in values if isinstance(v, int | float)),
            wanted=tuple(_as_text(v) for v in values),
        )

    def is_numeric_on(self, cache: ColumnCache) -> bool:
        """Whether this criterion compares numbers (a numeric column and a numeric operator)."""
        return self.operator in NUMERIC_OPERATORS and cache.is_numeric(self.column)

    def match_numbers(self, cache: ColumnCache) -> np.ndarray:
        """Boolean array: which leads match, on a numeric column."""
        x, present = cache.numbers_present(self.column)
        op = self.operator
        if op == "range":  # NaN compares false: a missing value is never in range
            return np.asarray((x >= self.low) & (x <= self.high))
        if op == "is_empty":
            return ~present
        if op == "is_set":
            return present
        hit = np.zeros(cache.n, dtype=bool)
        for number in self.numbers:  # what np.isin does for a few values, without its set-up
            hit |= x == number
        return np.asarray(present & ~hit) if op == "not_one_of" else hit

    def text_answers(self, cache: ColumnCache) -> tuple[list[bool], bool]:
        """Whether each distinct text of the column matches, and whether a missing one does."""
        _, text, blank = cache.factorized_blank(self.column)
        op = self.operator
        if op == "is_empty":
            return blank.tolist(), True
        if op == "is_set":
            return (~blank).tolist(), False
        if op == "range":
            numbers = pd.to_numeric(pd.Series(text, dtype=object), errors="coerce").to_numpy(
                dtype=float, na_value=np.nan
            )
            return ((numbers >= self.low) & (numbers <= self.high)).tolist(), False
        texts: list[str] = text.tolist()
        if op == "free_mail":
            return [_domain(t) in FREE_MAIL_DOMAINS for t in texts], False
        wanted = self.wanted
        if op == "contains":
            return [t != "" and any(w in t for w in wanted) for t in texts], False
        if op == "not_one_of":
            return [t != "" and t not in wanted for t in texts], False
        # equal, one_of: distinct values are few, a tuple lookup each beats np.isin
        return [t != "" and t in wanted for t in texts], False


def match_columns(
    matchers: Sequence[ColumnMatcher | None], cache: ColumnCache
) -> list[np.ndarray | None]:
    """Per matcher (None stays None), a boolean array of the leads that match.

    Text criteria are answered per distinct value; all of one column's answers form one
    table (criteria × distinct values) broadcast to the leads in a single lookup.
    """
    matched: list[np.ndarray | None] = [None] * len(matchers)
    by_column: dict[str, list[tuple[int, list[bool], bool]]] = {}
    for index, matcher in enumerate(matchers):
        if matcher is None:
            continue
        if matcher.is_numeric_on(cache):
            matched[index] = matcher.match_numbers(cache)
        else:
            hits, missing = matcher.text_answers(cache)
            by_column.setdefault(matcher.column, []).append((index, hits, missing))
    for column, answers in by_column.items():
        codes, _ = cache.factorized(column)
        # One row per criterion: its answer for each distinct value, then for a missing one
        # (code -1 picks the last column).
        table = np.array([[*hits, missing] for _, hits, missing in answers], dtype=bool)
        per_lead = table[:, codes]
        for row, (index, _, _) in enumerate(answers):
            matched[index] = per_lead[row]
    return matched


def column_values(criterion: Criterion, cache: ColumnCache, rows: np.ndarray) -> np.ndarray:
    """The leads' own values in the criterion's column (for ``Reason.value``), at ``rows``:
    an object array with None where the value is missing."""
    column = cache.column(criterion.column or "")  # column criteria always name one
    picked = column.take(rows) if isinstance(column, pd.Series) else np.asarray(column)[rows]
    values = np.array(picked, dtype=object)  # a copy: pandas may hand out read-only views
    values[pd.isna(values)] = None
    return values
