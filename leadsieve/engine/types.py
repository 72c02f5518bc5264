"""Plain data the engine takes and returns: frozen dataclasses that serialise to JSON.

The Django side stores a scorecard as JSON (``Scorecard.to_dict()``), so every configuration
object here has ``to_dict()`` / ``from_dict()`` that round-trip exactly. Nothing in this module
validates: a scorecard is validated when it scores (``InvalidScorecard`` names the criterion),
so that a team can save a draft and see every problem at once in the editor.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal, TypedDict

ENGINE_VERSION = "0.1.0"

DIMENSIONS: tuple[str, ...] = ("fit", "interest", "readiness", "disqualify")
OPERATORS: tuple[str, ...] = (
    "equal",
    "one_of",
    "not_one_of",
    "range",
    "contains",
    "is_empty",
    "is_set",
    "free_mail",
    "activity",
)
ACTIVITY_KINDS: tuple[str, ...] = (
    "form_submit",
    "page_visit",
    "email_sent",
    "email_opened",
    "email_clicked",
    "email_replied",
    "call",
    "meeting",
    "note",
    "capture",
    "social",
)
STATUSES: tuple[str, ...] = ("new", "mql", "sql", "disqualified")
HORIZONS: tuple[str, ...] = ("short", "long")
FEATURE_KINDS: tuple[str, ...] = ("categorical", "numeric", "bool")
# The conversion model's derived column "which of the often-blank fields the lead filled in"
# (``features.FeatureEncoder``); explanations name it, so it lives here, free of scikit-learn.
ANSWERS = "(answers)"

Dimension = Literal["fit", "interest", "readiness", "disqualify"]
# JSON scalars a criterion compares against (Any would hide mistakes; this is the real set).
Scalar = str | float | int | bool | None


@dataclass(frozen=True)
class Reason:
    """One line of an explanation: what added or removed points, in plain words.

    ``label`` is shown to reps as is; ``code`` is stable (criterion name, ``interest:<kind>``,
    ``cap:<scope>``...) so the UI can link or group; ``value`` is the lead's value that matched.
    """

    dimension: str
    code: str
    label: str
    points: float
    value: Scalar = None


@dataclass(frozen=True)
class ActivityCondition:
    """Which of a lead's activities a criterion counts, and how many are needed to match.

    Only events at or before the lead's cut-off time and at most ``within_days`` old count.
    """

    kind: str
    within_days: float | None = None
    url_contains: str | None = None
    subject_contains: str | None = None
    min_count: int = 1


@dataclass(frozen=True)
class Criterion:
    """One rule of the scorecard: a condition on a lead column (or its activities) and points.

    ``dimension='disqualify'`` criteria give no points: a match disqualifies the lead and the
    criterion's label becomes the status reason. ``per_event`` multiplies the points by the
    number of counted activities (then group and dimension caps bound the sum).
    """

    name: str
    dimension: str
    operator: str
    points: float = 0.0
    column: str | None = None
    value: Scalar | tuple[Scalar, ...] = None
    min: float | None = None
    max: float | None = None
    activity: ActivityCondition | None = None
    per_event: bool = False
    group: str | None = None
    label: str = ""

    def to_dict(self) -> dict[str, Any]:  # Any: JSON values of mixed types
        data = asdict(self)
        if isinstance(self.value, tuple):
            data["value"] = list(self.value)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Criterion:  # Any: parsed JSON
        data = dict(data)
        if isinstance(data.get("value"), list):
            data["value"] = tuple(data["value"])
        if data.get("activity") is not None:
            data["activity"] = ActivityCondition(**data["activity"])
        return cls(**data)


@dataclass(frozen=True)
class InterestRule:
    """Points per event of one activity kind, halved every ``half_life_days``, capped per kind."""

    kind: str
    points: float
    half_life_days: float
    cap: float | None = None


@dataclass(frozen=True)
class Cap:
    """Bounds on a sum of points: of one group of a dimension, or of the whole dimension."""

    dimension: str
    group: str | None = None
    max: float | None = None
    min: float | None = None


@dataclass(frozen=True)
class GradeBands:
    """Fit points needed for grades A, B and C; anything lower is D."""

    a: float = 40.0
    b: float = 25.0
    c: float = 10.0


@dataclass(frozen=True)
class StatusRule:
    """Minimums that must all hold for a lead to reach ``status`` ('mql' or 'sql')."""

    status: str
    min_fit: float | None = None
    min_interest: float | None = None
    min_readiness: float | None = None
    min_total: float | None = None


@dataclass(frozen=True)
class HorizonRule:
    """When a lead is short-range (ready to decide now) rather than long-range.

    Short when the timeline column holds one of ``short_timelines`` or readiness reaches
    ``min_readiness``. A long-range lead with at least ``jump_events`` engagement events
    (kinds in ``jump_kinds``) in the last ``jump_days`` days flips to short.
    """

    timeline_column: str = "timeline"
    short_timelines: tuple[str, ...] = ("now", "quarter")
    min_readiness: float = 30.0
    jump_events: int = 3
    jump_days: float = 7.0
    jump_kinds: tuple[str, ...] = (
        "form_submit",
        "page_visit",
        "email_clicked",
        "email_replied",
        "call",
        "meeting",
    )

    def to_dict(self) -> dict[str, Any]:  # Any: JSON values of mixed types
        data = asdict(self)
        data["short_timelines"] = list(self.short_timelines)
        data["jump_kinds"] = list(self.jump_kinds)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HorizonRule:  # Any: parsed JSON
        data = dict(data)
        data["short_timelines"] = tuple(data["short_timelines"])
        data["jump_kinds"] = tuple(data["jump_kinds"])
        return cls(**data)


@dataclass(frozen=True)
class RatingMap:
    """The monotone scorecard→probability mapping used before a team has closed history.

    ``p = 1 / (1 + exp(-(intercept + fit*fit_points + interest*interest_points
    + readiness*readiness_points)))``; a disqualified lead gets ``disqualified_p``.
    The defaults put an empty lead at 5 % and a lead with 50 fit, 30 interest and 30 readiness
    points at about 65 %; ``calibrate.fit_rating_map`` refits them on a team's backtest.
    """

    intercept: float = -2.944
    fit: float = 0.03
    interest: float = 0.025
    readiness: float = 0.025
    disqualified_p: float = 0.01


@dataclass(frozen=True)
class FeatureColumn:
    """One lead column the conversion model may use, its kind, and whether it leaks."""

    name: str
    kind: str
    post_contact: bool = False


@dataclass(frozen=True)
class FeatureSpec:
    """The columns a ``ConversionModel`` sees. Post-contact columns are never features."""

    columns: tuple[FeatureColumn, ...] = field(default_factory=tuple)

    @property
    def usable(self) -> tuple[FeatureColumn, ...]:
        """Columns known at first contact: the only ones a model is fitted on."""
        return tuple(c for c in self.columns if not c.post_contact)

    def to_dict(self) -> dict[str, Any]:  # Any: JSON values of mixed types
        return {"columns": [asdict(c) for c in self.columns]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureSpec:  # Any: parsed JSON
        return cls(columns=tuple(FeatureColumn(**c) for c in data["columns"]))


class ScoreDict(TypedDict):
    """One row of ``Scorecard.score`` as the Django adapter stores it."""

    fit_points: float
    fit_grade: str
    interest_points: float
    readiness_points: float
    status: str
    status_reason: str
    horizon: str
    horizon_reason: str
    rating: int
    rating_source: str
    probability: float
