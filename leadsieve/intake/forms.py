"""Validation of the forms and import pages: every error names the field it is about."""

from __future__ import annotations

import json
import re
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.utils.text import slugify

from leadsieve.accounts.models import Team
from leadsieve.intake.models import ImportJob, OnError
from leadsieve.intake.services import UPLOAD_SUFFIXES
from leadsieve.leads.importing.mapping import CUSTOM_PREFIX, TARGETS
from leadsieve.leads.models import Campaign, Lead, Source
from leadsieve.webforms.forms import ACCENT_WIDGET, THEME_FIELDS, THEME_LABELS, LogoFormFields
from leadsieve.webforms.models import WebForm

DEFAULT_FORM_FIELDS: list[dict[str, Any]] = [
    {"name": "email", "label": "Work email", "required": True},
    {"name": "first_name", "label": "First name"},
    {"name": "last_name", "label": "Last name"},
    {"name": "company_name", "label": "Company"},
]
IGNORE = ""
CUSTOM = "custom"
# A lead needs one of these (capture refuses a row with none of them).
IDENTITY_TARGETS = ("email", "phone", "external_id", "first_name", "last_name")
COLUMN_ALIASES: dict[str, str] = {
    "e_mail": "email",
    "email_address": "email",
    "mail": "email",
    "firstname": "first_name",
    "first": "first_name",
    "given_name": "first_name",
    "lastname": "last_name",
    "last": "last_name",
    "surname": "last_name",
    "family_name": "last_name",
    "company": "company_name",
    "organisation": "company_name",
    "organization": "company_name",
    "title": "job_title",
    "phone_number": "phone",
    "telephone": "phone",
    "mobile": "phone",
    "url": "website",
}


class PrettyJSONField(forms.JSONField):
    """A JSON text area that shows the stored list indented, one field per block."""

    def prepare_value(self, value: Any) -> str:
        if isinstance(value, forms.fields.InvalidJSONInput):
            return str(value)
        return json.dumps(value, ensure_ascii=False, indent=2)


class CampaignChoiceField(forms.ModelChoiceField[Campaign]):
    def label_from_instance(self, obj: Campaign) -> str:
        return f"{obj.source.name} · {obj.name}"


class WebFormForm(LogoFormFields, forms.ModelForm[WebForm]):
    fields_json = PrettyJSONField(
        label="Fields",
        help_text=(
            'An ordered JSON list; each item: "name" (a lead field such as email, first_name, '
            'phone, company_name, need, budget, timeline, or custom.<key>), "label", "type", '
            '"required", "help", "choices" (for selects). See docs/webforms.md.'
        ),
        widget=forms.Textarea(attrs={"rows": 12, "spellcheck": "false", "class": "code"}),
    )
    allowed_origins_text = forms.CharField(
        label="Allowed origins",
        required=False,
        help_text="Sites that may post the form, one per line, e.g. https://www.example.com. "
        "Empty: any site.",
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
    )

    class Meta:
        model = WebForm
        fields = [
            "name",
            "slug",
            "source",
            "campaign",
            "team",
            "thank_you_url",
            "thank_you_message",
            "consent_text",
            "is_active",
            *THEME_FIELDS,
        ]
        widgets = {"accent_color": ACCENT_WIDGET}
        labels = {
            **THEME_LABELS,
            "thank_you_url": "Thank-you URL",
            "thank_you_message": "Thank-you message",
            "consent_text": "Consent wording",
            "is_active": "Active (accepts posts)",
        }

    def __init__(self, *args: Any, may_choose_team: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        instance = self.instance
        self.fields["fields_json"].initial = instance.fields if instance.pk else DEFAULT_FORM_FIELDS
        self.fields["allowed_origins_text"].initial = "\n".join(
            str(o) for o in (instance.allowed_origins or [])
        )
        self.fields["slug"].help_text = "The form's address: /f/<slug>/ (letters, digits, -)."
        source_field = self.fields["source"]
        assert isinstance(source_field, forms.ModelChoiceField)
        source_field.queryset = Source.objects.order_by("name")
        self.fields["campaign"] = CampaignChoiceField(
            queryset=Campaign.objects.select_related("source").order_by("source__name", "name"),
            required=False,
            label="Campaign",
        )
        if may_choose_team:
            team_field = self.fields["team"]
            assert isinstance(team_field, forms.ModelChoiceField)
            team_field.queryset = Team.objects.order_by("name")
        else:
            del self.fields["team"]

    def clean_allowed_origins_text(self) -> list[str]:
        text = self.cleaned_data.get("allowed_origins_text") or ""
        return [line.strip() for line in text.splitlines() if line.strip()]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        campaign = cleaned.get("campaign")
        source = cleaned.get("source")
        if campaign is not None and source is not None and campaign.source_id != source.pk:
            self.add_error("campaign", f"This campaign belongs to {campaign.source.name}.")
        # The model validates both lists (each problem with its position) when the form
        # validates the instance, right after this; hand them over first.
        if "fields_json" in cleaned:
            self.instance.fields = cleaned["fields_json"]
        if "allowed_origins_text" in cleaned:
            self.instance.allowed_origins = cleaned["allowed_origins_text"]
        return cleaned

    def add_error(self, field: str | None, error: Any) -> None:
        # The model names its lists "fields" and "allowed_origins"; show them on our widgets.
        if isinstance(error, forms.ValidationError) and hasattr(error, "error_dict"):
            renamed = {
                {"fields": "fields_json", "allowed_origins": "allowed_origins_text"}.get(k, k): v
                for k, v in error.error_dict.items()
            }
            error = forms.ValidationError(renamed)
        super().add_error(field, error)


class UploadForm(forms.Form):
    file = forms.FileField(
        label="CSV or XLSX file",
        help_text="The first row names the columns. Encoding and delimiter are detected.",
        widget=forms.ClearableFileInput(attrs={"accept": ",".join(UPLOAD_SUFFIXES)}),
    )
    team = forms.ModelChoiceField(
        queryset=Team.objects.none(),
        required=False,
        empty_label="— routing decides —",
        help_text="Team the imported leads join.",
    )

    def __init__(self, *args: Any, may_choose_team: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if may_choose_team:
            team_field = self.fields["team"]
            assert isinstance(team_field, forms.ModelChoiceField)
            team_field.queryset = Team.objects.order_by("name")
        else:
            del self.fields["team"]

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        limit = settings.LEADSIEVE_IMPORT_MAX_BYTES
        if upload.size > limit:
            raise forms.ValidationError(
                f"The file is {upload.size:,} bytes; the limit is {limit:,} bytes "
                "(import larger files with leadsieve import-leads)."
            )
        name = str(upload.name or "")
        if not name.lower().endswith(UPLOAD_SUFFIXES):
            raise forms.ValidationError("Upload a .csv or .xlsx file.")
        return upload


def _target_label(target: str) -> str:
    try:
        field = Lead._meta.get_field(target)
    except FieldDoesNotExist:  # names the importer knows that are not Lead columns
        return target.replace("_", " ").capitalize()
    return str(getattr(field, "verbose_name", target)).capitalize()


def target_choices() -> list[tuple[str, str]]:
    named = sorted(TARGETS, key=_target_label)
    return [
        (IGNORE, "— ignore —"),
        (CUSTOM, "Keep as a custom field"),
        *[(t, f"{_target_label(t)} ({t})") for t in named],
    ]


def guess_target(column: str) -> str:
    """The lead field a column's name suggests, or ignore."""
    key = re.sub(r"[^a-z0-9]+", "_", column.strip().lower()).strip("_")
    if key in TARGETS:
        return key
    return COLUMN_ALIASES.get(key, IGNORE)


def custom_key(column: str) -> str:
    return slugify(column).replace("-", "_")[:60]


class MappingForm(forms.Form):
    """One choice per file column, then constants and the error mode."""

    source_name = forms.CharField(
        label="Source",
        required=False,
        max_length=120,
        help_text="Every lead of this file comes from this source (created if new).",
    )
    campaign_name = forms.CharField(
        label="Campaign",
        required=False,
        max_length=160,
        help_text="Optional; needs a source.",
    )
    on_error = forms.ChoiceField(
        label="Bad rows",
        choices=OnError.choices,
        initial=OnError.SKIP,
        widget=forms.RadioSelect,
    )

    def __init__(self, *args: Any, job: ImportJob, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.job = job
        choices = target_choices()
        self.column_names: list[tuple[str, str]] = []
        for position, column in enumerate(job.header):
            name = f"col_{position}"
            self.fields[name] = forms.ChoiceField(
                label=column or f"Column {position + 1}",
                choices=choices,
                required=False,
                initial=guess_target(column),
            )
            self.column_names.append((name, column))

    def column_fields(self) -> list[forms.BoundField]:
        return [self[name] for name, _ in self.column_names]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        columns: dict[str, str] = {}
        first_field: dict[str, str] = {}
        for name, column in self.column_names:
            target = cleaned.get(name) or IGNORE
            if target == IGNORE:
                continue
            if not column:
                self.add_error(name, "This column has no name in the file; it can only be ignored.")
                continue
            if target == CUSTOM:
                key = custom_key(column)
                if not key:
                    self.add_error(name, "Its name has no letter or digit to make a field key.")
                    continue
                target = f"{CUSTOM_PREFIX}{key}"
            if target in first_field:
                self.add_error(
                    name, f"{target} is already mapped from column {first_field[target]!r}."
                )
                continue
            first_field[target] = column
            columns[column] = target
        if self.column_names and not any(t in IDENTITY_TARGETS for t in columns.values()):
            self.add_error(
                self.column_names[0][0],
                "Map a column to email, phone, external id, first name or last name: "
                "a lead needs one of them.",
            )
        if cleaned.get("campaign_name") and not cleaned.get("source_name"):
            self.add_error("campaign_name", "A campaign needs a source.")
        cleaned["columns"] = columns
        return cleaned
