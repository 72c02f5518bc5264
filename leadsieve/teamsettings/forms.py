"""Forms of the team settings pages: every value is checked here, errors name the field."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import time
from typing import Any

from django import forms

from leadsieve.accounts.models import Team, User
from leadsieve.insights.drift import DEFAULT_PERIOD_DAYS, PERIOD_DAYS
from leadsieve.leads.date_windows import validate_in_calendar
from leadsieve.routing.models import RepProfile

WEEKDAYS = [
    (0, "Mon"),
    (1, "Tue"),
    (2, "Wed"),
    (3, "Thu"),
    (4, "Fri"),
    (5, "Sat"),
    (6, "Sun"),
]
MAX_ABSENCE_DAYS = 366


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
