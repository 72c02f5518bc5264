"""Forms of the routing-rule and deadline editors (under Team settings): errors name the field."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from leadsieve.accounts.models import User
from leadsieve.routing.conditions import (
    LIST_OPERATORS,
    MAX_CONDITIONS,
    NO_VALUE_OPERATORS,
    OPERATORS,
)
from leadsieve.routing.models import DeadlinePolicy, Strategy
from leadsieve.routing.queries import OPERATOR_LABELS
from leadsieve.routing.services import check_rule_conditions

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


CONDITION_NUMBER = re.compile(r"condition (\d+):")


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


def conditions_from_formset(formset: Any) -> list[dict[str, Any]]:
    """The kept condition rows of a valid ``ConditionFormSet`` as routing stores them."""
    return formset.conditions()  # type: ignore[no-any-return]


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
    def initial_for(cls, policy: DeadlinePolicy) -> dict[str, Any]:
        return {name: getattr(policy, name) for name in cls.base_fields}
