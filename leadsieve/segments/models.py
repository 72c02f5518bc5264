"""Segments: saved lead-list filters, optionally with explicit members (a prospecting list)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Segment(models.Model):
    """A saved filter of the lead list, private to its owner or shared with the owner's team.

    ``query`` is the lead list's query string (``LeadFilterForm`` fields, no sort or page).
    A list (``is_list``) holds only its members that match ``query``; an empty list is empty.
    """

    name = models.CharField(max_length=120)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="segments"
    )
    team = models.ForeignKey(
        "accounts.Team",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="segments",
        help_text="The owner's team when the segment was saved; shared segments show to it.",
    )
    is_shared = models.BooleanField(default=False, help_text="Shown to the owner's team.")
    query = models.CharField(max_length=2000, blank=True)
    is_list = models.BooleanField(
        default=False, help_text="A prospecting list: only its members (that match the filter)."
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        indexes = [
            models.Index(fields=["owner", "name"], name="segment_owner_name"),
            models.Index(fields=["team", "is_shared"], name="segment_team_shared"),
        ]

    def __str__(self) -> str:
        return self.name


class SegmentMember(models.Model):
    """A lead put on a segment by hand (the list's bulk action "add to segment")."""

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="members")
    lead = models.ForeignKey(
        "leads.Lead", on_delete=models.CASCADE, related_name="segment_memberships"
    )
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["segment", "lead"], name="segmentmember_unique")
        ]

    def __str__(self) -> str:
        return f"Lead {self.lead_id} in segment {self.segment_id}"
