"""The groupings the funnel and cost reports offer: a milestone column each, how its values
are named on the page, and the lead list filter a drill link uses (when the list has one)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.db.models import Q
from django.urls import reverse

from leadsieve.accounts.models import Team, User
from leadsieve.insights.models import RatingBand
from leadsieve.insights.tables import ReportQuery, ReportQueryError
from leadsieve.leads.models import Campaign, Channel, Source, SourceKind
from leadsieve.segments.models import Segment, SegmentMember
from leadsieve.webforms.models import WebForm

NONE = "none"  # the filter value of "not set"
NONE_LABEL = "(none)"


@dataclass(frozen=True)
class Dimension:
    name: str
    label: str
    column: str  # on LeadMilestones; "" for segment (a join)
    is_id: bool = False
    list_filter: str = ""  # the lead list's parameter, for drill links


DIMENSIONS: dict[str, Dimension] = {
    d.name: d
    for d in (
        Dimension("kind", "Generation or prospecting", "kind"),
        Dimension("channel", "Channel", "channel"),
        Dimension("source", "Source", "source_id", is_id=True, list_filter="source"),
        Dimension("campaign", "Campaign", "campaign_id", is_id=True, list_filter="campaign"),
        Dimension("utm_source", "UTM source", "utm_source"),
        Dimension("utm_medium", "UTM medium", "utm_medium"),
        Dimension("utm_campaign", "UTM campaign", "utm_campaign"),
        Dimension("landing_page", "Landing page", "landing_page"),
        Dimension("web_form", "Web form", "web_form"),
        Dimension("import", "Import file", "import_file"),
        Dimension("owner", "Owner", "owner_id", is_id=True, list_filter="owner"),
        Dimension("team", "Team", "team_id", is_id=True, list_filter="team"),
        Dimension("segment", "Segment (lists)", "", is_id=True, list_filter="segment"),
        Dimension("fit_grade", "Fit grade", "fit_grade", list_filter="fit_grade"),
        Dimension("rating_band", "Rating band at capture", "rating_band"),
    )
}


def get_dimension(name: str) -> Dimension:
    try:
        return DIMENSIONS[name]
    except KeyError:
        raise ReportQueryError("by", f"{name!r} is not a grouping") from None


def filter_condition(name: str, value: str) -> Q:
    """The milestone rows whose ``name`` is ``value`` (``none``: not set)."""
    dimension = get_dimension(name)
    if dimension.name == "segment":
        try:
            segment_id = int(value)
        except ValueError:
            raise ReportQueryError(name, f"{value!r} is not a segment id") from None
        members = SegmentMember.objects.filter(segment_id=segment_id).values("lead_id")
        return Q(lead_id__in=members)
    if value == NONE:
        if dimension.is_id:
            return Q(**{f"{dimension.column}__isnull": True})
        return Q(**{dimension.column: ""})
    if dimension.is_id:
        try:
            return Q(**{dimension.column: int(value)})
        except ValueError:
            raise ReportQueryError(name, f"{value!r} is not an id (or 'none')") from None
    return Q(**{dimension.column: value})


def label_values(name: str, values: Iterable[Any]) -> dict[Any, str]:
    """How each value of grouping ``name`` reads (names for ids, labels for choices)."""
    values = list(values)
    ids = [v for v in values if v not in (None, "")]
    names: dict[Any, str] = {}
    if name == "source":
        names = {s.pk: s.name for s in Source.objects.filter(pk__in=ids)}
    elif name == "campaign":
        names = {c.pk: str(c) for c in Campaign.objects.select_related("source").filter(pk__in=ids)}
    elif name == "owner":
        names = {u.pk: str(u) for u in User.objects.filter(pk__in=ids)}
    elif name == "team":
        names = {t.pk: t.name for t in Team.objects.filter(pk__in=ids)}
    elif name == "segment":
        names = {s.pk: s.name for s in Segment.objects.filter(pk__in=ids)}
    elif name == "web_form":
        names = {f.slug: f.name for f in WebForm.objects.filter(slug__in=ids)}
    elif name == "kind":
        names = dict(SourceKind.choices)
    elif name == "channel":
        names = dict(Channel.choices)
    elif name == "rating_band":
        names = dict(RatingBand.choices)
    return {v: NONE_LABEL if v in (None, "") else names.get(v, str(v)) for v in values}


def filter_value(value: Any) -> str:
    """A group's value as a filter parameter (``none`` for not set)."""
    return NONE if value in (None, "") else str(value)


def drill_url(query: ReportQuery, by: str, value: Any) -> str:
    """The lead list with the period and this group (when the list filters on it)."""
    return drill_urls(query, by, [value])[0]


def drill_urls(query: ReportQuery, by: str, values: Iterable[Any]) -> tuple[str, ...]:
    """``drill_url`` of each value, the list's address looked up once (a table by source has
    two hundred rows)."""
    dimension = DIMENSIONS.get(by)
    values = list(values)
    if dimension is None or not dimension.list_filter:
        return ("",) * len(values)
    base = reverse("leads:list")
    period = {
        "created_from": query.date_from.isoformat(),
        "created_to": (query.date_to + dt.timedelta(days=1)).isoformat(),
    }
    return tuple(
        ""
        if value in (None, "")
        else f"{base}?{urlencode({**period, dimension.list_filter: str(value)})}"
        for value in values
    )
