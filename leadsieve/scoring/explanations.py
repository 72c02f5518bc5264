"""Why a lead has its score: criterion points and the model's top factors, in plain words."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils import timezone

from leadsieve.engine.explain import explain_model
from leadsieve.engine.types import Reason
from leadsieve.leads.models import DecisionRole, Lead, RevenueBand, Timeline
from leadsieve.scoring.frames import activity_frame, lead_frame
from leadsieve.scoring.prior import arrival_prior
from leadsieve.scoring.queries import get_active_scoring
from leadsieve.scoring.reconciling import model_frame, score_frame

# The words of the stored codes the model reads, for its reasons ("Timeline is within 3 months").
CHOICE_LABELS: dict[str, dict[str, str]] = {
    "timeline": {code: str(label) for code, label in Timeline.choices},
    "decision_role": {code: str(label) for code, label in DecisionRole.choices},
    "company__revenue_band": {code: str(label) for code, label in RevenueBand.choices},
}


@dataclass(frozen=True)
class ModelFactor:
    """One conversion-model factor for a lead: the column, its value, its log-odds effect."""

    column: str
    label: str
    effect: float


@dataclass(frozen=True)
class LeadExplanation:
    """Why a lead has its score, for the lead page and the API."""

    lead_id: int
    rating: int | None
    rating_source: str
    rating_is_manual: bool
    probability: float
    fit_points: float
    fit_grade: str
    interest_points: float
    readiness_points: float
    status: str
    status_reason: str
    status_is_manual: bool
    horizon: str
    horizon_reason: str
    scorecard_version: int
    model_version_id: int | None
    criteria: list[Reason] = field(default_factory=list)
    raising: list[ModelFactor] = field(default_factory=list)
    lowering: list[ModelFactor] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:  # Any: JSON values of mixed types
        data = {k: v for k, v in vars(self).items() if k not in ("criteria", "raising", "lowering")}
        data["criteria"] = [vars(r).copy() for r in self.criteria]
        data["raising"] = [vars(f).copy() for f in self.raising]
        data["lowering"] = [vars(f).copy() for f in self.lowering]
        return data


def explain_lead(lead: Lead, *, as_of: datetime | None = None) -> LeadExplanation:
    """Every criterion's points in plain words, plus the model's top factors when it rates.

    Computed fresh from the active versions (the stored columns may be a few seconds older);
    what a person set by hand is reported as such.
    """
    when = as_of or timezone.now()
    active = get_active_scoring()
    frame = lead_frame([lead.pk])
    activities = activity_frame([lead.pk], until=when)
    scores = score_frame(frame, activities, active, as_of=when)
    row = scores.iloc[0]
    criteria = active.scorecard.explain(frame, activities, as_of=when)[0]
    raising: list[ModelFactor] = []
    lowering: list[ModelFactor] = []
    if active.model is not None:
        model_leads = model_frame(frame, active)
        prior = arrival_prior(active.scorecard, model_leads) if active.model.uses_prior else None
        labels = CHOICE_LABELS
        (reasons,) = explain_model(active.model, model_leads, prior=prior, value_labels=labels)
        for reason in reasons:
            factor = ModelFactor(reason.code.removeprefix("model:"), reason.label, reason.points)
            (raising if reason.points > 0 else lowering).append(factor)
    return LeadExplanation(
        lead_id=lead.pk,
        rating=lead.rating if lead.rating_is_manual else int(row["rating"]),
        rating_source=lead.rating_source if lead.rating_is_manual else str(row["rating_source"]),
        rating_is_manual=lead.rating_is_manual,
        probability=float(row["probability"]),
        fit_points=float(row["fit_points"]),
        fit_grade=str(row["fit_grade"]),
        interest_points=float(row["interest_points"]),
        readiness_points=float(row["readiness_points"]),
        status=lead.status if lead.status_is_manual else str(row["status"]),
        status_reason=lead.status_reason if lead.status_is_manual else str(row["status_reason"]),
        status_is_manual=lead.status_is_manual,
        horizon=str(row["horizon"]),
        horizon_reason=str(row["horizon_reason"]),
        scorecard_version=active.scorecard_number,
        model_version_id=active.model_version_id,
        criteria=criteria,
        raising=raising,
        lowering=lowering,
    )
