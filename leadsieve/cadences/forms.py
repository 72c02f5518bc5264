"""Forms of the cadence editor (under Team settings): a draft's head and its steps."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from leadsieve.cadences.models import ExitCondition, StepChannel
from leadsieve.leads.models import Horizon


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


def steps_from_formset(formset: Any) -> list[dict[str, Any]]:
    """The kept steps in the order given (``ORDER``), as ``publish_cadence`` takes them."""
    names = ("channel", "delay_days", "instruction", "email_subject", "email_body")
    steps = []
    for form in formset.ordered_forms:
        step = {name: form.cleaned_data[name] for name in names}
        step["send_automatically"] = bool(form.cleaned_data.get("send_automatically"))
        steps.append(step)
    return steps
