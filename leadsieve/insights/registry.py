"""The reports LeadSieve knows: one entry per report, read by the pages, the API and the CLI.

Adding a report (docs/insights.md): a module ``insights/<name>.py`` with
``build(query: ReportQuery, user) -> Report``, an entry in ``REPORTS`` below, and a template
``insights/<name>.html`` extending ``insights/_report.html``. The page
(``/insights/<name>/``), its CSV export, ``GET /api/v1/insights/<name>`` and
``leadsieve report <name>`` then exist without further code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.module_loading import import_string

from leadsieve.insights.tables import Report, ReportQuery, ReportQueryError, parse_report_query

Builder = Callable[[ReportQuery, Any], Report]  # Any: the User asking (its scope)


@dataclass(frozen=True)
class ReportSpec:
    name: str  # the URL slug and CLI subcommand
    title: str
    description: str
    builder: str  # dotted path of ``build(query, user) -> Report``
    template: str
    dimensions: tuple[str, ...]  # allowed ``by`` values and filter names
    default_by: str = ""

    def build(self, params: Mapping[str, str], user: Any) -> Report:
        query = parse_report_query(params, dimensions=self.dimensions, default_by=self.default_by)
        builder: Builder = import_string(self.builder)
        return builder(query, user)


# The funnel's and cost's groupings and filters (insights/dimensions.py defines each).
LEAD_DIMENSIONS = (
    "kind",
    "channel",
    "source",
    "campaign",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "landing_page",
    "web_form",
    "import",
    "owner",
    "team",
    "segment",
    "fit_grade",
    "rating_band",
)

REPORTS: dict[str, ReportSpec] = {
    "funnel": ReportSpec(
        name="funnel",
        title="Funnel by source",
        description="Leads → MQL → SQL → appointment → won, with conversion and its noise.",
        builder="leadsieve.insights.funnel.build",
        template="insights/funnel.html",
        dimensions=LEAD_DIMENSIONS,
        default_by="source",
    ),
    "cost": ReportSpec(
        name="cost",
        title="Cost and return",
        description="Spend per source, cost per lead, MQL, SQL, appointment and won deal.",
        builder="leadsieve.insights.cost.build",
        template="insights/cost.html",
        dimensions=("source", "campaign", "kind", "team"),
        default_by="source",
    ),
    "speed-to-lead": ReportSpec(
        name="speed-to-lead",
        title="Speed to lead and procedure",
        description="Capture → assigned → first attempt → real contact → SQL, per rep and team.",
        builder="leadsieve.insights.speed.build",
        template="insights/speed.html",
        dimensions=("rep", "team", "source"),
        default_by="rep",
    ),
    "calibration": ReportSpec(
        name="calibration",
        title="Do the ratings still tell the truth?",
        description="Conversion by rating band of leads closed in the period, AUC and drift.",
        builder="leadsieve.insights.calibration.build",
        template="insights/calibration.html",
        dimensions=("team", "source", "rep"),
        default_by="",
    ),
}


def get_report_spec(name: str) -> ReportSpec:
    spec = REPORTS.get(name)
    if spec is None:
        raise ReportQueryError("report", f"no report {name!r}; use one of: {', '.join(REPORTS)}")
    return spec
