"""The scorecard: a team's explainable rules for fit, interest and readiness.

One ``score`` call turns a frame of leads (and optionally their activities) into fit points
and grade, interest, readiness, a proposed status with its reason, a horizon with its reason,
and a 1–100 rating. Everything is vectorised over leads; only criteria are looped over.

Order of computation (callers may rely on it):

1. Each criterion gives its points to the leads it matches (``per_event``: points × count).
2. Sums per (dimension, group) are bounded by group caps, then sums per dimension by
   dimension caps. Interest also receives every ``InterestRule``'s decayed points
   (``points × 0.5 ** (age_days / half_life_days)`` per event, capped per kind) before its
   dimension cap.
3. Fit grade: A, B, C by ``GradeBands`` minimums, else D.
4. Status: ``disqualified`` when any disqualify criterion matches (the first one, in order,
   is the reason); else ``sql`` when the SQL rule holds, else ``mql`` when the MQL rule
   holds, else ``new``.
5. Horizon: short when the timeline is short-range or readiness reaches the rule's minimum;
   a long-range lead with enough recent engagement events flips to short ("interest jumped").
6. Rating: the ``RatingMap`` logistic of the points (see ``types.RatingMap``), then
   ``clip(round(100 * p), 1, 100)``; ``rating_source`` is ``'scorecard'``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any, Protocol

import numpy as np
import pandas as pd

from leadsieve.engine.activities import Activities, ActivityIndex, AsOf, cutoff_ns
from leadsieve.engine.criteria import (
    ColumnCache,
    ColumnMatcher,
    Leads,
    column_values,
    describe,
    format_points,
    kind_words,
    match_columns,
    validate_criterion,
)
from leadsieve.engine.exceptions import InvalidInput, InvalidScorecard
from leadsieve.engine.ratings import rating
from leadsieve.engine.types import (
    ACTIVITY_KINDS,
    Cap,
    Criterion,
    GradeBands,
    HorizonRule,
    InterestRule,
    RatingMap,
    Reason,
    StatusRule,
)

SCORE_COLUMNS: tuple[str, ...] = (
    "fit_points",
    "fit_grade",
    "interest_points",
    "readiness_points",
    "status",
    "status_reason",
    "horizon",
    "horizon_reason",
    "rating",
    "rating_source",
    "probability",
)
POINT_DIMENSIONS: tuple[str, ...] = ("fit", "interest", "readiness")
GRADES: tuple[str, ...] = ("A", "B", "C", "D")
STATUSES: tuple[str, ...] = ("new", "mql", "sql", "disqualified")
HORIZONS: tuple[str, ...] = ("long", "short")


@lru_cache(maxsize=512)
def _category_dtype(categories: tuple[str, ...]) -> pd.CategoricalDtype:
    """Cached dtypes: building one validates its categories, which dominates one-lead calls."""
    return pd.CategoricalDtype(list(categories))


def _categorical(codes: np.ndarray, categories: list[str]) -> pd.Categorical:
    return pd.Categorical.from_codes(
        codes, dtype=_category_dtype(tuple(categories)), validate=False
    )


def _apply_cap(values: np.ndarray, cap: Cap) -> np.ndarray:
    """``np.clip`` to the cap's bounds, one ufunc per bound (clip's set-up costs more)."""
    if cap.min is not None:
        values = np.maximum(values, cap.min)
    if cap.max is not None:
        values = np.minimum(values, cap.max)
    return values


def _cap_words(cap: Cap) -> str:
    scope = (
        f"{cap.dimension.capitalize()} group '{cap.group}'"
        if cap.group
        else (f"{cap.dimension.capitalize()} total")
    )
    bounds = []
    if cap.max is not None:
        bounds.append(f"capped at {cap.max:g}")
    if cap.min is not None:
        bounds.append(f"floored at {cap.min:g}")
    return f"{scope} {' and '.join(bounds)}"


# When a lead plans to buy, as a rep says it (the lead form's timeline choices).
TIMELINE_WORDS = {
    "now": "plans to buy this month",
    "quarter": "plans to buy within 3 months",
    "half_year": "plans to buy in 3–6 months",
    "year": "plans to buy in 6–12 months",
    "later": "plans to buy in more than a year",
}


def timeline_words(timeline: str) -> str:
    """A short-range timeline as the horizon's reason: "plans to buy within 3 months"."""
    return TIMELINE_WORDS.get(timeline.casefold(), f"buying timeline: {timeline}")


def rule_words(rule: StatusRule) -> str:
    parts = [
        f"{name} ≥ {value:g}"
        for name, value in (
            ("fit", rule.min_fit),
            ("interest", rule.min_interest),
            ("readiness", rule.min_readiness),
            ("total", rule.min_total),
        )
        if value is not None
    ]
    return " and ".join(parts) if parts else "always"


@dataclass(frozen=True)
class Coded:
    """A text column as codes into a short list of distinct texts (a categorical without pandas)."""

    codes: np.ndarray
    categories: list[str]

    def texts(self, limit: int | None = None) -> np.ndarray:
        """One text per lead (object array), each cut to ``limit`` characters if given."""
        table = np.asarray([c[:limit] for c in self.categories], dtype=object)
        texts: np.ndarray = table[self.codes]
        return texts

    def categorical(self) -> pd.Categorical:
        return _categorical(self.codes, self.categories)


@dataclass(frozen=True)
class ScoreArrays:
    """``Scorecard.score`` as plain aligned arrays, in the leads' row order.

    What adapters use when a DataFrame's construction would cost more than the scoring
    (one lead scored on an event); ``score`` builds its frame from exactly these arrays.
    """

    ids: np.ndarray
    fit_points: np.ndarray
    fit_grade: Coded
    interest_points: np.ndarray
    readiness_points: np.ndarray
    status: Coded
    status_reason: Coded
    horizon: Coded
    horizon_reason: Coded
    rating: np.ndarray
    probability: np.ndarray

    def frame(self) -> pd.DataFrame:
        """The documented score frame: one row per lead, indexed by lead id."""
        return pd.DataFrame(
            {
                "fit_points": self.fit_points,
                "fit_grade": self.fit_grade.categorical(),
                "interest_points": self.interest_points,
                "readiness_points": self.readiness_points,
                "status": self.status.categorical(),
                "status_reason": self.status_reason.categorical(),
                "horizon": self.horizon.categorical(),
                "horizon_reason": self.horizon_reason.categorical(),
                "rating": self.rating,
                "rating_source": _categorical(
                    np.zeros(len(self.ids), dtype=np.int8), ["scorecard"]
                ),
                "probability": self.probability,
            },
            index=pd.Index(self.ids, name="id"),
        )


@dataclass(frozen=True)
class _Plan:
    """What ``score`` needs from a valid configuration, worked out once per scorecard version:
    each column criterion's matcher, and every status and horizon reason text."""

    config: tuple[object, ...]  # the configuration objects it was built from
    columns: frozenset[str]  # lead columns the criteria read
    matchers: tuple[ColumnMatcher | None, ...]  # per criterion; None for activity criteria
    status_rules: tuple[tuple[int, StatusRule], ...]  # (level, rule), MQL rules first
    status_reasons: list[str]  # base reason, one per status rule, one per criterion
    horizon_texts: list[str]  # reasons before any "interest jumped" one
    horizon_reasons: list[str]  # the same, made unique
    short_timelines: tuple[str, ...]  # case-folded

    @classmethod
    def build(cls, card: Scorecard, config: tuple[object, ...]) -> _Plan:
        status_rules = tuple(
            (level, rule)
            for level, status in ((1, "mql"), (2, "sql"))
            for rule in card.thresholds
            if rule.status == status
        )
        mql = next((r for r in card.thresholds if r.status == "mql"), None)
        reasons = [
            "no MQL rule in this scorecard"
            if mql is None
            else f"below the MQL rule ({rule_words(mql)})",
            *(f"{rule.status.upper()} rule met: {rule_words(rule)}" for _, rule in status_rules),
            *(f"disqualified: {label}" for label in _labels(card.criteria)),
        ]
        horizon = card.horizon
        texts = [
            f"not buying soon: no near timeline, readiness under {horizon.min_readiness:g}",
            f"ready to buy: readiness {horizon.min_readiness:g} or more",
            *(timeline_words(timeline) for timeline in horizon.short_timelines),
        ]
        return cls(
            config=config,
            columns=frozenset(
                c.column for c in card.criteria if c.operator != "activity" and c.column
            ),
            matchers=tuple(
                None if c.operator == "activity" else ColumnMatcher.of(c) for c in card.criteria
            ),
            status_rules=status_rules,
            status_reasons=_unique_labels(reasons),
            horizon_texts=texts,
            horizon_reasons=_unique_labels(texts),
            short_timelines=tuple(t.casefold() for t in horizon.short_timelines),
        )


class Scorecard:
    """A team's scorecard. The constructor stores its configuration; ``score`` validates it."""

    def __init__(
        self,
        *,
        criteria: tuple[Criterion, ...] = (),
        interest_rules: tuple[InterestRule, ...] = (),
        caps: tuple[Cap, ...] = (),
        grade_bands: GradeBands | None = None,
        thresholds: tuple[StatusRule, ...] = (),
        horizon: HorizonRule | None = None,
        rating_map: RatingMap | None = None,
    ) -> None:
        self.criteria = criteria
        self.interest_rules = interest_rules
        self.caps = caps
        self.grade_bands = grade_bands if grade_bands is not None else GradeBands()
        self.thresholds = thresholds
        self.horizon = horizon if horizon is not None else HorizonRule()
        self.rating_map = rating_map if rating_map is not None else RatingMap()
        self._plan: _Plan | None = None  # built on the first ``score``, per configuration

    # -- persistence -----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:  # Any: JSON values of mixed types
        """JSON-ready configuration (what the Django side stores per scorecard version)."""
        from leadsieve.engine.types import ENGINE_VERSION

        return {
            "engine_version": ENGINE_VERSION,
            "criteria": [c.to_dict() for c in self.criteria],
            "interest_rules": [asdict(r) for r in self.interest_rules],
            "caps": [asdict(c) for c in self.caps],
            "grade_bands": asdict(self.grade_bands),
            "thresholds": [asdict(t) for t in self.thresholds],
            "horizon": self.horizon.to_dict(),
            "rating_map": asdict(self.rating_map),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Scorecard:  # Any: parsed JSON
        """Rebuild a scorecard from ``to_dict`` output."""
        return cls(
            criteria=tuple(Criterion.from_dict(c) for c in data["criteria"]),
            interest_rules=tuple(InterestRule(**r) for r in data["interest_rules"]),
            caps=tuple(Cap(**c) for c in data["caps"]),
            grade_bands=GradeBands(**data["grade_bands"]),
            thresholds=tuple(StatusRule(**t) for t in data["thresholds"]),
            horizon=HorizonRule.from_dict(data["horizon"]),
            rating_map=RatingMap(**data["rating_map"]),
        )

    # -- validation ------------------------------------------------------------------------------
    def validate(self, leads: Leads) -> None:
        """Raise ``InvalidScorecard`` / ``InvalidInput`` before any scoring work."""
        _lead_ids(leads)
        self._validate_config(leads)

    def _validate_config(self, leads: Leads) -> None:
        """The scorecard's own checks, and that the leads have every column it reads."""
        seen: set[str] = set()
        available = set(leads.columns if isinstance(leads, pd.DataFrame) else leads)
        for criterion in self.criteria:
            if criterion.name in seen:
                raise InvalidScorecard(f"criterion '{criterion.name}': name used twice")
            seen.add(criterion.name)
            validate_criterion(criterion, available)
        for rule in self.interest_rules:
            if rule.kind not in ACTIVITY_KINDS:
                raise InvalidScorecard(f"interest rule '{rule.kind}': unknown activity kind")
            if rule.half_life_days <= 0:
                raise InvalidScorecard(f"interest rule '{rule.kind}': half-life must be > 0")
        for cap in self.caps:
            if cap.dimension not in POINT_DIMENSIONS:
                raise InvalidScorecard(f"cap on '{cap.dimension}': unknown dimension")
            if cap.min is not None and cap.max is not None and cap.min > cap.max:
                raise InvalidScorecard(f"cap on '{cap.dimension}': min greater than max")
        for status_rule in self.thresholds:
            if status_rule.status not in ("mql", "sql"):
                raise InvalidScorecard(f"status rule '{status_rule.status}': use 'mql' or 'sql'")
        bands = self.grade_bands
        if not bands.a >= bands.b >= bands.c:
            raise InvalidScorecard("grade bands must satisfy A ≥ B ≥ C")

    # -- the core pass ---------------------------------------------------------------------------
    def _criterion_points(
        self, plan: _Plan, cache: ColumnCache, events: ActivityIndex
    ) -> Iterator[tuple[Criterion, np.ndarray, np.ndarray | None]]:
        """Yield each criterion with its per-lead points (or match mask) and activity counts."""
        column_matches = match_columns(plan.matchers, cache)
        for criterion, column_match in zip(self.criteria, column_matches, strict=True):
            counts: np.ndarray | None = None
            if column_match is None and criterion.activity is not None:
                counts = events.count(criterion.activity)
                matched = counts >= criterion.activity.min_count
                factor = counts if criterion.per_event else matched
            else:
                assert column_match is not None  # validated: only activity criteria lack one
                matched = factor = column_match
            if criterion.dimension == "disqualify":
                yield criterion, matched, counts
            else:
                yield criterion, factor * float(criterion.points), counts

    def _compiled(self, leads: Leads) -> _Plan:
        """The plan for this configuration, validated against ``leads``' columns.

        The configuration is validated and compiled once; later calls only check that the
        leads have the columns it reads (and validate again, naming the problem, if not).
        """
        config = (
            self.criteria,
            self.interest_rules,
            self.caps,
            self.grade_bands,
            self.thresholds,
            self.horizon,
            self.rating_map,
        )
        plan = self._plan
        if plan is None or any(a is not b for a, b in zip(plan.config, config, strict=True)):
            self._validate_config(leads)
            plan = self._plan = _Plan.build(self, config)
        elif not all(column in leads for column in plan.columns):
            self._validate_config(leads)  # raises, naming the first missing column
        return plan

    def _prepare(
        self, leads: Leads, activities: Activities | None, as_of: AsOf
    ) -> tuple[_Plan, np.ndarray, ColumnCache, ActivityIndex]:
        ids = _lead_ids(leads)
        plan = self._compiled(leads)
        events = ActivityIndex(activities, ids, cutoff_ns(as_of, ids))
        return plan, ids, ColumnCache(leads, len(ids)), events

    def _totals(
        self,
        plan: _Plan,
        cache: ColumnCache,
        events: ActivityIndex,
        explain: _Explainer | None,
    ) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Capped points per dimension and the index of the first disqualifier (-1 if none).

        When ``explain`` is given, it receives every non-zero contribution in order
        (criteria, group caps, decayed interest, dimension caps; disqualifiers in criterion
        order).
        """
        n = cache.n
        groups: dict[tuple[str, str | None], np.ndarray] = {}
        disqualifier = np.full(n, -1, dtype=np.int64)
        points = self._criterion_points(plan, cache, events)
        for index, (criterion, values, counts) in enumerate(points):
            if criterion.dimension == "disqualify":
                disqualifier[(disqualifier < 0) & values] = index
                if explain is not None:
                    explain.criterion(criterion, values.astype(float), cache, counts, values)
                continue
            key = (criterion.dimension, criterion.group)
            groups[key] = (groups[key] if key in groups else np.zeros(n)) + values
            if explain is not None:
                explain.criterion(criterion, values, cache, counts, None)
        for cap in self.caps:
            key = (cap.dimension, cap.group)
            if cap.group is not None and key in groups:
                capped = _apply_cap(groups[key], cap)
                if explain is not None:
                    explain.cap(cap, capped - groups[key])
                groups[key] = capped
        totals = {d: np.zeros(n) for d in POINT_DIMENSIONS}
        for (dimension, _), values in groups.items():
            totals[dimension] += values
        for rule in self.interest_rules:
            decayed, count = events.decayed(rule)
            if rule.cap is not None:
                decayed = np.minimum(decayed, rule.cap)
            totals["interest"] += decayed
            if explain is not None:
                explain.interest(rule, decayed, count)
        for cap in self.caps:
            if cap.group is None:
                capped = _apply_cap(totals[cap.dimension], cap)
                if explain is not None:
                    explain.cap(cap, capped - totals[cap.dimension])
                totals[cap.dimension] = capped
        return totals, disqualifier

    # -- public API ------------------------------------------------------------------------------
    def score(
        self, leads: Leads, activities: Activities | None = None, *, as_of: AsOf
    ) -> pd.DataFrame:
        """Score every lead as of ``as_of``; one row per lead, indexed by lead id."""
        return self.score_arrays(leads, activities, as_of=as_of).frame()

    def score_arrays(
        self, leads: Leads, activities: Activities | None = None, *, as_of: AsOf
    ) -> ScoreArrays:
        """The same scores as ``score``, as plain arrays (no DataFrame is built).

        ``leads`` and ``activities`` may be DataFrames or mappings of column name to array,
        so a one-lead call costs numpy's per-call overhead, not pandas'.
        """
        return self._score_arrays(leads, activities, as_of, explain=None)

    def score_and_explain(
        self, leads: Leads, activities: Activities | None = None, *, as_of: AsOf
    ) -> tuple[ScoreArrays, CompactExplanation]:
        """``score_arrays`` and ``explain_parts`` from one pass over the criteria and events:
        what a batch of leads scored for the first time needs (each gets its reasons)."""
        parts = _CompactParts()
        arrays = self._score_arrays(leads, activities, as_of, explain=parts)
        return arrays, CompactExplanation(arrays.ids, parts.parts)

    def _score_arrays(
        self, leads: Leads, activities: Activities | None, as_of: AsOf, explain: _Explainer | None
    ) -> ScoreArrays:
        plan, ids, cache, events = self._prepare(leads, activities, as_of)
        totals, disqualifier = self._totals(plan, cache, events, explain=explain)
        fit, interest, readiness = totals["fit"], totals["interest"], totals["readiness"]
        bands = self.grade_bands
        # Bands are validated A ≥ B ≥ C: the grade is 3 (D) less the bands reached.
        grade_code = 3 - (fit >= bands.c).astype(np.int64) - (fit >= bands.b) - (fit >= bands.a)
        status, status_reason = self._status(plan, fit, interest, readiness, disqualifier)
        horizon, horizon_reason = self._horizon(plan, cache, events, readiness)
        rm = self.rating_map
        z = rm.intercept + rm.fit * fit + rm.interest * interest + rm.readiness * readiness
        probability = np.where(disqualifier >= 0, rm.disqualified_p, 1.0 / (1.0 + np.exp(-z)))
        return ScoreArrays(
            ids=ids,
            fit_points=fit,
            fit_grade=Coded(grade_code, list(GRADES)),
            interest_points=interest,
            readiness_points=readiness,
            status=status,
            status_reason=status_reason,
            horizon=horizon,
            horizon_reason=horizon_reason,
            rating=rating(probability),
            probability=probability,
        )

    def _status(
        self,
        plan: _Plan,
        fit: np.ndarray,
        interest: np.ndarray,
        readiness: np.ndarray,
        disqualifier: np.ndarray,
    ) -> tuple[Coded, Coded]:
        """Status and its reason as codes into the plan's reasons (a handful of texts)."""
        code = np.zeros(len(fit), dtype=np.int64)
        status_code = np.zeros(len(fit), dtype=np.int8)  # index into ("new","mql","sql","dq")
        total = fit + interest + readiness
        for reason, (level, rule) in enumerate(plan.status_rules, start=1):
            ok = np.ones(len(fit), dtype=bool)
            for values, minimum in (
                (fit, rule.min_fit),
                (interest, rule.min_interest),
                (readiness, rule.min_readiness),
                (total, rule.min_total),
            ):
                if minimum is not None:
                    ok &= values >= minimum
            status_code[ok] = level
            code[ok] = reason
        dq = disqualifier >= 0
        status_code[dq] = 3
        code[dq] = 1 + len(plan.status_rules) + disqualifier[dq]
        return Coded(status_code, list(STATUSES)), Coded(code, plan.status_reasons)

    def _horizon(
        self, plan: _Plan, cache: ColumnCache, events: ActivityIndex, readiness: np.ndarray
    ) -> tuple[Coded, Coded]:
        """Horizon and its reason as codes."""
        rule = self.horizon
        n = len(readiness)
        code = np.zeros(n, dtype=np.int64)
        is_ready = readiness >= rule.min_readiness
        code[is_ready] = 1
        short = is_ready.copy()
        if cache.has(rule.timeline_column):
            codes, text = cache.factorized(rule.timeline_column)
            for position, timeline in enumerate(plan.short_timelines, start=2):
                hit = np.append(text == timeline, False)[codes]
                code[hit] = position
                short |= hit
        recent = events.recent_count(rule.jump_kinds, rule.jump_days)
        jumped = ~short & (recent >= rule.jump_events)
        reasons = plan.horizon_reasons
        if jumped.any():
            distinct = np.unique(recent[jumped])
            texts = [
                *plan.horizon_texts,
                *(
                    f"interest jumped: {k} events in the last {rule.jump_days:g} days"
                    for k in distinct
                ),
            ]
            code[jumped] = len(plan.horizon_texts) + np.searchsorted(distinct, recent[jumped])
            short |= jumped
            reasons = _unique_labels(texts)
        return Coded(short.astype(np.int8), list(HORIZONS)), Coded(code, reasons)

    def explain_frame(
        self, leads: Leads, activities: Activities | None = None, *, as_of: AsOf
    ) -> pd.DataFrame:
        """Long format: one row per (lead, reason) with a non-zero effect, in criterion order.

        Columns: ``lead_id, dimension, code, label, points, value``.
        """
        plan, ids, cache, events = self._prepare(leads, activities, as_of)
        parts = _FrameParts()
        self._totals(plan, cache, events, explain=parts)
        frame = (
            pd.concat(parts.frames, ignore_index=True)
            if parts.frames
            else pd.DataFrame(columns=["row", "dimension", "code", "label", "points", "value"])
        )
        frame = frame.sort_values("row", kind="stable")
        frame.insert(0, "lead_id", ids[frame["row"].to_numpy(dtype=np.int64)])
        return frame.drop(columns="row").reset_index(drop=True)

    def explain_parts(
        self, leads: Leads, activities: Activities | None = None, *, as_of: AsOf
    ) -> CompactExplanation:
        """The contributions ``explain_frame`` lists, as arrays and codes only: no label,
        no value, no frame. What a stored snapshot keeps (``describe_reasons`` gives the
        words back from the same scorecard), at a fraction of the cost for a million leads.
        """
        plan, ids, cache, events = self._prepare(leads, activities, as_of)
        parts = _CompactParts()
        self._totals(plan, cache, events, explain=parts)
        return CompactExplanation(ids, parts.parts)

    def describe_reasons(
        self,
        items: Sequence[Sequence[Any]],  # Any: [code, points] or [code, points, count] (JSON)
    ) -> list[Reason]:
        """Compact reasons ``[code, points]`` (``[code, points, count]`` for interest rules)
        in plain words, with the labels ``explain`` gives (``value`` is not kept).

        A code this scorecard does not know (it cannot come from it) is shown as is.
        """
        words = _reason_words(self)
        reasons = []
        for item in items:
            code, points = str(item[0]), float(item[1])
            count = int(item[2]) if len(item) > 2 else 0
            source = words.get(code)
            if source is None:
                reasons.append(Reason("", code, code, points))
            else:
                dimension, label = _describe_reason(source, points, count)
                reasons.append(Reason(dimension, code, label, points))
        return reasons

    def explain(
        self, leads: pd.DataFrame, activities: pd.DataFrame | None = None, *, as_of: AsOf
    ) -> list[list[Reason]]:
        """Per lead (in row order), every reason in plain words: "Job title contains
        'director' (+10)". Meant for a page of leads, not for a million."""
        frame = self.explain_frame(leads, activities, as_of=as_of)
        by_lead: dict[Any, list[Reason]] = {lead_id: [] for lead_id in leads["id"].tolist()}
        for row in frame.itertuples(index=False):
            by_lead[row.lead_id].append(
                Reason(row.dimension, row.code, row.label, float(row.points), row.value)
            )
        return list(by_lead.values())


@dataclass(frozen=True)
class ReasonPart:
    """One criterion's, interest rule's or cap's non-zero effects on a batch of leads."""

    code: str  # as in ``explain_frame``: criterion name, ``interest:<kind>``, ``cap:<scope>``
    rows: np.ndarray  # positions of the leads affected, ascending
    points: np.ndarray  # the points each of them got (0 for a disqualifier)
    counts: np.ndarray | None  # events counted, for interest rules (their label says it)


@dataclass(frozen=True)
class CompactExplanation:
    """``Scorecard.explain_parts``: lead ids in row order, then the parts in the order
    ``explain_frame`` lists each lead's reasons."""

    ids: np.ndarray
    parts: list[ReasonPart] = field(default_factory=list)


class _Explainer(Protocol):
    """Receives each non-zero contribution as ``_totals`` computes it."""

    def criterion(
        self,
        criterion: Criterion,
        points: np.ndarray,
        cache: ColumnCache,
        counts: np.ndarray | None,
        mask: np.ndarray | None,
    ) -> None: ...

    def cap(self, cap: Cap, adjustment: np.ndarray) -> None: ...

    def interest(self, rule: InterestRule, decayed: np.ndarray, count: np.ndarray) -> None: ...


class _FrameParts:
    """Long-format frames with labels and values (``explain_frame``)."""

    def __init__(self) -> None:
        self.frames: list[pd.DataFrame] = []

    def criterion(
        self,
        criterion: Criterion,
        points: np.ndarray,
        cache: ColumnCache,
        counts: np.ndarray | None,
        mask: np.ndarray | None,
    ) -> None:
        self.frames.append(_reason_rows(criterion, points, cache, counts, mask=mask))

    def cap(self, cap: Cap, adjustment: np.ndarray) -> None:
        self.frames.append(_cap_rows(cap, adjustment))

    def interest(self, rule: InterestRule, decayed: np.ndarray, count: np.ndarray) -> None:
        self.frames.append(_interest_rows(rule, decayed, count))


class _CompactParts:
    """Rows, points and counts only (``explain_parts``): the same selection of rows as
    ``_FrameParts`` without building a label or reading a value."""

    def __init__(self) -> None:
        self.parts: list[ReasonPart] = []

    def criterion(
        self,
        criterion: Criterion,
        points: np.ndarray,
        cache: ColumnCache,
        counts: np.ndarray | None,
        mask: np.ndarray | None,
    ) -> None:
        rows = np.flatnonzero(mask if mask is not None else points != 0)
        values = np.zeros(len(rows)) if criterion.dimension == "disqualify" else points[rows]
        self.parts.append(ReasonPart(criterion.name, rows, values, None))

    def cap(self, cap: Cap, adjustment: np.ndarray) -> None:
        rows = np.flatnonzero(np.abs(adjustment) > 1e-12)
        self.parts.append(ReasonPart(_cap_code(cap), rows, adjustment[rows], None))

    def interest(self, rule: InterestRule, decayed: np.ndarray, count: np.ndarray) -> None:
        rows = np.flatnonzero(decayed != 0)
        self.parts.append(ReasonPart(f"interest:{rule.kind}", rows, decayed[rows], count[rows]))


def _reason_words(card: Scorecard) -> dict[str, Cap | InterestRule | tuple[Criterion, str]]:
    """Per reason code, what names it: a cap (the first of its scope, as its code says), an
    interest rule, or a criterion with its words."""
    words: dict[str, Cap | InterestRule | tuple[Criterion, str]] = {}
    for cap in reversed(card.caps):
        words[_cap_code(cap)] = cap
    for rule in card.interest_rules:
        words[f"interest:{rule.kind}"] = rule
    for criterion, text in zip(card.criteria, _labels(card.criteria), strict=True):
        words[criterion.name] = (criterion, text)
    return words


def _describe_reason(
    source: Cap | InterestRule | tuple[Criterion, str], points: float, count: int
) -> tuple[str, str]:
    """(dimension, label) as ``explain_frame`` words them."""
    if isinstance(source, Cap):
        shown = float(np.round(points, 1))
        return source.dimension, f"{_cap_words(source)} ({format_points(shown)})"
    if isinstance(source, InterestRule):
        is_capped = source.cap is not None and points >= source.cap
        return "interest", _interest_label(source, count, float(np.round(points, 1)), is_capped)
    criterion, text = source
    if criterion.dimension == "disqualify":
        return "disqualify", f"Disqualified: {text}"
    return criterion.dimension, f"{text} ({format_points(points)})"


def _lead_ids(leads: Leads) -> np.ndarray:
    """The leads' ids, checked present and unique."""
    if "id" not in leads:
        raise InvalidInput("leads frame needs an 'id' column")
    ids = np.asarray(leads["id"])
    if len(ids) > 1 and len(pd.unique(ids)) < len(ids):
        raise InvalidInput("lead ids must be unique")
    return ids


def _labels(criteria: tuple[Criterion, ...]) -> list[str]:
    """Each criterion in words; cached, since every call (one lead or a million) needs them."""
    try:
        return list(_cached_labels(criteria))
    except TypeError:  # a criterion holding an unhashable value (a list from raw JSON)
        return [describe(c) for c in criteria]


@lru_cache(maxsize=64)
def _cached_labels(criteria: tuple[Criterion, ...]) -> tuple[str, ...]:
    return tuple(describe(c) for c in criteria)


def _unique_labels(texts: list[str]) -> list[str]:
    """Categories must be unique; a repeated text gets a visible " [2]" suffix."""
    seen: dict[str, int] = {}
    out = []
    for text in texts:
        seen[text] = seen.get(text, 0) + 1
        out.append(text if seen[text] == 1 else f"{text} [{seen[text]}]")
    return out


def _long_rows(
    rows: np.ndarray,
    dimension: str,
    code: str,
    labels: np.ndarray | str,
    points: np.ndarray,
    values: np.ndarray,
) -> pd.DataFrame:
    """Explanation rows; text as plain object columns (inferring Arrow strings for millions of
    repeated labels would cost more than building them)."""
    n = len(rows)

    def texts(value: np.ndarray | str) -> pd.Series:
        array = np.full(n, value, dtype=object) if isinstance(value, str) else value
        return pd.Series(array, dtype=object, copy=False)

    return pd.DataFrame(
        {
            "row": rows,
            "dimension": texts(dimension),
            "code": texts(code),
            "label": texts(labels),
            "points": points,
            "value": pd.Series(values, dtype=object, copy=False),
        }
    )


def _reason_rows(
    criterion: Criterion,
    points: np.ndarray,
    cache: ColumnCache,
    counts: np.ndarray | None,
    mask: np.ndarray | None = None,
) -> pd.DataFrame:
    rows = np.flatnonzero(mask if mask is not None else points != 0)
    text = describe(criterion)
    if criterion.dimension == "disqualify":
        labels: np.ndarray | str = f"Disqualified: {text}"
        pts = np.zeros(len(rows))
    else:
        pts = points[rows]
        labels = _per_distinct(pts, lambda p: f"{text} ({format_points(p)})")
    values = counts[rows] if counts is not None else column_values(criterion, cache, rows)
    values = np.asarray(values, dtype=object)
    return _long_rows(rows, criterion.dimension, criterion.name, labels, pts, values)


def _per_distinct(values: np.ndarray, label: Callable[[float], str]) -> np.ndarray:
    """``label(v)`` for each value, formatted once per distinct value (points repeat a lot)."""
    distinct, inverse = np.unique(values, return_inverse=True)
    table = np.asarray([label(float(v)) for v in distinct], dtype=object)
    labels: np.ndarray = table[inverse.reshape(-1)]
    return labels


def _interest_rows(rule: InterestRule, decayed: np.ndarray, count: np.ndarray) -> pd.DataFrame:
    rows = np.flatnonzero(decayed != 0)
    counts, points = count[rows], decayed[rows]
    # One label per distinct (count, shown points, capped) triple, not per lead.
    shown = np.round(points, 1)
    is_capped = points >= rule.cap if rule.cap is not None else np.zeros(len(rows), dtype=bool)
    count_codes, _ = pd.factorize(counts)
    shown_codes, shown_values = pd.factorize(shown)
    key = (count_codes * len(shown_values) + shown_codes) * 2 + is_capped
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    table = np.asarray(
        [
            _interest_label(rule, int(c), float(p), bool(cap))
            for c, p, cap in zip(
                counts[first].tolist(),
                shown[first].tolist(),
                is_capped[first].tolist(),
                strict=True,
            )
        ],
        dtype=object,
    )
    labels = table[inverse.reshape(-1)] if len(rows) else np.empty(0, dtype=object)
    return _long_rows(
        rows, "interest", f"interest:{rule.kind}", labels, points, counts.astype(object)
    )


def _interest_label(rule: InterestRule, count: int, shown: float, is_capped: bool) -> str:
    return (
        f"{count} {kind_words(rule.kind, count)}, decaying by half every"
        f" {rule.half_life_days:g} days{' (capped)' if is_capped else ''} ({format_points(shown)})"
    )


def _cap_code(cap: Cap) -> str:
    return f"cap:{cap.dimension}" + (f":{cap.group}" if cap.group else "")


def _cap_rows(cap: Cap, adjustment: np.ndarray) -> pd.DataFrame:
    rows = np.flatnonzero(np.abs(adjustment) > 1e-12)
    words = _cap_words(cap)
    code = _cap_code(cap)
    labels = _per_distinct(np.round(adjustment[rows], 1), lambda a: f"{words} ({format_points(a)})")
    values = np.full(len(rows), None, dtype=object)
    return _long_rows(rows, cap.dimension, code, labels, adjustment[rows], values)
