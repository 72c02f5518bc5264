"""Forms of the scorecard editor. Each error names its field; the engine has the last word.

The forms turn what people type into the engine's dataclasses (``Criterion``, ``Cap``,
``InterestRule``, ``StatusRule``, ``GradeBands``); the draft services then run the engine's
own validation on the whole scorecard before anything is saved.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from leadsieve.engine.criteria import KIND_WORDS
from leadsieve.engine.types import (
    ACTIVITY_KINDS,
    ActivityCondition,
    Cap,
    Criterion,
    GradeBands,
    InterestRule,
    Scalar,
    StatusRule,
)
from leadsieve.leads.date_windows import validate_in_calendar
from leadsieve.scoring.drafts import ACTIVITY_FIELD, NOTE_MAX_LENGTH, FieldOption

DIMENSION_CHOICES = [
    ("fit", "Fit"),
    ("interest", "Interest"),
    ("readiness", "Readiness"),
    ("disqualify", "Disqualify (no points)"),
]
POINT_DIMENSION_CHOICES = DIMENSION_CHOICES[:3]
OPERATOR_CHOICES = [
    ("equal", "is"),
    ("one_of", "is one of"),
    ("not_one_of", "is not one of"),
    ("contains", "contains"),
    ("range", "is between (min / max)"),
    ("is_set", "is set"),
    ("is_empty", "is empty"),
    ("free_mail", "is a free-mail domain"),
]
OPERATOR_WORDS = dict(OPERATOR_CHOICES)
KIND_CHOICES = [(kind, KIND_WORDS[kind][1].capitalize()) for kind in ACTIVITY_KINDS]
TRUE_WORDS = frozenset({"yes", "true", "1", "y"})
FALSE_WORDS = frozenset({"no", "false", "0", "n"})


# Points, floors and caps stay far below float overflow: two criteria of 1e308 summed to inf.
POINTS_LIMIT = 10_000


def _optional_float(label: str, **kwargs: Any) -> forms.FloatField:
    return forms.FloatField(label=label, required=False, **kwargs)


class CriterionForm(forms.Form):
    """Add or edit one criterion: a condition on a field (or on activity counts) and points."""

    name = forms.SlugField(
        max_length=60, help_text="Short code, letters, digits, - and _ (shown in explanations)."
    )
    label = forms.CharField(
        max_length=120, required=False, help_text="Plain words for reps; blank: generated."
    )
    dimension = forms.ChoiceField(choices=DIMENSION_CHOICES)
    field = forms.ChoiceField(label="Field")
    operator = forms.ChoiceField(choices=OPERATOR_CHOICES, required=False)
    value = forms.CharField(
        max_length=500,
        required=False,
        help_text="For “is one of”, “is not one of” and “contains”: separate values by commas.",
    )
    min = _optional_float("Min")
    max = _optional_float("Max")
    points = forms.FloatField(
        initial=0,
        required=False,
        min_value=-POINTS_LIMIT,
        max_value=POINTS_LIMIT,
        help_text="May be negative. Disqualifiers give none.",
    )
    group = forms.SlugField(
        max_length=60, required=False, help_text="Criteria of one group share the group's cap."
    )
    activity_kind = forms.ChoiceField(
        label="Activity kind", choices=[("", "—"), *KIND_CHOICES], required=False
    )
    within_days = _optional_float("Within the last (days)", min_value=0.01)
    min_count = forms.IntegerField(label="At least (count)", min_value=1, initial=1, required=False)
    url_contains = forms.CharField(label="Page URL contains", max_length=200, required=False)
    subject_contains = forms.CharField(label="Subject contains", max_length=200, required=False)
    per_event = forms.BooleanField(
        label="Points per counted activity", required=False, help_text="Else once per lead."
    )

    def __init__(self, *args: Any, field_options: list[FieldOption], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.field_options = {option.column: option for option in field_options}
        grouped: dict[str, list[tuple[str, str]]] = {}
        for option in field_options:
            grouped.setdefault(option.group, []).append((option.column, option.label))
        field = self.fields["field"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", "Choose a field"), *grouped.items()]

    @staticmethod
    def initial_for(data: dict[str, Any]) -> dict[str, Any]:  # Any: a stored criterion
        """Form initial values from a stored criterion (``Criterion.to_dict()``)."""
        activity = data.get("activity") or {}
        value = data.get("value")
        if isinstance(value, list):
            value = ", ".join(_value_text(v) for v in value)
        elif value is not None:
            value = _value_text(value)
        is_activity = data.get("operator") == "activity"
        return {
            "name": data.get("name"),
            "label": data.get("label", ""),
            "dimension": data.get("dimension"),
            "field": ACTIVITY_FIELD if is_activity else data.get("column"),
            "operator": "" if is_activity else data.get("operator"),
            "value": value or "",
            "min": data.get("min"),
            "max": data.get("max"),
            "points": data.get("points", 0),
            "group": data.get("group") or "",
            "activity_kind": activity.get("kind", ""),
            "within_days": activity.get("within_days"),
            "min_count": activity.get("min_count", 1),
            "url_contains": activity.get("url_contains") or "",
            "subject_contains": activity.get("subject_contains") or "",
            "per_event": data.get("per_event", False),
        }

    def clean(self) -> dict[str, Any]:  # Any: cleaned values of mixed types
        data = super().clean() or {}
        column = data.get("field")
        if not column:
            return data
        option = self.field_options.get(column)
        if data.get("dimension") == "disqualify":
            data["points"] = 0.0
        elif data.get("points") is None:
            self.add_error("points", "Give the points: a number, negative to lower the score.")
        if option is not None and option.kind == "activity":
            self._clean_activity(data)
        else:
            self._clean_condition(data, option)
        return data

    def _clean_activity(self, data: dict[str, Any]) -> None:  # Any: cleaned values
        data["operator"] = "activity"
        if not data.get("activity_kind"):
            self.add_error("activity_kind", "Choose which activities to count.")
        if data.get("min_count") is None:
            data["min_count"] = 1

    def _clean_condition(self, data: dict[str, Any], option: FieldOption | None) -> None:  # Any
        operator = data.get("operator")
        if not operator:
            self.add_error("operator", "Choose an operator for this field.")
            return
        text = (data.get("value") or "").strip()
        kind = option.kind if option is not None else "text"
        if operator in ("equal", "contains", "one_of", "not_one_of") and not text:
            self.add_error("value", f"“{OPERATOR_WORDS[operator]}” needs a value.")
            return
        if operator == "range":
            low, high = data.get("min"), data.get("max")
            if low is None and high is None:
                self.add_error("min", "Give a min, a max, or both.")
            elif low is not None and high is not None and low > high:
                self.add_error("max", "Max must be at least min.")
            return
        if operator == "free_mail" and data["field"] != "email_domain":
            self.add_error("operator", "“is a free-mail domain” applies to the email domain.")
            return
        try:
            if operator in ("one_of", "not_one_of", "contains"):
                parts = [part.strip() for part in text.split(",") if part.strip()]
                data["parsed_value"] = tuple(_parse_value(part, kind) for part in parts)
            elif operator == "equal":
                data["parsed_value"] = _parse_value(text, kind)
        except ValidationError as error:
            self.add_error("value", error)

    def to_criterion(self) -> Criterion:
        """The criterion the valid form describes."""
        data = self.cleaned_data
        if data["operator"] == "activity":
            return Criterion(
                name=data["name"],
                dimension=data["dimension"],
                operator="activity",
                points=float(data["points"]),
                activity=ActivityCondition(
                    kind=data["activity_kind"],
                    within_days=data.get("within_days"),
                    url_contains=data.get("url_contains") or None,
                    subject_contains=data.get("subject_contains") or None,
                    min_count=int(data.get("min_count") or 1),
                ),
                per_event=bool(data.get("per_event")),
                group=data.get("group") or None,
                label=data.get("label") or "",
            )
        is_range = data["operator"] == "range"
        return Criterion(
            name=data["name"],
            dimension=data["dimension"],
            operator=data["operator"],
            points=float(data["points"]),
            column=data["field"],
            value=data.get("parsed_value"),
            min=data.get("min") if is_range else None,
            max=data.get("max") if is_range else None,
            group=data.get("group") or None,
            label=data.get("label") or "",
        )


def _value_text(value: Scalar) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _parse_value(text: str, kind: str) -> Scalar:
    """Typed text as the engine compares it: numbers for number fields, yes/no for booleans."""
    if kind == "number":
        try:
            number = float(text)
        except ValueError:
            raise ValidationError(f"“{text}” is not a number.") from None
        return int(number) if number.is_integer() else number
    if kind == "boolean":
        word = text.casefold()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise ValidationError(f"“{text}” is not yes or no.")
    return text


class RemoveCriterionForm(forms.Form):
    name = forms.SlugField(max_length=60)


class CapForm(forms.Form):
    """A bound on the sum of points of one group of a dimension, or of the whole dimension."""

    # The blank choice keeps an untouched extra row unchanged, so it is skipped, not refused.
    dimension = forms.ChoiceField(choices=[("", "—"), *POINT_DIMENSION_CHOICES])
    group = forms.SlugField(max_length=60, required=False, help_text="Blank: the whole dimension.")
    min = _optional_float("Floor", min_value=-POINTS_LIMIT, max_value=POINTS_LIMIT)
    max = _optional_float("Cap", min_value=-POINTS_LIMIT, max_value=POINTS_LIMIT)

    def clean(self) -> dict[str, Any]:  # Any: cleaned values of mixed types
        data = super().clean() or {}
        low, high = data.get("min"), data.get("max")
        if low is None and high is None and data.get("dimension"):
            self.add_error("max", "Give a cap, a floor, or both (or tick Delete).")
        elif low is not None and high is not None and low > high:
            self.add_error("max", "The cap must be at least the floor.")
        return data

    def to_cap(self) -> Cap:
        data = self.cleaned_data
        return Cap(data["dimension"], data.get("group") or None, data.get("max"), data.get("min"))


def _is_deleted(form: forms.Form) -> bool:
    form.is_valid()  # cleans the form once, so cleaned_data holds DELETE even when invalid
    return bool(form.cleaned_data.get("DELETE"))


class BaseCapFormSet(forms.BaseFormSet):  # type: ignore[type-arg]  # django-stubs: untyped base
    def clean(self) -> None:
        super().clean()
        seen: set[tuple[str, str]] = set()
        for form in self.forms:
            if not form.has_changed() or _is_deleted(form) or not form.is_valid():
                continue
            key = (form.cleaned_data["dimension"], form.cleaned_data.get("group") or "")
            if key in seen:
                form.add_error("group", "This dimension and group already have a cap above.")
            seen.add(key)

    def to_caps(self) -> list[Cap]:
        return [
            form.to_cap() for form in self.forms if form.has_changed() and not _is_deleted(form)
        ]


CapFormSet = forms.formset_factory(CapForm, formset=BaseCapFormSet, extra=2, can_delete=True)


def cap_initial(config: dict[str, Any]) -> list[dict[str, Any]]:  # Any: stored JSON
    return [
        {
            "dimension": c["dimension"],
            "group": c.get("group") or "",
            "min": c.get("min"),
            "max": c.get("max"),
        }
        for c in config.get("caps", [])
    ]


class InterestRulesForm(forms.Form):
    """Decaying interest points per activity kind: points per event, half-life, cap."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for kind, words in KIND_CHOICES:
            self.fields[f"{kind}__points"] = _optional_float(f"{words}: points per event")
            self.fields[f"{kind}__half_life_days"] = _optional_float(
                f"{words}: half-life (days)", min_value=0.01
            )
            self.fields[f"{kind}__cap"] = _optional_float(f"{words}: cap", min_value=0)

    @staticmethod
    def initial_for(config: dict[str, Any]) -> dict[str, Any]:  # Any: stored JSON
        initial: dict[str, Any] = {}  # Any: numbers
        for rule in config.get("interest_rules", []):
            for key in ("points", "half_life_days", "cap"):
                initial[f"{rule['kind']}__{key}"] = rule.get(key)
        return initial

    def rows(self) -> list[tuple[str, list[forms.BoundField]]]:
        """One table row per activity kind: its words and its three bound fields."""
        return [
            (words, [self[f"{kind}__{key}"] for key in ("points", "half_life_days", "cap")])
            for kind, words in KIND_CHOICES
        ]

    def clean(self) -> dict[str, Any]:  # Any: cleaned values of mixed types
        data = super().clean() or {}
        for kind, _ in KIND_CHOICES:
            points = data.get(f"{kind}__points")
            half_life = data.get(f"{kind}__half_life_days")
            cap = data.get(f"{kind}__cap")
            if points is None and (half_life is not None or cap is not None):
                self.add_error(f"{kind}__points", "Give the points, or clear the row.")
            elif points is not None and half_life is None:
                self.add_error(f"{kind}__half_life_days", "Give the half-life in days.")
        return data

    def to_rules(self) -> list[InterestRule]:
        data = self.cleaned_data
        return [
            InterestRule(
                kind,
                float(data[f"{kind}__points"]),
                float(data[f"{kind}__half_life_days"]),
                data.get(f"{kind}__cap"),
            )
            for kind, _ in KIND_CHOICES
            if data.get(f"{kind}__points") is not None
        ]


THRESHOLD_KEYS: tuple[str, ...] = ("min_fit", "min_interest", "min_readiness", "min_total")


class ThresholdsForm(forms.Form):
    """The MQL and SQL rules (every minimum given must hold) and the fit grade bands."""

    mql_min_fit = _optional_float("MQL: fit at least")
    mql_min_interest = _optional_float("MQL: interest at least")
    mql_min_readiness = _optional_float("MQL: readiness at least")
    mql_min_total = _optional_float("MQL: total at least")
    sql_min_fit = _optional_float("SQL: fit at least")
    sql_min_interest = _optional_float("SQL: interest at least")
    sql_min_readiness = _optional_float("SQL: readiness at least")
    sql_min_total = _optional_float("SQL: total at least")
    grade_a = forms.FloatField(label="Grade A: fit at least")
    grade_b = forms.FloatField(label="Grade B: fit at least")
    grade_c = forms.FloatField(label="Grade C: fit at least")

    @staticmethod
    def initial_for(config: dict[str, Any]) -> dict[str, Any]:  # Any: stored JSON
        initial: dict[str, Any] = {}  # Any: numbers
        for rule in reversed(config.get("thresholds", [])):  # the first rule of a status wins
            for key in THRESHOLD_KEYS:
                initial[f"{rule['status']}_{key}"] = rule.get(key)
        bands = config.get("grade_bands", {})
        initial.update({f"grade_{g}": bands.get(g) for g in ("a", "b", "c")})
        return initial

    def clean(self) -> dict[str, Any]:  # Any: cleaned values of mixed types
        data = super().clean() or {}
        a, b, c = data.get("grade_a"), data.get("grade_b"), data.get("grade_c")
        if a is not None and b is not None and b > a:
            self.add_error("grade_b", "Grade B cannot need more fit than grade A.")
        if b is not None and c is not None and c > b:
            self.add_error("grade_c", "Grade C cannot need more fit than grade B.")
        return data

    def to_thresholds(self) -> list[StatusRule]:
        rules = []
        for status in ("mql", "sql"):
            minimums = {key: self.cleaned_data.get(f"{status}_{key}") for key in THRESHOLD_KEYS}
            if any(value is not None for value in minimums.values()):
                rules.append(StatusRule(status, **minimums))
        return rules

    def to_grade_bands(self) -> GradeBands:
        data = self.cleaned_data
        return GradeBands(a=data["grade_a"], b=data["grade_b"], c=data["grade_c"])


class DraftForm(forms.Form):
    note = forms.CharField(
        max_length=NOTE_MAX_LENGTH, required=False, help_text="What this draft is about."
    )
    source = forms.IntegerField(
        required=False, min_value=1, widget=forms.HiddenInput, help_text="Blank: the active one."
    )


# A backtest scores leads as of up to ten years after creation: beyond, the dates overflow.
MAX_BACKTEST_DAYS = 3650


class BacktestForm(forms.Form):
    """The period of closed leads to backtest on: creation dates, both days included."""

    date_from = forms.DateField(
        label="Leads created from",
        widget=forms.DateInput({"type": "date"}),
        validators=[validate_in_calendar],
    )
    date_to = forms.DateField(
        label="to (included)",
        widget=forms.DateInput({"type": "date"}),
        validators=[validate_in_calendar],
    )
    days_after_creation = forms.FloatField(
        label="Score as of (days after creation)",
        min_value=0,
        max_value=MAX_BACKTEST_DAYS,
        initial=0,
        required=False,
        help_text="0: as each lead looked when it arrived.",
    )

    def clean(self) -> dict[str, Any]:  # Any: cleaned values of mixed types
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", "The end date must not come before the start date.")
        return data

    def period(self) -> tuple[datetime, datetime]:
        """``[start of date_from, start of the day after date_to)`` in the server's zone."""
        zone = timezone.get_current_timezone()
        start = datetime.combine(self.cleaned_data["date_from"], time.min, tzinfo=zone)
        end = datetime.combine(
            self.cleaned_data["date_to"] + timedelta(days=1), time.min, tzinfo=zone
        )
        return start, end

    def days(self) -> float:
        return float(self.cleaned_data.get("days_after_creation") or 0.0)


class PublishForm(forms.Form):
    note = forms.CharField(
        label="Publication note",
        max_length=NOTE_MAX_LENGTH,
        help_text="What changed and why: it stays with this version in the history.",
    )
    confirm = forms.BooleanField(
        label="Yes, make this draft the active scorecard and rescore every open lead",
        error_messages={"required": "Tick the box to confirm the publication."},
    )
