"""Forms of the team settings pages: every value is checked here, errors name the field."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import time
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from leadsieve.accounts.models import Team, User
from leadsieve.cadences.models import ExitCondition, StepChannel
from leadsieve.leads.date_windows import validate_in_calendar
from leadsieve.leads.models import Horizon
from leadsieve.routing.conditions import (
    LIST_OPERATORS,
    MAX_CONDITIONS,
    NO_VALUE_OPERATORS,
    OPERATORS,
)
from leadsieve.routing.models import RepProfile, SLAPolicy, Strategy
from leadsieve.routing.services import check_rule_conditions
from leadsieve.teamsettings.queries import OPERATOR_LABELS
from leadsieve.teamsettings.report import DEFAULT_PERIOD_DAYS, PERIOD_DAYS

WEEKDAYS = [
    (0, "Mon"),
    (1, "Tue"),
    (2, "Wed"),
    (3, "Thu"),
    (4, "Fri"),
    (5, "Sat"),
    (6, "Sun"),
]
# Suggested in the condition editor's field box; any lead column or custom.<key> is accepted.
SUGGESTED_FIELDS = (
    "country",
    "language",
    "rating",
    "status",
    "horizon",
    "fit_grade",
    "job_title",
    "company_name",
    "utm_source",
    "utm_campaign",
    "company.industry",
    "company.size",
    "company.country",
    "source.name",
    "campaign.name",
)
MAX_ABSENCE_DAYS = 366
CONDITION_NUMBER = re.compile(r"condition (\d+):")


def _date_input() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _time_input() -> forms.TimeInput:
    return forms.TimeInput(attrs={"type": "time"}, format="%H:%M")


class TeamPickerForm(forms.Form):
    """An admin chooses which team's settings to open (GET, works without JavaScript)."""

    team = forms.TypedChoiceField(coerce=int, label="Team")

    def __init__(self, *args: Any, teams: Sequence[Team], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].choices = [(t.pk, t.name) for t in teams]  # type: ignore[attr-defined]


class PeriodForm(forms.Form):
    """The consistency report's period (GET)."""

    days = forms.TypedChoiceField(
        coerce=int,
        choices=[(days, f"Last {days} days") for days in PERIOD_DAYS],
        initial=DEFAULT_PERIOD_DAYS,
        label="Period",
    )


class RuleForm(forms.Form):
    name = forms.CharField(max_length=120)
    position = forms.IntegerField(
        min_value=0,
        max_value=1_000_000,
        initial=0,
        help_text="Rules of every team run in this order, lowest first; the first match wins.",
    )
    is_active = forms.BooleanField(required=False, initial=True, label="Active")
    strategy = forms.ChoiceField(choices=Strategy.choices)
    named_owner = forms.ModelChoiceField(
        queryset=User.objects.none(),
        required=False,
        help_text="Only for the named-owner strategy.",
    )

    def __init__(self, *args: Any, members: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["named_owner"].queryset = members  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("strategy") == Strategy.NAMED_OWNER and not cleaned.get("named_owner"):
            self.add_error("named_owner", "Choose the rep who gets the leads of this rule.")
        return cleaned


class ConditionForm(forms.Form):
    """One condition of a rule: ``field`` ``op`` ``value`` (lists are comma-separated)."""

    field = forms.CharField(
        max_length=80,
        widget=forms.TextInput(attrs={"list": "condition-fields", "spellcheck": "false"}),
    )
    # A blank first choice keeps an untouched extra row unchanged, so it is not a condition.
    op = forms.ChoiceField(
        choices=[("", "–"), *((op, OPERATOR_LABELS[op]) for op in OPERATORS)], label="Test"
    )
    value = forms.CharField(max_length=500, required=False)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        op, value = cleaned.get("op"), (cleaned.get("value") or "").strip()
        if op and op not in NO_VALUE_OPERATORS and not value:
            self.add_error("value", "Give a value to compare with.")
        return cleaned

    def to_condition(self) -> dict[str, Any]:
        data = self.cleaned_data
        condition: dict[str, Any] = {"field": data["field"].strip(), "op": data["op"]}
        value = (data.get("value") or "").strip()
        if data["op"] in LIST_OPERATORS:
            condition["value"] = [part.strip() for part in value.split(",") if part.strip()]
        elif data["op"] not in NO_VALUE_OPERATORS:
            condition["value"] = value
        return condition

    @staticmethod
    def initial_for(condition: dict[str, Any]) -> dict[str, Any]:
        value = condition.get("value")
        if isinstance(value, list):
            value = ", ".join(str(item) for item in value)
        return {
            "field": condition.get("field", ""),
            "op": condition.get("op", "eq"),
            "value": "" if value is None else str(value),
        }


class BaseConditionFormSet(forms.BaseFormSet):  # type: ignore[type-arg]
    """Condition rows; the kept ones are checked together by routing's own check."""

    def add_fields(self, form: forms.Form, index: int | None) -> None:
        super().add_fields(form, index)
        row = "new condition" if index is None else f"condition {index + 1}"
        for name, field in form.fields.items():
            label = "Remove" if name == "DELETE" else (field.label or name.capitalize())
            field.widget.attrs["aria-label"] = f"{label}, {row}"

    def conditions(self) -> list[dict[str, Any]]:
        return [form.to_condition() for form in self._kept()]

    def _kept(self) -> list[ConditionForm]:
        return [
            form
            for form in self.forms
            if form.has_changed() and not form.cleaned_data.get("DELETE")
        ]

    def clean(self) -> None:
        super().clean()
        if any(form.errors for form in self.forms):
            return
        try:
            check_rule_conditions(self.conditions())
        except ValueError as error:
            message = str(error)
            found = CONDITION_NUMBER.match(message)
            kept = self._kept()
            if found and 0 < int(found.group(1)) <= len(kept):
                kept[int(found.group(1)) - 1].add_error(None, message)
            raise ValidationError(message) from None


ConditionFormSet = forms.formset_factory(
    ConditionForm,
    formset=BaseConditionFormSet,
    extra=2,
    can_delete=True,
    max_num=MAX_CONDITIONS,
    validate_max=True,
)


class RepProfileForm(forms.Form):
    accepts_leads = forms.BooleanField(required=False, label="Takes new leads")
    max_new_per_day = forms.IntegerField(
        min_value=0, max_value=10_000, label="Max new leads per day"
    )
    max_open = forms.IntegerField(min_value=0, max_value=100_000, label="Max open leads")
    weight = forms.IntegerField(
        min_value=1, max_value=100, help_text="Share of leads under weighted round robin."
    )
    work_days = forms.TypedMultipleChoiceField(
        choices=WEEKDAYS, coerce=int, widget=forms.CheckboxSelectMultiple, label="Working days"
    )
    work_start = forms.TimeField(widget=_time_input(), label="Starts at")
    work_end = forms.TimeField(widget=_time_input(), label="Ends at")

    @classmethod
    def initial_for(cls, profile: RepProfile | None) -> dict[str, Any]:
        source = profile or RepProfile()
        values = {name: getattr(source, name) for name in cls.base_fields}
        if isinstance(values["work_start"], str):  # an unsaved profile holds the text default
            values["work_start"] = time.fromisoformat(values["work_start"])
            values["work_end"] = time.fromisoformat(values["work_end"])
        return values

    def clean_work_days(self) -> list[int]:
        return sorted(set(self.cleaned_data["work_days"]))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("work_start"), cleaned.get("work_end")
        if start is not None and end is not None and end <= start:
            self.add_error("work_end", "The working day must end after it starts.")
        return cleaned


class AbsenceForm(forms.Form):
    member = forms.ModelChoiceField(queryset=User.objects.none(), label="Rep")
    starts_on = forms.DateField(
        widget=_date_input(), label="From", validators=[validate_in_calendar]
    )
    ends_on = forms.DateField(
        widget=_date_input(), label="To (inclusive)", validators=[validate_in_calendar]
    )
    reason = forms.CharField(max_length=120, required=False)

    def __init__(self, *args: Any, members: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["member"].queryset = members  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        starts, ends = cleaned.get("starts_on"), cleaned.get("ends_on")
        if starts is not None and ends is not None:
            if ends < starts:
                self.add_error("ends_on", "The absence must end on or after its first day.")
            elif (ends - starts).days >= MAX_ABSENCE_DAYS:
                self.add_error("ends_on", f"An absence lasts at most {MAX_ABSENCE_DAYS} days.")
        return cleaned


class HolidayForm(forms.Form):
    day = forms.DateField(widget=_date_input(), validators=[validate_in_calendar])
    name = forms.CharField(max_length=120, required=False)


class DeadlineForm(forms.Form):
    first_response_hours = forms.FloatField(
        min_value=0.25, max_value=720, label="First response within (working hours)"
    )
    next_touch_days = forms.IntegerField(
        min_value=1, max_value=365, label="Then a touch every (working days)"
    )
    at_risk_percent = forms.IntegerField(
        min_value=1, max_value=99, label="At risk after (% of the time)"
    )
    escalate_after_hours = forms.FloatField(
        min_value=0, max_value=720, label="Tell the manager after (working hours past breach)"
    )
    reassign_on_breach = forms.BooleanField(required=False, label="Reassign on breach")
    reassign_after_hours = forms.FloatField(
        min_value=0, max_value=720, label="Reassign after (working hours past breach)"
    )

    @classmethod
    def initial_for(cls, policy: SLAPolicy) -> dict[str, Any]:
        return {name: getattr(policy, name) for name in cls.base_fields}


class CadenceForm(forms.Form):
    """The head of a cadence draft: its name, horizon and exit conditions."""

    name = forms.CharField(max_length=120)
    horizon = forms.ChoiceField(choices=Horizon.choices)
    exit_on = forms.MultipleChoiceField(
        choices=ExitCondition.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="The lead leaves the cadence when",
    )


class NewCadenceForm(CadenceForm):
    key = forms.SlugField(
        max_length=60,
        help_text="Enrolment rules name the cadence by this key, e.g. call-now or nurture.",
    )
    field_order = ("key", "name", "horizon", "exit_on")

    def __init__(self, *args: Any, taken_keys: Sequence[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.taken_keys = set(taken_keys)

    def clean_key(self) -> str:
        key = str(self.cleaned_data["key"])
        if key in self.taken_keys:
            raise ValidationError("The team already has a cadence with this key: edit it instead.")
        return key


class StepForm(forms.Form):
    # A blank first choice keeps an untouched extra row unchanged, so it is not a step.
    channel = forms.ChoiceField(choices=[("", "–"), *StepChannel.choices])
    delay_days = forms.IntegerField(
        min_value=0, max_value=365, initial=0, label="Delay (working days)"
    )
    instruction = forms.CharField(max_length=300, required=False)
    email_subject = forms.CharField(
        max_length=200, required=False, widget=forms.TextInput(attrs={"placeholder": "Subject"})
    )
    email_body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "Hello {first_name}, …"}),
        required=False,
        help_text="{first_name} and {company} are filled in.",
    )
    send_automatically = forms.BooleanField(required=False, label="Send automatically")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("send_automatically"):
            if cleaned.get("channel") != StepChannel.EMAIL:
                self.add_error("send_automatically", "Only email steps can be sent automatically.")
            elif not cleaned.get("email_subject") or not cleaned.get("email_body"):
                self.add_error("email_body", "An automatic email needs a subject and a body.")
        return cleaned


class BaseStepFormSet(forms.BaseFormSet):  # type: ignore[type-arg]
    """Steps shown as table rows: each input is named for screen readers by its column."""

    def add_fields(self, form: forms.Form, index: int | None) -> None:
        super().add_fields(form, index)
        step = "new step" if index is None else f"step {index + 1}"
        for name, field in form.fields.items():
            label = {"ORDER": "Order", "DELETE": "Remove"}.get(name, field.label or name)
            field.widget.attrs["aria-label"] = f"{label}, {step}"


StepFormSet = forms.formset_factory(
    StepForm,
    formset=BaseStepFormSet,
    extra=2,
    can_delete=True,
    can_order=True,
    min_num=1,
    validate_min=True,
    max_num=30,
)


def conditions_from_formset(formset: Any) -> list[dict[str, Any]]:
    """The kept condition rows of a valid ``ConditionFormSet`` as routing stores them."""
    return formset.conditions()  # type: ignore[no-any-return]


def steps_from_formset(formset: Any) -> list[dict[str, Any]]:
    """The kept steps in the order given (``ORDER``), as ``publish_cadence`` takes them."""
    names = ("channel", "delay_days", "instruction", "email_subject", "email_body")
    steps = []
    for form in formset.ordered_forms:
        step = {name: form.cleaned_data[name] for name in names}
        step["send_automatically"] = bool(form.cleaned_data.get("send_automatically"))
        steps.append(step)
    return steps
