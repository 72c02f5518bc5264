"""The editor's domain functions: drafts are edited through the engine's validation, then
published; published versions never change."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from leadsieve.engine.types import Cap, Criterion, GradeBands, InterestRule, StatusRule
from leadsieve.leads.models import Outcome
from leadsieve.scoring import drafts
from leadsieve.scoring.models import ScorecardStatus, ScorecardVersion


def _active() -> ScorecardVersion:
    return ScorecardVersion.objects.get(status=ScorecardStatus.ACTIVE)


def _criterion(version: ScorecardVersion, name: str) -> dict[str, Any]:
    version.refresh_from_db()
    return next(c for c in version.config["criteria"] if c["name"] == name)


def test_it_refuses_to_edit_the_active_version(alice: Any) -> None:
    active = _active()
    before = dict(active.config)

    with pytest.raises(drafts.NotADraft, match="active"):
        drafts.remove_criterion(active, "size_mid")

    active.refresh_from_db()
    assert active.config == before


def test_it_refuses_an_unknown_column_with_the_engines_message(draft: ScorecardVersion) -> None:
    bad = Criterion("mystery", "fit", "equal", 5, "no_such_column", value="x")

    with pytest.raises(ValidationError, match="column 'no_such_column' is not in the leads"):
        drafts.save_criterion(draft, bad)

    draft.refresh_from_db()
    assert all(c["name"] != "mystery" for c in draft.config["criteria"])


def test_it_refuses_a_name_another_criterion_has(draft: ScorecardVersion) -> None:
    clash = Criterion("size_mid", "fit", "is_set", 1, "job_title")

    with pytest.raises(ValidationError, match="already exists"):
        drafts.save_criterion(draft, clash, replace="size_large")


def test_it_creates_a_draft_that_copies_the_active_version(alice: Any) -> None:
    active = _active()

    draft = drafts.create_draft_from_active(user=alice)

    assert draft.status == ScorecardStatus.DRAFT
    assert draft.number == active.number + 1
    assert draft.config == active.config
    assert draft.created_by == alice
    assert draft.note == f"Draft from v{active.number}"
    assert drafts.get_current_draft() == draft


def test_it_changes_a_criterions_points_and_leaves_the_active_version_alone(
    draft: ScorecardVersion,
) -> None:
    old = Criterion.from_dict(_criterion(draft, "size_mid"))
    changed = Criterion(**{**old.__dict__, "points": -7.5})

    drafts.save_criterion(draft, changed, replace="size_mid")

    assert _criterion(draft, "size_mid")["points"] == -7.5
    assert _criterion(_active(), "size_mid")["points"] == old.points


def test_it_adds_and_removes_an_activity_criterion(draft: ScorecardVersion) -> None:
    from leadsieve.engine.types import ActivityCondition

    webinar = Criterion(
        "webinar",
        "interest",
        "activity",
        4,
        activity=ActivityCondition("form_submit", within_days=30, subject_contains="webinar"),
        per_event=True,
    )
    drafts.save_criterion(draft, webinar)
    assert _criterion(draft, "webinar")["activity"]["subject_contains"] == "webinar"

    drafts.remove_criterion(draft, "webinar")
    draft.refresh_from_db()
    assert all(c["name"] != "webinar" for c in draft.config["criteria"])
    with pytest.raises(ValidationError, match="No criterion named 'webinar'"):
        drafts.remove_criterion(draft, "webinar")


def test_it_replaces_caps_decay_thresholds_and_grades(draft: ScorecardVersion) -> None:
    drafts.set_caps(draft, [Cap("fit", max=40), Cap("interest", group="web", max=5, min=0)])
    drafts.set_interest_rules(draft, [InterestRule("page_visit", 2, 3.5, cap=6)])
    drafts.set_thresholds(
        draft,
        thresholds=[StatusRule("mql", min_fit=20), StatusRule("sql", min_total=70)],
        grade_bands=GradeBands(a=50, b=35, c=20),
    )

    draft.refresh_from_db()
    assert draft.config["caps"][1] == {"dimension": "interest", "group": "web", "max": 5, "min": 0}
    assert draft.config["interest_rules"] == [
        {"kind": "page_visit", "points": 2, "half_life_days": 3.5, "cap": 6}
    ]
    assert draft.config["thresholds"][1]["min_total"] == 70
    assert draft.config["grade_bands"] == {"a": 50, "b": 35, "c": 20}


def test_the_engine_refuses_a_cap_whose_floor_exceeds_it(draft: ScorecardVersion) -> None:
    with pytest.raises(ValidationError, match="min greater than max"):
        drafts.set_caps(draft, [Cap("fit", max=10, min=20)])


def test_it_lists_lead_company_custom_and_activity_fields(db: None) -> None:
    from leadsieve.leads.models import FieldDefinition

    FieldDefinition.objects.create(key="plan_tier", label="Plan tier", type="choice")
    FieldDefinition.objects.create(key="seats", label="Seats", type="number")
    FieldDefinition.objects.create(key="renewal", label="Renewal", type="date")

    options = {o.column: o for o in drafts.list_field_options()}

    assert options["job_title"].group == "Lead"
    assert options["company__size"].kind == "number"
    assert options["custom__plan_tier"].group == "Custom attributes"
    assert options["custom__seats"].kind == "number"
    assert "custom__renewal" not in options  # the engine has no date operators
    assert options[drafts.ACTIVITY_FIELD].kind == "activity"


def test_publishing_makes_the_draft_active_keeps_history_and_rescores(
    draft: ScorecardVersion, alice: Any, make_lead: Callable[..., Any]
) -> None:
    old = _active()
    lead = make_lead(job_title="Head of IT")
    closed = make_lead(outcome=Outcome.WON)

    outcome = drafts.publish_draft(draft, user=alice, note="Published after the backtest")

    old.refresh_from_db()
    draft.refresh_from_db()
    assert draft.status == ScorecardStatus.ACTIVE and draft.published_at is not None
    assert draft.note == "Published after the backtest"
    assert old.status == ScorecardStatus.ARCHIVED
    assert outcome.n_rescored == 1 and not outcome.is_rescore_queued
    lead.refresh_from_db()
    closed.refresh_from_db()
    assert lead.scorecard_version == draft.number
    assert closed.scorecard_version is None
    with pytest.raises(drafts.NotADraft):
        drafts.publish_draft(draft, user=alice)


def test_publishing_many_open_leads_rescores_them_through_the_task(
    draft: ScorecardVersion, alice: Any, make_lead: Callable[..., Any]
) -> None:
    lead = make_lead()

    # The tests' task backend runs a task as it is enqueued.
    outcome = drafts.publish_draft(draft, user=alice, inline_max=0)

    assert outcome.is_rescore_queued and outcome.n_rescored is None
    lead.refresh_from_db()
    assert lead.scorecard_version == draft.number


def test_it_lists_what_a_draft_changes_in_plain_words(draft: ScorecardVersion) -> None:
    active = _active()
    assert drafts.list_changes(active.config, draft.config) == []
    old = Criterion.from_dict(_criterion(draft, "size_mid"))
    drafts.save_criterion(draft, Criterion(**{**old.__dict__, "points": 40}), replace="size_mid")
    drafts.save_criterion(
        draft, Criterion("cto", "fit", "contains", 5, "job_title", value=("cto",))
    )
    drafts.remove_criterion(draft, "free_mail")
    drafts.set_caps(draft, [Cap("fit", max=40)])
    drafts.set_interest_rules(draft, [InterestRule("page_visit", 2, 3.5, cap=6)])
    drafts.set_thresholds(
        draft, thresholds=[StatusRule("mql", min_fit=20)], grade_bands=GradeBands(50, 35, 20)
    )
    draft.refresh_from_db()

    changes = drafts.list_changes(active.config, draft.config)

    assert changes[:3] == [
        "Criterion size_mid: points +15 → +40.",
        "Added criterion cto: Job title contains 'cto' (+5).",
        "Removed criterion free_mail: Email domain is a free-mail provider.",
    ]
    assert "Cap removed: fit group “company”: cap 30." in changes
    assert "Cap added: fit whole dimension: cap 40." in changes
    assert "Interest decay for form_submit changed." in changes
    assert "MQL rule: fit ≥ 20 and interest ≥ 10 → fit ≥ 20." not in changes
    assert "MQL rule: fit ≥ 25 and interest ≥ 10 → fit ≥ 20." in changes
    assert "SQL rule: fit ≥ 25 and interest ≥ 10 and readiness ≥ 30 → no rule." in changes
    assert "Fit grade bands A/B/C: 45/30/15 → 50/35/20." in changes
