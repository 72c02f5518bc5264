"""Reads every report shares: the milestone rows of a query's period, filters and scope."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from leadsieve.insights.dimensions import filter_condition
from leadsieve.insights.models import LeadMilestones
from leadsieve.insights.tables import ReportQuery, report_scope


def list_milestones(query: ReportQuery, user: Any) -> QuerySet[LeadMilestones]:
    """The rows of leads captured in the period, narrowed by the filters, in ``user``'s scope
    (``None``: everything)."""
    rows = LeadMilestones.objects.filter(
        report_scope(user), captured_at__gte=query.start(), captured_at__lt=query.end()
    )
    for name, value in query.filters:
        rows = rows.filter(filter_condition(name, value))
    return rows
