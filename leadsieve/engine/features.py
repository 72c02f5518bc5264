"""Lead columns → numeric matrices for the conversion model, with every encoder fitted on
training rows only and stored as plain JSON (no pickle).

Two matrices come out of one fitted ``FeatureEncoder``:

* ``linear_matrix``: standardised columns for logistic regression — per numeric column the
  clipped value, ``log1p`` and a missingness flag plus one-hot quantile bins and a cubic
  B-spline basis (so a linear model can bend: in steps, and smoothly), per bool column 0/1
  (+ flag), per categorical column a one-hot of its frequent levels and a smoothed
  target-encoding logit;
* ``tree_matrix``: raw numerics (NaN kept), bools, categorical codes (native LightGBM
  categoricals), the same target-encoding logits, and pairwise ratios of numeric columns.

One derived categorical column joins the usable ones when at least ``MIN_ANSWER_COLUMNS``
columns have enough blank and filled rows in training (``_answers_something``): ``ANSWERS``,
which of those fields the lead filled in (one character per column, "1" filled, "0" blank).
Which questions a lead left unanswered says how it came in (a full landing-page form, an ad's
lead form, a chat) and how serious it was; a linear model sees combinations of three or more
blanks only through this column.

Target encodings of training rows are computed out-of-fold, so a level's own outcome never
feeds its feature (that is leakage by another name); new rows use the full training table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold

from leadsieve.engine.exceptions import InvalidInput
from leadsieve.engine.types import ANSWERS, FEATURE_KINDS, FeatureColumn, FeatureSpec

MISSING = "(missing)"
OTHER = "(other)"
MIN_LEVEL_COUNT = 5
N_QUANTILE_BINS = 16
# A cubic B-spline basis of each numeric column (on log1p when the column is non-negative),
# knots at training quantiles: the smooth companion of the quantile bins. It is what
# scikit-learn's SplineTransformer(n_knots=6, degree=3, knots="quantile") builds, computed
# here from the stored knots so the encoder stays plain JSON. X Education's ROC-AUC: +0.0006.
N_SPLINE_KNOTS = 6
SPLINE_DEGREE = 3
# Heavy smoothing on purpose: the encoding is a shrunk summary for many-valued columns (495
# Olist landing pages); with light smoothing (20) the trees overfit it (Olist log-loss 0.322 vs
# 0.316 at 200 in the benchmark), while X Education does not care (0.879 AUC either way).
TE_SMOOTHING = 200.0
TE_MIN_LEVELS = 4
TE_FOLDS = 5
# Ratios of numeric columns (time per visit...) for the trees, which cannot divide; a linear
# model already has them as differences of the log1p features.
TREE_RATIOS = True
MAX_RATIO_COLUMNS = 5
# Pairs of categorical columns for the linear part: a one-hot of each value combination seen
# at least this often in training, appended after the single-column features. Whether the
# model uses them is chosen by inner cross-validation (``ConversionModel``): the trees already
# see interactions, a linear model only through these.
PAIR_MIN_COUNT = 20
# ... and at least this share of the training rows: on a large history a fixed count keeps
# tens of thousands of rare combinations (41k generated leads with 10 categorical columns:
# 18,885 pair columns, a 6 GB dense matrix, minutes per logistic fit). Below 8,000 rows the
# count above is the larger one, so X Education and Olist keep the same pairs.
PAIR_MIN_SHARE = 0.0025
PAIR_SEPARATOR = "\x1f"
# The derived "which fields were filled in" column (see the module text). A column takes part
# when training holds at least MIN_LEVEL_COUNT blank and MIN_LEVEL_COUNT filled rows of it (a
# column blank everywhere, or blank once, says nothing); with fewer than three such columns
# the pattern adds little to their missing flags (Olist: one). The pattern joins the pair
# features like any categorical column. Bits of an int64 code it: 62 columns at most.
MIN_ANSWER_COLUMNS = 3
MAX_ANSWER_COLUMNS = 62


def category_codes(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """``(codes, distinct)``: ``distinct[codes]`` are the cleaned values of ``category_values``.

    Missing values get the code ``len(distinct) - 1`` (the last entry is always ``MISSING``), so
    anything computed once per distinct value broadcasts to every row by indexing.
    """
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    cleaned = [str(v).strip() for v in np.asarray(uniques, dtype=object)]
    distinct = np.array([c if c else MISSING for c in cleaned] + [MISSING], dtype=object)
    return np.where(codes < 0, len(distinct) - 1, codes), distinct


def category_values(series: pd.Series) -> np.ndarray:
    """Strings with one spelling of "missing", whatever dtype the adapter used.

    Cleaned once per distinct value and broadcast through the factorised codes, so a million
    leads cost one hash pass, not a million ``str()`` calls.
    """
    codes, distinct = category_codes(series)
    return np.asarray(distinct[codes])


def numeric_values(series: pd.Series) -> np.ndarray:
    """Float values with NaN for anything missing or non-numeric."""
    return np.asarray(pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan))


def bool_values(series: pd.Series) -> np.ndarray:
    """1.0 / 0.0 / NaN, accepting bools, 0/1 and the usual yes/no words."""
    mapping = {"true": 1.0, "yes": 1.0, "1": 1.0, "1.0": 1.0}
    mapping.update({"false": 0.0, "no": 0.0, "0": 0.0, "0.0": 0.0})
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    words = [str(v).strip().lower() for v in np.asarray(uniques, dtype=object)]
    table = np.array([mapping.get(w, np.nan) for w in words] + [np.nan], dtype=float)
    return np.asarray(table[codes])


def blank_values(series: pd.Series, kind: str) -> np.ndarray:
    """True where the column holds no usable value for its kind (blank, missing, unparsable)."""
    if kind == "categorical":
        return np.asarray(category_values(series) == MISSING)
    values = numeric_values(series) if kind == "numeric" else bool_values(series)
    return np.asarray(np.isnan(values))


def answer_codes(blanks: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """``(codes, distinct)`` of the filled-in pattern of the columns whose blank flags are given,
    in ``category_codes``' contract (``distinct`` ends with ``MISSING``, which no row uses).
    A pattern is a string of "1" (filled) and "0" (blank), one character per column."""
    bits = np.zeros(len(blanks[0]), dtype=np.int64)
    for i, blank in enumerate(blanks):
        bits |= (~blank).astype(np.int64) << i
    seen, codes = np.unique(bits, return_inverse=True)
    words = ["".join("1" if value >> i & 1 else "0" for i in range(len(blanks))) for value in seen]
    return codes.reshape(-1), np.array([*words, MISSING], dtype=object)


def _answers_something(blank: np.ndarray) -> bool:
    """Whether a column's blanks can take part in the ``ANSWERS`` pattern: training holds at
    least ``MIN_LEVEL_COUNT`` blank and ``MIN_LEVEL_COUNT`` filled rows of it."""
    n_blank = int(blank.sum())
    return min(n_blank, len(blank) - n_blank) >= MIN_LEVEL_COUNT


def _logit(p: np.ndarray | float) -> np.ndarray:
    q = np.clip(np.asarray(p, dtype=float), 1e-6, 1 - 1e-6)
    return np.asarray(np.log(q / (1 - q)))


@dataclass
class _ColumnEncoding:
    """Learned state for one column; plain lists and floats so it serialises to JSON."""

    name: str
    kind: str
    levels: list[str]
    te_table: dict[str, float]
    te_prior: float
    median: float
    low: float
    high: float
    edges: list[float]
    has_missing: bool
    # Knot vector of the B-spline basis (empty: none; models stored before splines had none).
    spline_knots: list[float] = field(default_factory=list)


def spline_knots(values: np.ndarray) -> list[float]:
    """Knot vector of a cubic B-spline basis: ``N_SPLINE_KNOTS`` quantiles of ``values``,
    extended by ``SPLINE_DEGREE`` knots on each side spaced as the outermost interval, exactly
    as SplineTransformer(knots="quantile") does. Repeated quantiles stay repeated: a column
    that is 0 for a quarter of the leads gets a knot of full multiplicity at 0, so its basis
    can jump there (lead-form leads that never visited). Empty for a constant column."""
    base = np.quantile(values, np.linspace(0, 1, N_SPLINE_KNOTS))
    if not base[-1] > base[0]:
        return []
    steps = np.arange(1, SPLINE_DEGREE + 1)
    low, high = base[1] - base[0], base[-1] - base[-2]
    knots = np.r_[base[0] - low * steps[::-1], base, base[-1] + high * steps]
    return [float(v) for v in knots]


def spline_basis(x: np.ndarray, knots: list[float]) -> np.ndarray:
    """B-spline basis functions of ``x`` (rows × ``len(knots) - SPLINE_DEGREE - 1``), by the
    Cox–de Boor recursion (0/0 terms of repeated knots count 0); ``x`` is clipped to the
    knots' base interval (the training range), whose right end belongs to its last piece."""
    t = np.asarray(knots, dtype=float)
    k = SPLINE_DEGREE
    n = len(t) - k - 1
    x = np.clip(np.asarray(x, dtype=float), t[k], t[n])[:, None]
    basis = ((t[:-1] <= x) & (x < t[1:])).astype(float)
    last = int(np.flatnonzero(t[1 : n + 1] > t[:n])[-1])  # last non-empty base piece
    at_end = x[:, 0] >= t[n]
    basis[at_end] = 0.0
    basis[at_end, last] = 1.0
    for d in range(1, k + 1):
        span_left = t[d:-1] - t[: -d - 1]
        span_right = t[d + 1 :] - t[1:-d]
        left = (x - t[: -d - 1]) / np.where(span_left > 0, span_left, np.inf)
        right = (t[d + 1 :] - x) / np.where(span_right > 0, span_right, np.inf)
        basis = left * basis[:, :-1] + right * basis[:, 1:]
    return np.asarray(basis)


def _spline_input(enc: _ColumnEncoding, x: np.ndarray) -> np.ndarray:
    """What the spline basis of a numeric column reads: ``log1p`` of the clipped value when
    the column is non-negative, the clipped value itself otherwise."""
    return np.log1p(x) if enc.low >= 0 else x


def _n_splines(enc: _ColumnEncoding) -> int:
    return max(0, len(enc.spline_knots) - SPLINE_DEGREE - 1)


def _linear_width(enc: _ColumnEncoding) -> int:
    """How many linear features the column makes (``_raw_linear``'s blocks for it)."""
    if enc.kind == "categorical":
        return len(enc.levels) + 1 + (1 if enc.te_table else 0)
    if enc.kind == "numeric":
        return 1 + int(enc.low >= 0) + int(enc.has_missing) + len(enc.edges) + 1 + _n_splines(enc)
    return 1 + int(enc.has_missing)


def _target_table(values: np.ndarray, y: np.ndarray, prior: float) -> dict[str, float]:
    """Smoothed conversion logit per level: m-estimate towards the prior, m = TE_SMOOTHING."""
    m = TE_SMOOTHING
    frame = pd.DataFrame({"v": values, "y": y}).groupby("v")["y"].agg(["sum", "count"])
    smoothed = (frame["sum"] + m * prior) / (frame["count"] + m)
    logits = _logit(smoothed.to_numpy())
    return {str(k): float(v) for k, v in zip(smoothed.index, logits, strict=True)}


def _lookup(values: np.ndarray, table: dict[str, float], default: float) -> np.ndarray:
    return np.asarray(
        pd.Series(values, dtype=object).map(table).fillna(default).to_numpy(dtype=float)
    )


def _lookup_distinct(distinct: np.ndarray, table: dict[str, float], default: float) -> np.ndarray:
    """``_lookup`` for a handful of distinct values (a dict get each; no pandas overhead)."""
    return np.array([table.get(v, default) for v in distinct], dtype=float)


@dataclass
class _PairEncoding:
    """Frequent value combinations of two categorical columns (``first``, ``second``)."""

    first: str
    second: str
    levels: list[str]


def pair_values(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Cleaned category values of two columns joined into one combination value per row."""
    return np.asarray(
        pd.Series(first, dtype=object) + PAIR_SEPARATOR + pd.Series(second, dtype=object),
        dtype=object,
    )


Factorized = dict[str, tuple[np.ndarray, np.ndarray]]


class FeatureEncoder:
    """Fits per-column encodings on training leads and builds both model matrices."""

    def __init__(self, *, spec: FeatureSpec, random_state: int = 0) -> None:
        self.spec = spec
        self.random_state = random_state

    # -- fitting -----------------------------------------------------------------------------
    def fit(self, leads: pd.DataFrame, y: np.ndarray) -> FeatureEncoder:
        """Learn levels, bins, clipping bounds and target tables from the training rows."""
        self.fit_linear(leads, y)
        return self

    def fit_linear(self, leads: pd.DataFrame, y: np.ndarray) -> np.ndarray:
        """``fit``, then ``linear_matrix(leads, oof_y=y)`` from the same pass (the training
        matrix is built once, not once for its mean and again for the model)."""
        columns = self.spec.usable
        missing = [c.name for c in columns if c.name not in leads.columns]
        if missing:
            raise InvalidInput(f"feature columns missing from leads: {', '.join(missing)}")
        bad = [c.name for c in columns if c.kind not in FEATURE_KINDS]
        if bad:
            raise InvalidInput(f"unknown feature kind for: {', '.join(bad)}")
        if any(c.name == ANSWERS for c in columns):
            raise InvalidInput(f"{ANSWERS} is the name of a derived column; rename that column")
        prior = float(np.mean(y))
        self.prior_ = prior
        self.encodings_ = [self._fit_column(c, leads[c.name], y, prior) for c in columns]
        with_blanks = [
            c for c in columns if _answers_something(blank_values(leads[c.name], c.kind))
        ]
        self.answer_columns_ = [(c.name, c.kind) for c in with_blanks][:MAX_ANSWER_COLUMNS]
        if len(self.answer_columns_) < MIN_ANSWER_COLUMNS:
            self.answer_columns_ = []
        if self.answer_columns_:
            answers = pd.Series(self._category_values(leads, ANSWERS), dtype=object)
            column = FeatureColumn(ANSWERS, "categorical")
            self.encodings_.append(self._fit_column(column, answers, y, prior))
        self.pairs_ = self._fit_pairs(leads)
        train_linear = self._raw_linear(leads, oof_y=y)
        self.linear_mean_ = train_linear.mean(axis=0)
        sd = train_linear.std(axis=0)
        self.linear_sd_ = np.where(sd > 1e-12, sd, 1.0)
        train_linear -= self.linear_mean_
        train_linear /= self.linear_sd_
        return train_linear

    @property
    def columns(self) -> list[str]:
        """The model's columns: the usable ones of the spec, then ``ANSWERS`` if derived."""
        self._check_fitted()
        return [enc.name for enc in self.encodings_]

    def _blanks(
        self, leads: pd.DataFrame, factorized: Factorized | None = None
    ) -> list[np.ndarray]:
        """Blank flags of the ``answer_columns_``, from the shared codes where given."""
        blanks = []
        for name, kind in self.answer_columns_:
            if factorized is not None and name in factorized:
                codes, distinct = factorized[name]
                blanks.append(np.asarray(distinct == MISSING)[codes])
            else:
                blanks.append(blank_values(leads[name], kind))
        return blanks

    def _category_values(self, leads: pd.DataFrame, name: str) -> np.ndarray:
        """``category_values`` of a categorical model column, derived ones included."""
        if name == ANSWERS:
            codes, distinct = answer_codes(self._blanks(leads))
            return np.asarray(distinct[codes])
        return category_values(leads[name])

    def blank_answers(self, leads: pd.DataFrame) -> np.ndarray:
        """Per lead and ``answer_columns_`` column, True where it is blank (rows × columns;
        for explanations)."""
        self._check_fitted()
        blanks = self._blanks(leads)
        return np.column_stack(blanks) if blanks else np.zeros((len(leads), 0), dtype=bool)

    def _fit_pairs(self, leads: pd.DataFrame) -> list[_PairEncoding]:
        names = [e.name for e in self.encodings_ if e.kind == "categorical"]
        values = {name: self._category_values(leads, name) for name in names}
        pairs: list[_PairEncoding] = []
        min_count = max(PAIR_MIN_COUNT, int(np.ceil(PAIR_MIN_SHARE * len(leads))))
        for i, first in enumerate(names):
            for second in names[i + 1 :]:
                counts = pd.Series(pair_values(values[first], values[second])).value_counts()
                levels = sorted(str(v) for v in counts[counts >= min_count].index)
                if levels:
                    pairs.append(_PairEncoding(first, second, levels))
        return pairs

    @property
    def n_single_linear(self) -> int:
        """Width of the linear matrix without the pair features (they come last)."""
        return len(self.linear_sources()) - sum(len(pair.levels) for pair in self.pairs_)

    def _fit_column(
        self, column: FeatureColumn, series: pd.Series, y: np.ndarray, prior: float
    ) -> _ColumnEncoding:
        enc = _ColumnEncoding(column.name, column.kind, [], {}, prior, 0.0, 0.0, 0.0, [], False)
        if column.kind == "categorical":
            values = category_values(series)
            counts = pd.Series(values).value_counts()
            enc.levels = sorted(str(v) for v in counts[counts >= MIN_LEVEL_COUNT].index)
            if len(counts) >= TE_MIN_LEVELS:
                enc.te_table = _target_table(values, y, prior)
            enc.te_prior = float(_logit(prior))
        elif column.kind == "numeric":
            x = numeric_values(series)
            finite = x[np.isfinite(x)]
            enc.has_missing = bool(np.isnan(x).any())
            if finite.size:
                enc.median = float(np.median(finite))
                enc.low, enc.high = (float(v) for v in np.quantile(finite, [0.0, 0.99]))
                qs = np.quantile(finite, np.linspace(0, 1, N_QUANTILE_BINS + 1)[1:-1])
                enc.edges = sorted({float(v) for v in qs})
                enc.spline_knots = spline_knots(
                    _spline_input(enc, np.clip(finite, enc.low, enc.high))
                )
        else:
            enc.has_missing = bool(np.isnan(bool_values(series)).any())
        return enc

    # -- matrices ------------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "encodings_"):
            from leadsieve.engine.exceptions import NotFitted

            raise NotFitted("FeatureEncoder.fit must run first")

    def _te_column(
        self, enc: _ColumnEncoding, values: np.ndarray, oof_y: np.ndarray | None
    ) -> np.ndarray:
        if oof_y is None:
            return _lookup(values, enc.te_table, enc.te_prior)
        out = np.empty(len(values))
        folds = StratifiedKFold(TE_FOLDS, shuffle=True, random_state=self.random_state)
        for fit_idx, use_idx in folds.split(values, oof_y):
            prior = float(np.mean(oof_y[fit_idx]))
            table = _target_table(values[fit_idx], oof_y[fit_idx], prior)
            out[use_idx] = _lookup(values[use_idx], table, float(_logit(prior)))
        return out

    def _raw_linear(self, leads: pd.DataFrame, oof_y: np.ndarray | None = None) -> np.ndarray:
        blocks: list[np.ndarray] = []
        categories = {
            enc.name: self._category_values(leads, enc.name)
            for enc in self.encodings_
            if enc.kind == "categorical"
        }
        for enc in self.encodings_:
            if enc.kind == "categorical":
                values = categories[enc.name]
                known = np.isin(values, enc.levels)
                for level in enc.levels:
                    blocks.append((values == level).astype(float))
                blocks.append((~known).astype(float))
                if enc.te_table:
                    blocks.append(self._te_column(enc, values, oof_y))
            elif enc.kind == "numeric":
                x = numeric_values(leads[enc.name])
                is_missing = np.isnan(x)
                x = np.clip(np.where(is_missing, enc.median, x), enc.low, enc.high)
                blocks.append(x)
                if enc.low >= 0:
                    blocks.append(np.log1p(x))
                if enc.has_missing:
                    blocks.append(is_missing.astype(float))
                bins = np.searchsorted(np.asarray(enc.edges), x, side="right")
                for b in range(len(enc.edges) + 1):
                    blocks.append((bins == b).astype(float))
                if enc.spline_knots:
                    blocks.append(spline_basis(_spline_input(enc, x), enc.spline_knots))
            else:
                x = bool_values(leads[enc.name])
                blocks.append(np.nan_to_num(x, nan=0.0))
                if enc.has_missing:
                    blocks.append(np.isnan(x).astype(float))
        for pair in self.pairs_:
            values = pair_values(categories[pair.first], categories[pair.second])
            for level in pair.levels:
                blocks.append((values == level).astype(float))
        return np.column_stack(blocks) if blocks else np.empty((len(leads), 0))

    def linear_sources(self) -> list[str]:
        """Source column of each linear feature, to sum contributions back per column."""
        self._check_fitted()
        names: list[str] = []
        for enc in self.encodings_:
            names.extend([enc.name] * _linear_width(enc))
        for pair in self.pairs_:
            names.extend([pair.first + PAIR_SEPARATOR + pair.second] * len(pair.levels))
        return names

    def factorize(self, leads: pd.DataFrame) -> Factorized:
        """``category_codes`` of every categorical column, by name: the one hash pass over
        the rows that ``linear_contributions`` and ``tree_matrix`` can share."""
        self._check_fitted()
        factorized = {
            enc.name: category_codes(leads[enc.name])
            for enc in self.encodings_
            if enc.kind == "categorical" and enc.name != ANSWERS
        }
        if self.answer_columns_:
            factorized[ANSWERS] = answer_codes(self._blanks(leads, factorized))
        return factorized

    def linear_contributions(
        self, leads: pd.DataFrame, coef: np.ndarray, *, factorized: Factorized | None = None
    ) -> np.ndarray:
        """Per lead and usable column, ``coef · linear_matrix(leads)`` summed over the column's
        features (rows × columns), without building the linear matrix.

        The dense matrix of a million leads holds hundreds of one-hot columns; here a
        categorical column costs one lookup per distinct value (its one-hot weight plus its
        target-encoding term, computed once, broadcast through the codes) and a numeric column
        a few vector operations. Sums equal the matrix product up to float rounding.
        """
        self._check_fitted()
        factorized = factorized if factorized is not None else self.factorize(leads)
        weights = np.asarray(coef, dtype=float) / self.linear_sd_
        out = np.empty((len(leads), len(self.encodings_)))
        start = 0
        for j, enc in enumerate(self.encodings_):
            width = _linear_width(enc)
            w = weights[start : start + width]
            if enc.kind == "categorical":
                codes, distinct = factorized[enc.name]
                position = {level: i for i, level in enumerate(enc.levels)}
                # Unknown levels light the "other" feature, which sits after the levels.
                index = np.array([position.get(v, len(enc.levels)) for v in distinct], dtype=int)
                per_value = w[index]
                if enc.te_table:
                    te = _lookup_distinct(distinct, enc.te_table, enc.te_prior)
                    per_value = per_value + w[-1] * te
                column = per_value[codes]
            elif enc.kind == "numeric":
                n_bins = len(enc.edges) + 1
                x = numeric_values(leads[enc.name])
                is_missing = np.isnan(x)
                x = np.clip(np.where(is_missing, enc.median, x), enc.low, enc.high)
                column, k = w[0] * x, 1
                if enc.low >= 0:
                    column, k = column + w[k] * np.log1p(x), k + 1
                if enc.has_missing:
                    column, k = column + w[k] * is_missing, k + 1
                bins = np.searchsorted(np.asarray(enc.edges), x, side="right")
                column, k = column + w[k : k + n_bins][bins], k + n_bins
                if enc.spline_knots:
                    column = column + spline_basis(_spline_input(enc, x), enc.spline_knots) @ w[k:]
            else:
                x = bool_values(leads[enc.name])
                column = w[0] * np.nan_to_num(x, nan=0.0)
                if enc.has_missing:
                    column = column + w[1] * np.isnan(x)
            out[:, j] = column - float(self.linear_mean_[start : start + width] @ w)
            start += width
        position = {enc.name: j for j, enc in enumerate(self.encodings_)}
        for pair in self.pairs_:
            width = len(pair.levels)
            w = weights[start : start + width]
            start += width
            if not np.any(w):  # pairs not chosen by the model: they add nothing
                continue
            column = self._pair_weights(pair, w, factorized)
            column = column - float(self.linear_mean_[start - width : start] @ w)
            # A combination belongs to both columns: each is credited half of it.
            out[:, position[pair.first]] += column / 2
            out[:, position[pair.second]] += column / 2
        return out

    @staticmethod
    def _pair_weights(pair: _PairEncoding, w: np.ndarray, factorized: Factorized) -> np.ndarray:
        """Per row, the weight of its value combination (0 for a rare or unseen one), looked
        up through both columns' codes: no per-row string is built."""
        codes_a, distinct_a = factorized[pair.first]
        codes_b, distinct_b = factorized[pair.second]
        index_a: dict[str, list[int]] = {}
        for i, v in enumerate(distinct_a):
            index_a.setdefault(v, []).append(i)
        index_b: dict[str, list[int]] = {}
        for i, v in enumerate(distinct_b):
            index_b.setdefault(v, []).append(i)
        keys: list[int] = []
        key_weights: list[float] = []
        for level, weight in zip(pair.levels, w, strict=True):
            va, vb = level.split(PAIR_SEPARATOR, 1)
            for i in index_a.get(va, []):
                for k in index_b.get(vb, []):
                    keys.append(i * len(distinct_b) + k)
                    key_weights.append(float(weight))
        combined = codes_a.astype(np.int64) * len(distinct_b) + codes_b
        if not keys:
            return np.zeros(len(codes_a))
        order = np.argsort(keys)
        sorted_keys = np.asarray(keys, dtype=np.int64)[order]
        sorted_weights = np.append(np.asarray(key_weights)[order], 0.0)
        at = np.searchsorted(sorted_keys, combined)
        found = sorted_keys[np.minimum(at, len(keys) - 1)] == combined
        return np.asarray(sorted_weights[np.where(found, at, len(keys))])

    def linear_matrix(self, leads: pd.DataFrame, oof_y: np.ndarray | None = None) -> np.ndarray:
        """Standardised features for logistic regression (``oof_y`` for training rows)."""
        self._check_fitted()
        return np.asarray((self._raw_linear(leads, oof_y) - self.linear_mean_) / self.linear_sd_)

    def tree_matrix(
        self,
        leads: pd.DataFrame,
        oof_y: np.ndarray | None = None,
        *,
        factorized: Factorized | None = None,
    ) -> tuple[np.ndarray, list[str], list[int]]:
        """Features for LightGBM: matrix, the source column of each, categorical indices."""
        self._check_fitted()
        factorized = factorized if factorized is not None else self.factorize(leads)
        blocks: list[np.ndarray] = []
        sources: list[str] = []
        categorical: list[int] = []
        for enc in self.encodings_:
            if enc.kind == "categorical":
                # Level code and encoding once per distinct value, broadcast through the codes.
                codes, distinct = factorized[enc.name]
                position = {level: i for i, level in enumerate(enc.levels)}
                level_code = np.array([position.get(v, len(enc.levels)) for v in distinct])
                categorical.append(len(blocks))
                blocks.append(level_code[codes].astype(float))
                sources.append(enc.name)
                if enc.te_table:
                    if oof_y is None:
                        te = _lookup_distinct(distinct, enc.te_table, enc.te_prior)[codes]
                    else:
                        te = self._te_column(enc, distinct[codes], oof_y)
                    blocks.append(te)
                    sources.append(enc.name)
            elif enc.kind == "numeric":
                blocks.append(numeric_values(leads[enc.name]))
                sources.append(enc.name)
            else:
                blocks.append(bool_values(leads[enc.name]))
                sources.append(enc.name)
        if TREE_RATIOS:
            numeric = [e.name for e in self.encodings_ if e.kind == "numeric"][:MAX_RATIO_COLUMNS]
            raw = {name: numeric_values(leads[name]) for name in numeric}
            for i, top in enumerate(numeric):
                for bottom in numeric[i + 1 :]:
                    a, b = raw[top], raw[bottom]
                    with np.errstate(divide="ignore", invalid="ignore"):
                        blocks.append(np.where(b > 0, a / b, np.nan))
                    sources.append(top)  # explanations credit the numerator's column
        matrix = np.column_stack(blocks) if blocks else np.empty((len(leads), 0))
        return matrix, sources, categorical

    # -- persistence ---------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:  # Any: JSON values of mixed types
        """Everything needed to rebuild both matrices, as JSON-ready values."""
        self._check_fitted()
        return {
            "spec": self.spec.to_dict(),
            "random_state": self.random_state,
            "prior": self.prior_,
            "encodings": [vars(enc).copy() for enc in self.encodings_],
            "pairs": [vars(pair).copy() for pair in self.pairs_],
            "answer_columns": [list(column) for column in self.answer_columns_],
            "linear_mean": self.linear_mean_.tolist(),
            "linear_sd": self.linear_sd_.tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureEncoder:  # Any: parsed JSON
        encoder = cls(spec=FeatureSpec.from_dict(data["spec"]), random_state=data["random_state"])
        encoder.prior_ = float(data["prior"])
        encoder.encodings_ = [_ColumnEncoding(**enc) for enc in data["encodings"]]
        # Models stored before pair features existed have none.
        encoder.pairs_ = [_PairEncoding(**pair) for pair in data.get("pairs", [])]
        # Models stored before the derived ANSWERS column have none.
        encoder.answer_columns_ = [(n, k) for n, k in data.get("answer_columns", [])]
        encoder.linear_mean_ = np.asarray(data["linear_mean"], dtype=float)
        encoder.linear_sd_ = np.asarray(data["linear_sd"], dtype=float)
        return encoder
