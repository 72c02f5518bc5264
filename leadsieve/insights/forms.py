"""The spend forms: one line typed on the page, or a CSV file."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms

from leadsieve.accounts.models import Team
from leadsieve.insights.spend import SpendEntry, SpendError, check_entry, parse_month
from leadsieve.leads.models import Campaign, Source

MAX_FILE_BYTES = 2 * 1024 * 1024


class SpendForm(forms.Form):
    month = forms.CharField(
        label="Month", max_length=10, widget=forms.TextInput(attrs={"type": "month"})
    )
    source = forms.ModelChoiceField(queryset=Source.objects.order_by("name"))
    campaign = forms.ModelChoiceField(
        queryset=Campaign.objects.select_related("source").order_by("source__name", "name"),
        required=False,
        empty_label="The whole source",
    )
    amount = forms.DecimalField(min_value=0, max_digits=14, decimal_places=2)
    team = forms.ModelChoiceField(
        queryset=Team.objects.order_by("name"),
        required=False,
        empty_label="The whole company",
        help_text="Managers' spend is their team's.",
    )
    note = forms.CharField(max_length=200, required=False)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.entry: SpendEntry | None = None
        if not user.is_admin_role():
            del self.fields["team"]
        if not self.is_bound:
            self.initial.setdefault("month", f"{dt.date.today():%Y-%m}")

    def clean_month(self) -> dt.date:
        try:
            return parse_month(self.cleaned_data["month"])
        except SpendError as exc:
            raise forms.ValidationError(exc.message) from None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        try:
            self.entry = check_entry(
                self.user,
                month=data["month"],
                source=data["source"],
                campaign=data.get("campaign"),
                team=data.get("team"),
                amount=data["amount"],
                note=data.get("note", ""),
            )
        except SpendError as exc:
            self.add_error(exc.field if exc.field in self.fields else None, exc.message)
        return data


class SpendImportForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="Columns: month (YYYY-MM), source, campaign (optional), amount, team (slug, "
        "admins only), note. A file with any bad row saves nothing.",
    )

    def clean_file(self) -> str:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_FILE_BYTES:
            raise forms.ValidationError(f"The file is over {MAX_FILE_BYTES // 1024} KB.")
        raw = upload.read()
        try:
            return str(raw.decode("utf-8-sig"))
        except UnicodeDecodeError:
            raise forms.ValidationError("Save the file as UTF-8 CSV.") from None


class RetrainingScheduleForm(forms.Form):
    """How often the conversion model is retrained on schedule (0: never)."""

    every_days = forms.IntegerField(
        label="Retrain every (days)",
        min_value=0,
        max_value=365,
        help_text="0 turns scheduled retraining off. A new model replaces the one rating leads "
        "only if its holdout is not worse.",
    )
