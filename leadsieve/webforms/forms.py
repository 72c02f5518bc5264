"""Validation of a public form post: the form's own fields, tracking fields and nothing else.

Everything here treats the post as hostile: unknown names, repeated names, over-long
values and NUL bytes are refused with a message naming the field. Normalising and
deduplicating is not done here: ``leadsieve.leads.capture.capture_lead`` owns that.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, TypedDict

from django import forms
from django.http import QueryDict

from leadsieve.leads.models import Lead
from leadsieve.webforms.fields import FieldSpec
from leadsieve.webforms.models import WebForm
from leadsieve.webforms.theme import LOGO_MAX_BYTES, prepare_logo

HONEYPOT_FIELD = "fax"
TRACKING_FIELDS = (
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "landing_page",
    "referrer",
)
CONSENT_FIELD = "consent"
NAME_SHOWN_MAX = 60
NUMBER_MAX_DIGITS = 14


class ErrorDict(TypedDict):
    field: str
    message: str


def _widget(spec: FieldSpec) -> forms.Widget:
    if spec.type == "textarea":
        return forms.Textarea(attrs={"rows": 4})
    if spec.type == "email":
        return forms.EmailInput()
    if spec.type == "url":
        return forms.URLInput()
    if spec.type == "tel":
        return forms.TextInput(attrs={"type": "tel"})
    return forms.TextInput()


def _form_field(spec: FieldSpec) -> forms.Field:
    common: dict[str, Any] = {
        "required": spec.required,
        "label": spec.label,
        "help_text": spec.help,
    }
    if spec.type == "checkbox":
        return forms.BooleanField(**common)
    if spec.type == "number":
        return forms.DecimalField(max_digits=NUMBER_MAX_DIGITS, decimal_places=2, **common)
    if spec.type == "select":
        choices = [("", "—"), *spec.choices]
        return forms.ChoiceField(choices=choices, **common)
    return forms.CharField(max_length=spec.max_length, widget=_widget(spec), **common)


class SubmissionForm(forms.Form):
    """The Django form for one ``WebForm``: its fields, the consent box, tracking fields."""

    def __init__(self, web_form: WebForm, data: QueryDict | None = None) -> None:
        super().__init__(data, auto_id="ls_%s")
        self.web_form = web_form
        self.specs = web_form.field_specs()
        for spec in self.specs:
            self.fields[spec.name] = _form_field(spec)
        if web_form.consent_text:
            self.fields[CONSENT_FIELD] = forms.BooleanField(
                required=True,
                label=web_form.consent_text,
                error_messages={"required": "Please tick this box to agree."},
            )
        for name in TRACKING_FIELDS:
            limit = getattr(Lead._meta.get_field(name), "max_length", None)
            self.fields[name] = forms.CharField(
                required=False, max_length=limit, widget=forms.HiddenInput()
            )
        self.fields[HONEYPOT_FIELD] = forms.CharField(required=False, max_length=200)

    def visible_fields_for_page(self) -> list[forms.BoundField]:
        hidden = {HONEYPOT_FIELD, *TRACKING_FIELDS}
        return [self[name] for name in self.fields if name not in hidden]

    def is_spam(self) -> bool:
        """A bot filled the field no person can see."""
        return bool(self.data.get(HONEYPOT_FIELD, "").strip()) if self.data else False

    def strict_errors(self) -> list[ErrorDict]:
        """Names this form does not define, and names sent more than once."""
        errors: list[ErrorDict] = []
        if not isinstance(self.data, QueryDict):
            return errors
        for name in self.data:
            shown = name[:NAME_SHOWN_MAX]
            if name not in self.fields:
                errors.append({"field": shown, "message": "Unknown field."})
            elif len(self.data.getlist(name)) > 1:
                errors.append({"field": shown, "message": "Sent more than once."})
        return errors

    def error_list(self) -> list[ErrorDict]:
        return [
            {"field": name, "message": str(message)}
            for name, messages in self.errors.items()
            for message in messages
        ]

    def capture_values(self) -> dict[str, Any]:
        """The cleaned post as ``capture_lead`` values (lead fields, ``custom``, consent)."""
        data = self.cleaned_data
        values: dict[str, Any] = {}
        custom: dict[str, Any] = {}
        for spec in self.specs:
            value = data.get(spec.name)
            if value in (None, ""):
                continue
            if spec.is_custom:
                custom[spec.custom_key] = _json_value(value)
            elif isinstance(value, Decimal):
                # Capture reads money as text (its own parser); never a float on the way.
                values[spec.name] = str(value)
            else:
                values[spec.name] = value
        if custom:
            values["custom"] = custom
        if self.web_form.consent_text and data.get(CONSENT_FIELD):
            values["consent"] = True
            values["consent_text"] = self.web_form.consent_text[:300]
        for name in TRACKING_FIELDS:
            if data.get(name):
                values[name] = data[name]
        return values

    def tracking(self) -> dict[str, str]:
        data = self.cleaned_data
        return {name: data[name] for name in TRACKING_FIELDS if data[name]}


def _json_value(value: Any) -> Any:
    """Custom fields live in a JSON column: decimals become numbers."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


class LogoFormFields(forms.Form):
    """The logo upload of a web form's editor (the intake page and the admin alike).

    Mixed into a ``ModelForm`` of ``WebForm``: the picture is checked and re-encoded when
    the form is cleaned (``prepare_logo``), so a refused file is an error on this field
    and nothing is saved; ``apply_logo`` puts the result on the instance before it is saved.
    """

    logo_file = forms.FileField(
        required=False,
        label="Logo",
        help_text=(
            f"PNG, JPEG, GIF or WebP, up to {LOGO_MAX_BYTES // 1024 // 1024} MB; shown at the "
            "top of the form page (stored as a PNG of at most 480×160 pixels)."
        ),
    )
    remove_logo = forms.BooleanField(required=False, label="Remove the logo")

    def clean_logo_file(self) -> bytes | None:
        upload = self.cleaned_data.get("logo_file")
        if not upload:
            return None
        if upload.size is not None and upload.size > LOGO_MAX_BYTES:
            raise forms.ValidationError(
                f"The logo is {upload.size / 1024 / 1024:.1f} MB; the limit is "
                f"{LOGO_MAX_BYTES // 1024 // 1024} MB."
            )
        return prepare_logo(upload.read())

    def apply_logo(self, web_form: WebForm) -> WebForm:
        if self.cleaned_data.get("remove_logo"):
            web_form.logo = None
        elif self.cleaned_data.get("logo_file"):
            web_form.logo = self.cleaned_data["logo_file"]
        return web_form


ACCENT_WIDGET = forms.TextInput(attrs={"type": "color"})
THEME_FIELDS = ("intro", "submit_label", "accent_color")
THEME_LABELS = {"intro": "Introduction", "submit_label": "Button", "accent_color": "Colour"}
