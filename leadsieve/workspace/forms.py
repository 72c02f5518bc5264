"""HTML forms of the sales workspace: manual entry and the actions on leads (the list's
filters are ``segments.filters.LeadFilterForm``).

Every value comes from the query string or a POST body, so every value is validated here and
a bad one comes back as an error naming the field, never as a 500 or a silently ignored filter.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from leadsieve.accounts.models import User
from leadsieve.leads.capture import FieldError
from leadsieve.leads.date_windows import validate_in_calendar, validate_in_history
from leadsieve.leads.forms import LeadIdsField, owner_choices
from leadsieve.leads.models import (
    ActivityKind,
    Status,
)
from leadsieve.segments.filters import any_choice
from leadsieve.stages.models import Stage
from leadsieve.workspace.services import MANUAL_ACTIVITY_KINDS

# An activity may be logged a little ahead of the server clock (a rep's laptop drifts).
FUTURE_TOLERANCE = dt.timedelta(minutes=5)


BULK_ACTIONS = [("assign", "Assign owner"), ("status", "Change status")]


class BulkActionForm(forms.Form):
    """Assign an owner to, or change the status of, the ticked leads."""

    lead = LeadIdsField(label="Leads", required=False)  # clean_lead says what is missing
    action = forms.ChoiceField(choices=BULK_ACTIONS)
    owner = forms.ChoiceField(required=False)
    status = forms.ChoiceField(
        required=False, choices=any_choice("Choose a status", Status.choices)
    )
    reason = forms.CharField(
        required=False, max_length=300, strip=True, help_text="Needed for a status change."
    )

    def __init__(self, *args: Any, owners: Sequence[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.owners = {user.pk: user for user in owners}
        field = self.fields["owner"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", "Choose an owner"), ("none", "Nobody (unassign)")]
        field.choices += owner_choices(owners)

    def clean_lead(self) -> list[int]:
        ids: list[int] = self.cleaned_data["lead"]
        if not ids:
            raise ValidationError("tick at least one lead")
        return ids

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        action = data.get("action")
        if action == "assign":
            choice = data.get("owner")
            if not choice:
                self.add_error("owner", "choose who gets the leads")
            else:
                data["new_owner"] = None if choice == "none" else self.owners[int(choice)]
        elif action == "status":
            if not data.get("status"):
                self.add_error("status", "choose the new status")
            if not data.get("reason"):
                self.add_error("reason", "say why you set the status by hand (the team sees it)")
        return data


class ActionForm(forms.Form):
    """A form of the lead page: its own ``id`` prefix, so the many "reason" fields of one
    page each keep their label (``id_reason`` would repeat)."""

    id_prefix = "action"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", f"{self.id_prefix}-%s")
        super().__init__(*args, **kwargs)


class LogActivityForm(ActionForm):
    id_prefix = "log"

    kind = forms.ChoiceField(
        label="What happened",
        choices=[(kind.value, kind.label) for kind in MANUAL_ACTIVITY_KINDS],
        initial=ActivityKind.CALL,
    )
    subject = forms.CharField(label="Summary", required=False, max_length=300, strip=True)
    occurred_at = forms.DateTimeField(
        label="When",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text="Leave empty for now.",
        validators=[validate_in_history],
    )

    def clean_occurred_at(self) -> dt.datetime | None:
        when: dt.datetime | None = self.cleaned_data.get("occurred_at")
        if when is not None and when > timezone.now() + FUTURE_TOLERANCE:
            raise ValidationError("an activity cannot be logged in the future")
        return when

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("kind") == ActivityKind.NOTE and not data.get("subject"):
            self.add_error("subject", "a note needs some text")
        return data


class DisqualifyForm(ActionForm):
    id_prefix = "disqualify"

    reason = forms.CharField(
        label="Why is this lead disqualified?",
        max_length=300,
        strip=True,
        error_messages={"required": "say why this lead is disqualified"},
    )


class StatusForm(ActionForm):
    id_prefix = "status"

    status = forms.ChoiceField(label="New status", choices=Status.choices)
    reason = forms.CharField(
        label="Why (the team sees it)",
        max_length=300,
        strip=True,
        error_messages={"required": "say why you set the status by hand"},
    )


class StageForm(ActionForm):
    id_prefix = "stage"

    stage = forms.ModelChoiceField(
        label="Move to stage", queryset=Stage.objects.filter(is_active=True), empty_label=None
    )
    reason = forms.CharField(label="Note", required=False, max_length=300, strip=True)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        stage = cleaned.get("stage")
        if stage is not None and (stage.is_won or stage.is_lost) and not cleaned.get("reason"):
            # The same rule as "Mark won / lost" and the board: a closed lead says why.
            self.add_error("reason", f"Say why the lead is {stage.name.lower()}.")
        return cleaned


# --- Appointments, tasks, outcome, duplicates ------------------------------------------------

# A booking a few minutes in the past is a slow typist, not a mistake.
PAST_TOLERANCE = dt.timedelta(minutes=5)
DURATION_CHOICES = [(15, "15 minutes"), (30, "30 minutes"), (45, "45 minutes"), (60, "1 hour")]
DURATION_CHOICES += [(90, "1½ hours"), (120, "2 hours"), (240, "Half a day")]
MAX_ATTENDEE_LINES = 50


def _parse_attendee(line: str) -> dict[str, str]:
    """``ann@example.com`` or ``Ann Smith <ann@example.com>``."""
    name, _, rest = line.partition("<")
    if rest:
        email = rest.rstrip().removesuffix(">").strip()
        name = name.strip().strip('"')
    else:
        email, name = line.strip(), ""
    email_field = forms.EmailField()
    try:
        email_field.clean(email)
    except ValidationError:
        raise ValidationError(f"{line.strip()[:80]!r} is not an email address") from None
    return {"name": name[:120], "email": email}


class AppointmentForm(ActionForm):
    """A meeting with the lead, in the server's time zone (shown next to the fields)."""

    id_prefix = "appointment"

    date = forms.DateField(
        widget=forms.DateInput(attrs={"type": "date"}), validators=[validate_in_calendar]
    )
    time = forms.TimeField(widget=forms.TimeInput(attrs={"type": "time"}))
    duration = forms.TypedChoiceField(
        label="Duration", choices=DURATION_CHOICES, coerce=int, initial=30
    )
    title = forms.CharField(
        required=False, max_length=200, strip=True, help_text="Leave empty for “Meeting with …”."
    )
    location = forms.CharField(
        label="Where",
        required=False,
        max_length=300,
        strip=True,
        help_text="Address or video link.",
    )
    attendees = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="One email a line, e.g. Ann Smith <ann@example.com>.",
    )

    def clean_attendees(self) -> list[dict[str, str]]:
        lines = [line for line in self.cleaned_data["attendees"].splitlines() if line.strip()]
        if len(lines) > MAX_ATTENDEE_LINES:
            raise ValidationError(f"at most {MAX_ATTENDEE_LINES} attendees")
        return [_parse_attendee(line) for line in lines]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        day, moment = data.get("date"), data.get("time")
        if day is not None and moment is not None:
            starts = timezone.make_aware(dt.datetime.combine(day, moment))
            if starts < timezone.now() - PAST_TOLERANCE:
                self.add_error("date", "the appointment would be in the past")
            data["starts_at"] = starts
        return data


class TaskForm(ActionForm):
    id_prefix = "task"

    title = forms.CharField(
        label="What needs doing",
        max_length=300,
        strip=True,
        error_messages={"required": "say what needs doing"},
    )
    channel = forms.ChoiceField(
        label="Kind",
        choices=[("task", "To do"), ("call", "Call"), ("email", "Email"), ("meeting", "Meeting")],
        initial="task",
    )
    due_at = forms.DateTimeField(
        label="Due",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        error_messages={"required": "say when it is due"},
        validators=[validate_in_calendar],
    )


TASK_ACTIONS = [("done", "Done"), ("skip", "Skip")]


class TaskDoneForm(forms.Form):
    """Finish a task: done (logs the touch) or skipped (a reason is required)."""

    action = forms.ChoiceField(choices=TASK_ACTIONS)
    note = forms.CharField(label="Note or reason", required=False, max_length=200, strip=True)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("action") == "skip" and not data.get("note"):
            self.add_error("note", "say why the task is skipped")
        return data


class CloseLeadForm(ActionForm):
    id_prefix = "close"

    outcome = forms.ChoiceField(
        label="Outcome",
        choices=[("won", "Won"), ("lost", "Lost")],
        widget=forms.RadioSelect,
        error_messages={"required": "choose won or lost"},
    )
    reason = forms.CharField(
        label="Why (the team sees it)",
        max_length=300,
        strip=True,
        error_messages={"required": "say why the lead was won or lost"},
    )


class MergeForm(forms.Form):
    """Which of the two leads of a likely duplicate survives the merge."""

    survivor = forms.ChoiceField(
        label="Keep",
        choices=[("lead", "the newer lead"), ("duplicate_of", "the older lead")],
        widget=forms.RadioSelect,
        error_messages={"required": "choose which lead to keep"},
    )


class NewLeadForm(forms.Form):
    """Manual entry: a lead met by phone, at a fair or by a referral, typed in by hand.

    Only the shape is checked here; capture validates and normalises the values (email,
    phone, country) and its errors come back on these fields (``add_capture_errors``).
    """

    first_name = forms.CharField(required=False, max_length=150)
    last_name = forms.CharField(required=False, max_length=150)
    email = forms.CharField(required=False, max_length=254)
    phone = forms.CharField(required=False, max_length=40)
    company_name = forms.CharField(required=False, max_length=200, label="Company")
    job_title = forms.CharField(required=False, max_length=200)
    city = forms.CharField(required=False, max_length=120)
    country = forms.CharField(
        required=False, max_length=60, help_text="Two-letter code, like US or FR."
    )
    need = forms.CharField(
        required=False, max_length=5_000, widget=forms.Textarea(attrs={"rows": 4})
    )

    def values(self) -> dict[str, str]:
        """The fields filled in, as capture takes them."""
        return {name: value for name, value in self.cleaned_data.items() if value}

    def add_capture_errors(self, errors: Sequence[FieldError]) -> None:
        for error in errors:
            self.add_error(error.field if error.field in self.fields else None, error.message)
