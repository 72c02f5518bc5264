"""HTML forms of the sales workspace: the lead list filters, manual entry and the actions on
leads.

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

from leadsieve.accounts.models import Team, User
from leadsieve.leads.capture import FieldError
from leadsieve.leads.date_windows import validate_in_calendar, validate_in_history
from leadsieve.leads.models import (
    ActivityKind,
    Campaign,
    FitGrade,
    Horizon,
    Source,
    Status,
)
from leadsieve.leads.queries import (
    DEFAULT_SORT,
    NOT_DISQUALIFIED,
    SORTS,
    InvalidCursor,
    LeadFilters,
    SegmentRule,
    decode_cursor,
)
from leadsieve.leads.services.workspace import MANUAL_ACTIVITY_KINDS
from leadsieve.stages.models import Stage

MAX_BULK_LEADS = 500
# An activity may be logged a little ahead of the server clock (a rep's laptop drifts).
FUTURE_TOLERANCE = dt.timedelta(minutes=5)
SORT_LABELS = {
    "-rating": "Rating, best first",
    "rating": "Rating, lowest first",
    "-created": "Newest first",
    "created": "Oldest first",
    "-activity": "Last activity, recent first",
    "activity": "Last activity, oldest first",
    "name": "Name, A–Z",
    "-name": "Name, Z–A",
}


def _any(label: str, choices: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    return [("", label), *choices]


def _start_of_day(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def owner_choices(owners: Sequence[User]) -> list[tuple[str, str]]:
    return [(str(user.pk), str(user)) for user in owners]


class LeadFilterForm(forms.Form):
    """The lead list's query string: filters, sort and page cursor."""

    q = forms.CharField(label="Search", required=False, max_length=200, strip=True)
    status = forms.ChoiceField(
        required=False,
        choices=[
            *_any("Any status", Status.choices),
            (NOT_DISQUALIFIED, "Any but disqualified"),
        ],
    )
    fit_grade = forms.ChoiceField(
        label="Fit", required=False, choices=_any("Any fit", FitGrade.choices)
    )
    horizon = forms.ChoiceField(required=False, choices=_any("Any horizon", Horizon.choices))
    source = forms.ModelChoiceField(
        queryset=Source.objects.all(), required=False, empty_label="Any source"
    )
    campaign = forms.ModelChoiceField(
        queryset=Campaign.objects.select_related("source"),
        required=False,
        empty_label="Any campaign",
    )
    owner = forms.ChoiceField(required=False)
    rating_min = forms.IntegerField(label="Rating from", required=False, min_value=1, max_value=100)
    rating_max = forms.IntegerField(label="Rating to", required=False, min_value=1, max_value=100)
    created_from = forms.DateField(
        label="Created from", required=False, validators=[validate_in_calendar]
    )
    created_to = forms.DateField(
        label="Created to", required=False, validators=[validate_in_calendar]
    )
    activity_from = forms.DateField(
        label="Last activity from", required=False, validators=[validate_in_calendar]
    )
    activity_to = forms.DateField(
        label="Last activity to", required=False, validators=[validate_in_calendar]
    )
    sort = forms.ChoiceField(
        required=False, choices=[(key, SORT_LABELS[key]) for key in SORTS], initial=DEFAULT_SORT
    )
    team = forms.ModelChoiceField(
        queryset=Team.objects.all(), required=False, empty_label="Any team"
    )
    stage = forms.ModelChoiceField(
        queryset=Stage.objects.filter(is_active=True), required=False, empty_label="Any stage"
    )
    # A segment id; ``clean_segment`` resolves it among the segments the user may open.
    segment = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    cursor = forms.CharField(required=False, max_length=2000, widget=forms.HiddenInput)

    def __init__(
        self, *args: Any, owners: Sequence[User], user: User | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        field = self.fields["owner"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [
            ("", "Any owner"),
            ("me", "Me"),
            ("none", "Unassigned"),
            *owner_choices(owners),
        ]
        for name in ("created_from", "created_to", "activity_from", "activity_to"):
            self.fields[name].widget = forms.DateInput(attrs={"type": "date"})
        for name in ("rating_min", "rating_max"):
            self.fields[name].widget.attrs.update({"inputmode": "numeric", "size": 4})
        self.fields["q"].widget = forms.TextInput(
            attrs={"type": "search", "placeholder": "Name, email or company"}
        )

    def clean_segment(self) -> SegmentRule | None:
        segment_id: int | None = self.cleaned_data.get("segment")
        if segment_id is None:
            return None
        from leadsieve.segments.queries import get_segment_rule_for_user  # imports this module

        rule = get_segment_rule_for_user(self.user, segment_id)
        if rule is None:
            raise ValidationError("no such segment, or it is not shared with you")
        return rule

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        pairs = (
            ("rating_min", "rating_max", "the lowest rating is above the highest"),
            ("created_from", "created_to", "the start date is after the end date"),
            ("activity_from", "activity_to", "the start date is after the end date"),
        )
        for low, high, message in pairs:
            both = data.get(low) is not None and data.get(high) is not None
            if both and data[low] > data[high]:
                self.add_error(high, message)
        cursor = data.get("cursor")
        if cursor:
            try:
                data["after"] = decode_cursor(self.sort_key(), cursor)
            except InvalidCursor as error:
                self.add_error("cursor", f"{error}; open the first page again")
        return data

    def has_filters(self) -> bool:
        """Whether anything narrows the list (sort and page do not), for the empty state."""
        data = getattr(self, "cleaned_data", {})
        ignored = {"sort", "cursor", "after"}
        return any(value not in ("", None) for name, value in data.items() if name not in ignored)

    def sort_key(self) -> str:
        sort = self.cleaned_data.get("sort") if hasattr(self, "cleaned_data") else None
        return sort if sort in SORTS else DEFAULT_SORT

    def after(self) -> list[Any] | None:
        after: list[Any] | None = self.cleaned_data.get("after")
        return after

    def to_filters(self) -> LeadFilters:
        """The validated filters; only call after ``is_valid()`` returned True."""
        data = self.cleaned_data

        def day_start(name: str, *, next_day: bool = False) -> dt.datetime | None:
            day: dt.date | None = data.get(name)
            if day is None:
                return None
            return _start_of_day(day + dt.timedelta(days=1 if next_day else 0))

        source: Source | None = data.get("source")
        campaign: Campaign | None = data.get("campaign")
        team: Team | None = data.get("team")
        stage: Stage | None = data.get("stage")
        return LeadFilters(
            text=data.get("q") or "",
            status=data.get("status") or "",
            fit_grade=data.get("fit_grade") or "",
            horizon=data.get("horizon") or "",
            source_id=source.pk if source else None,
            campaign_id=campaign.pk if campaign else None,
            owner=data.get("owner") or "",
            rating_min=data.get("rating_min"),
            rating_max=data.get("rating_max"),
            created_from=day_start("created_from"),
            created_to=day_start("created_to", next_day=True),
            activity_from=day_start("activity_from"),
            activity_to=day_start("activity_to", next_day=True),
            team_id=team.pk if team else None,
            stage_id=stage.pk if stage else None,
            segment=data.get("segment"),
        )


class LeadIdsField(forms.Field):
    """The ticked rows of the list: a bounded list of integer ids."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> list[int]:  # Any: a list of strings from the QueryDict
        if not value:
            return []
        values = value if isinstance(value, list | tuple) else [value]
        if len(values) > MAX_BULK_LEADS:
            raise ValidationError(f"select at most {MAX_BULK_LEADS} leads at once")
        ids = []
        for raw in values:
            text = str(raw).strip()
            if not text.isdigit() or len(text) > 18:
                raise ValidationError(f"{text[:20]!r} is not a lead id")
            ids.append(int(text))
        return ids


BULK_ACTIONS = [("assign", "Assign owner"), ("status", "Change status")]


class BulkActionForm(forms.Form):
    """Assign an owner to, or change the status of, the ticked leads."""

    lead = LeadIdsField(label="Leads", required=False)  # clean_lead says what is missing
    action = forms.ChoiceField(choices=BULK_ACTIONS)
    owner = forms.ChoiceField(required=False)
    status = forms.ChoiceField(required=False, choices=_any("Choose a status", Status.choices))
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
