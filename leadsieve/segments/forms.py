"""Forms of segments: save the list's filters, rename or share, add ticked leads."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from leadsieve.leads.forms import LeadIdsField
from leadsieve.segments.filters import parse_segment_query
from leadsieve.segments.models import Segment
from leadsieve.segments.queries import clean_segment_query

NEW_LIST = "new"


class SegmentForm(forms.Form):
    """A segment's name and who sees it (rename, share)."""

    name = forms.CharField(
        max_length=120, strip=True, error_messages={"required": "give the segment a name"}
    )
    is_shared = forms.BooleanField(
        label="Share with my team",
        required=False,
        help_text="Your team can open it; only you can change it.",
    )


class SaveSegmentForm(SegmentForm):
    """Save the lead list's current filters (its query string) as a segment."""

    query = forms.CharField(required=False, max_length=2000, widget=forms.HiddenInput)
    is_list = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def clean_query(self) -> str:
        query = clean_segment_query(self.cleaned_data.get("query") or "")
        if parse_segment_query(query) is None:
            raise ValidationError("these filters are not valid; fix them on the list first")
        return query


class AddToSegmentForm(forms.Form):
    """The list's bulk action: put the ticked leads on one of my segments, or on a new list."""

    lead = LeadIdsField(label="Leads", required=False)
    segment = forms.ChoiceField(
        label="Segment", error_messages={"required": "choose a segment or a new list"}
    )
    new_name = forms.CharField(label="New list name", required=False, max_length=120, strip=True)

    def __init__(self, *args: Any, segments: list[Segment], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.segments = {segment.pk: segment for segment in segments}
        field = self.fields["segment"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [
            ("", "Choose a segment"),
            *((str(pk), segment.name) for pk, segment in self.segments.items()),
            (NEW_LIST, "A new list…"),
        ]

    def clean_lead(self) -> list[int]:
        ids: list[int] = self.cleaned_data["lead"]
        if not ids:
            raise ValidationError("tick at least one lead")
        return ids

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        choice = data.get("segment")
        if choice == NEW_LIST:
            if not data.get("new_name"):
                self.add_error("new_name", "name the new list")
            data["target"] = None
        elif choice:
            data["target"] = self.segments[int(choice)]
        return data
