"""Form pieces of any page that picks leads or their owner (the list, a segment's members)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from leadsieve.accounts.models import User

MAX_BULK_LEADS = 500


def owner_choices(owners: Sequence[User]) -> list[tuple[str, str]]:
    return [(str(user.pk), str(user)) for user in owners]


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
