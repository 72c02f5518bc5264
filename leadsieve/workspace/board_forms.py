"""Forms of the pipeline board: which leads it shows, and a card's move to another stage."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from leadsieve.accounts.models import Team, User
from leadsieve.leads.forms import owner_choices
from leadsieve.segments.filters import LeadFilters, SegmentRule, get_segment_rule_for_user
from leadsieve.stages.models import Stage
from leadsieve.workspace.forms import StageForm

# The board's query string keys, kept on every move so the board comes back as it was.
BOARD_KEYS = ("team", "owner", "segment")


class BoardFilterForm(forms.Form):
    """The board's choice of leads: a team (admins), an owner, a segment."""

    team = forms.ModelChoiceField(
        queryset=Team.objects.all(), required=False, empty_label="Every team"
    )
    owner = forms.ChoiceField(required=False)
    segment = forms.ChoiceField(required=False)

    def __init__(
        self, *args: Any, user: User, owners: list[User], segments: list[Any], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        owner = self.fields["owner"]
        assert isinstance(owner, forms.ChoiceField)
        owner.choices = [("", "Anyone"), ("me", "Me"), ("none", "Unassigned")]
        owner.choices += owner_choices(owners)
        segment = self.fields["segment"]
        assert isinstance(segment, forms.ChoiceField)
        segment.choices = [("", "No segment"), *((str(s.pk), s.name) for s in segments)]
        if not user.is_admin_role():
            del self.fields["team"]

    def clean_segment(self) -> SegmentRule | None:
        value = self.cleaned_data.get("segment")
        if not value:
            return None
        rule = get_segment_rule_for_user(self.user, int(value))
        if rule is None:
            raise ValidationError("this segment's filters no longer apply; edit or delete it")
        return rule

    def to_filters(self) -> LeadFilters:
        """The validated choice as list filters; only call after ``is_valid()``."""
        data = self.cleaned_data
        team: Team | None = data.get("team")
        return LeadFilters(
            owner=data.get("owner") or "",
            team_id=team.pk if team else None,
            segment=data.get("segment"),
        )


class BoardMoveForm(StageForm):
    """A card's move: the lead page's stage form plus the board's own rule.

    Won and lost close the lead, which needs a reason the team can read: a card dropped on
    a closing stage without one is refused, and the message says where to give it.
    """

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        stage: Stage | None = data.get("stage")
        if stage is not None and stage.is_closed() and not data.get("reason"):
            self.add_error(
                "stage",
                f"moving a lead to {stage.name} closes it and needs a reason: "
                "open the lead and mark it won or lost there",
            )
        return data
