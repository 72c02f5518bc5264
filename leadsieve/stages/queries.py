"""Reads for the pipeline: stages by slug and a lead's stage history."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from leadsieve.stages.models import Stage, StageChange


def get_stage(slug: str) -> Stage:
    """The stage called ``slug`` (``Stage.DoesNotExist`` if an admin removed it)."""
    return Stage.objects.get(slug=slug)


def list_stages() -> QuerySet[Stage]:
    return Stage.objects.filter(is_active=True)


def list_stage_changes_for_lead(lead: Any) -> QuerySet[StageChange]:
    return StageChange.objects.filter(lead=lead).select_related("from_stage", "to_stage", "user")
