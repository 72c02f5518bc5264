"""The lead list's filters, and a segment as one: what narrows a list of leads.

A segment is a saved filter (``Segment.query``, the list's query string); a list segment
also keeps its members. ``LeadFilterForm`` validates the query string of the list, the board
and a saved segment alike; ``filter_leads`` applies the result to a scoped queryset.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import QueryDict
from django.utils import timezone

from leadsieve.accounts.models import Team, User
from leadsieve.leads.date_windows import validate_in_calendar
from leadsieve.leads.forms import owner_choices
from leadsieve.leads.models import Campaign, FitGrade, Horizon, Lead, Source, Status
from leadsieve.leads.queries import DEFAULT_SORT, SORTS, InvalidCursor, decode_cursor
from leadsieve.segments.models import SegmentMember
from leadsieve.segments.queries import clean_segment_query, visible_segments
from leadsieve.stages.models import Stage

# A status filter value meaning "every status but disqualified" (the board's leads).
NOT_DISQUALIFIED = "not_disqualified"


@dataclass(frozen=True)
class LeadFilters:
    """What the lead list is narrowed to; empty values mean "any"."""

    text: str = ""
    status: str = ""
    fit_grade: str = ""
    horizon: str = ""
    source_id: int | None = None
    campaign_id: int | None = None
    owner: str = ""  # "", "me", "none" or a user id as text
    rating_min: int | None = None
    rating_max: int | None = None
    created_from: dt.datetime | None = None
    created_to: dt.datetime | None = None
    activity_from: dt.datetime | None = None
    activity_to: dt.datetime | None = None
    team_id: int | None = None
    stage_id: int | None = None
    segment: SegmentRule | None = None


@dataclass(frozen=True)
class SegmentRule:
    """A segment as a filter: its saved filters AND, for a list, membership."""

    segment_id: int
    name: str
    filters: LeadFilters
    is_list: bool


def filter_leads(leads: QuerySet[Lead], filters: LeadFilters, user: Any) -> QuerySet[Lead]:
    """Apply the list filters; text searches name, email and company (stated or resolved)."""
    if filters.text:
        for word in filters.text.split()[:5]:
            leads = leads.filter(
                Q(first_name__icontains=word)
                | Q(last_name__icontains=word)
                | Q(email__icontains=word)
                | Q(company_name__icontains=word)
                | Q(company__name__icontains=word)
            )
    status = filters.status
    if status == NOT_DISQUALIFIED:
        leads = leads.exclude(status=Status.DISQUALIFIED)
        status = ""
    exact = {
        "status": status,
        "fit_grade": filters.fit_grade,
        "horizon": filters.horizon,
        "source_id": filters.source_id,
        "campaign_id": filters.campaign_id,
    }
    leads = leads.filter(**{k: v for k, v in exact.items() if v not in ("", None)})
    if filters.team_id is not None:
        leads = leads.filter(team_id=filters.team_id)
    if filters.stage_id is not None:
        leads = leads.filter(stage_id=filters.stage_id)
    if filters.segment is not None:
        leads = filter_leads(leads, filters.segment.filters, user)
        if filters.segment.is_list:
            members = SegmentMember.objects.filter(segment_id=filters.segment.segment_id)
            leads = leads.filter(pk__in=members.values("lead_id"))
    if filters.owner == "me":
        leads = leads.filter(owner=user)
    elif filters.owner == "none":
        leads = leads.filter(owner__isnull=True)
    elif filters.owner:
        leads = leads.filter(owner_id=int(filters.owner))
    ranges = {
        "rating__gte": filters.rating_min,
        "rating__lte": filters.rating_max,
        "created_at__gte": filters.created_from,
        "created_at__lt": filters.created_to,
        "last_activity_at__gte": filters.activity_from,
        "last_activity_at__lt": filters.activity_to,
    }
    return leads.filter(**{k: v for k, v in ranges.items() if v is not None})


# --- The form that validates them ----------------------------------------------------------

SORT_LABELS = {
    "open": "Open leads first, best rated",
    "-rating": "Rating, best first",
    "rating": "Rating, lowest first",
    "-created": "Newest first",
    "created": "Oldest first",
    "-activity": "Last activity, recent first",
    "activity": "Last activity, oldest first",
    "name": "Name, A–Z",
    "-name": "Name, Z–A",
}


def any_choice(label: str, choices: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    return [("", label), *choices]


def _start_of_day(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


class LeadFilterForm(forms.Form):
    """The lead list's query string: filters, sort and page cursor."""

    q = forms.CharField(label="Search", required=False, max_length=200, strip=True)
    status = forms.ChoiceField(
        required=False,
        choices=[
            *any_choice("Any status", Status.choices),
            (NOT_DISQUALIFIED, "Any but disqualified"),
        ],
    )
    fit_grade = forms.ChoiceField(
        label="Fit", required=False, choices=any_choice("Any fit", FitGrade.choices)
    )
    horizon = forms.ChoiceField(required=False, choices=any_choice("Any horizon", Horizon.choices))
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


# --- A segment as a filter ----------------------------------------------------------------


def parse_segment_query(query: str) -> LeadFilters | None:
    """The filters a segment's query string stands for, or None when they no longer validate.

    The owner filter is taken as saved ("me", "none" or a user id): a shared segment's
    owner filter narrows the viewer's own scope and never widens it.
    """
    data = QueryDict(clean_segment_query(query), mutable=True)
    owner = data.pop("owner", [""])[-1]
    form = LeadFilterForm(data, owners=[])
    if not form.is_valid():
        return None
    if owner not in ("", "me", "none") and not (owner.isdigit() and len(owner) < 18):
        return None
    return replace(form.to_filters(), owner=owner)


def get_segment_rule_for_user(user: Any, segment_id: int) -> SegmentRule | None:
    """A segment the user may open as a lead filter, or None (missing, hidden, broken)."""
    if user is None:
        return None
    segment = (
        visible_segments(user)
        .filter(pk=segment_id)
        .values("pk", "name", "query", "is_list")
        .first()
    )
    if segment is None:
        return None
    filters = parse_segment_query(segment["query"])
    if filters is None:
        return None
    return SegmentRule(
        segment_id=segment["pk"],
        name=segment["name"],
        filters=filters,
        is_list=segment["is_list"],
    )
