"""Reads for the pipeline: stages by slug and a lead's stage history."""

from __future__ import annotations

from leadsieve.stages.models import Stage


def get_stage(slug: str) -> Stage:
    """The stage called ``slug`` (``Stage.DoesNotExist`` if an admin removed it)."""
    return Stage.objects.get(slug=slug)
