"""The scorecard pages: what they show, the errors they name, the backtest and publishing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from leadsieve.scoring import drafts
from leadsieve.scoring.models import BacktestRun, BacktestState, ScorecardStatus, ScorecardVersion
from tests.scoring.synthetic import make_history

CRITERION = {
    "name": "title_cto",
    "dimension": "fit",
    "field": "job_title",
    "operator": "contains",
    "value": "cto, chief technology",
    "points": "-4",
}


def _config(version: ScorecardVersion) -> dict[str, Any]:
    version.refresh_from_db()
    return dict(version.config)


def _criterion(version: ScorecardVersion, name: str) -> dict[str, Any] | None:
    return next((c for c in _config(version)["criteria"] if c["name"] == name), None)


def test_the_scorecard_page_shows_the_active_version_readably(
    client_for: Callable[[Any], Client], alice: Any, draft: Any
) -> None:
    body = client_for(alice).get(reverse("scoring:scorecard")).content.decode()

    assert "v1</strong> is active" in body
    assert "Company size between 50 and 1000" in body  # criterion in words
    assert "+15" in body  # its points
    assert "group “company”" in body  # a group cap
    assert "A from 45 fit points" in body  # grade bands
    # MQL/SQL thresholds, with their words apart (a spaceless template once gave
    # "fit ≥ 25interest ≥ 10").
    assert "<dd>fit ≥ 25 and interest ≥ 10</dd>" in body
    assert "<dd>fit ≥ 25 and interest ≥ 10 and readiness ≥ 30</dd>" in body
    assert "Job title says student" in body  # disqualification rule
    assert "Short-range when the timeline is now or quarter" in body  # horizon rule
    assert f"Draft v{draft.number}" in body and "Try software first" in body


def test_the_scorecard_page_reads_in_a_fixed_number_of_queries(
    client_for: Callable[[Any], Client],
    alice: Any,
    django_assert_max_num_queries: Any,
) -> None:
    for n in range(6):
        drafts.publish_draft(drafts.create_draft_from_active(user=alice, note=f"n{n}"), user=alice)
    drafts.create_draft_from_active(user=alice)
    client = client_for(alice)

    with django_assert_max_num_queries(10):
        response = client.get(reverse("scoring:scorecard"))

    assert response.status_code == 200
    assert response.content.decode().count("/scorecard/v") >= 7


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"value": ""}, "value", "needs a value"),
        (
            {"field": "company__size", "operator": "equal", "value": "fifty"},
            "value",
            "not a number",
        ),
        (
            {"field": "do_not_contact", "operator": "equal", "value": "perhaps"},
            "value",
            "yes or no",
        ),
        ({"operator": "range", "value": ""}, "min", "Give a min, a max, or both"),
        ({"operator": "range", "min": "9", "max": "3"}, "max", "Max must be at least min"),
        ({"field": "@activity", "operator": ""}, "activity_kind", "Choose which activities"),
        ({"operator": ""}, "operator", "Choose an operator"),
        ({"points": ""}, "points", "Give the points"),
        ({"name": "size_mid"}, "name", "already exists"),
        ({"field": "nowhere"}, "field", "Select a valid choice"),
        ({"operator": "free_mail"}, "operator", "applies to the email domain"),
    ],
)
def test_a_bad_criterion_is_refused_with_the_field_named(
    client_for: Callable[[Any], Client],
    alice: Any,
    draft: Any,
    changes: dict[str, str],
    field: str,
    message: str,
) -> None:
    before = _config(draft)

    response = client_for(alice).post(
        reverse("scoring:add_criterion", args=[draft.number]), {**CRITERION, **changes}
    )

    assert response.status_code == 400
    form = response.context["form"]
    assert any(message in error for error in form.errors[field]), form.errors
    assert _config(draft) == before


def test_it_adds_edits_and_removes_criteria_of_every_kind(
    client_for: Callable[[Any], Client], alice: Any, draft: Any
) -> None:
    from leadsieve.leads.models import FieldDefinition

    FieldDefinition.objects.create(key="seats", label="Seats", type="number")
    client = client_for(alice)
    add = reverse("scoring:add_criterion", args=[draft.number])

    assert client.post(add, CRITERION).status_code == 302
    assert (
        client.post(
            add,
            {
                **CRITERION,
                "name": "seats_many",
                "field": "custom__seats",
                "operator": "one_of",
                "value": "50, 100.5",
                "points": "6",
            },
        ).status_code
        == 302
    )
    assert (
        client.post(
            add,
            {
                "name": "webinar",
                "dimension": "interest",
                "field": "@activity",
                "activity_kind": "form_submit",
                "within_days": "30",
                "min_count": "2",
                "subject_contains": "webinar",
                "per_event": "on",
                "points": "3",
            },
        ).status_code
        == 302
    )
    assert (
        client.post(
            add,
            {
                "name": "dnc",
                "dimension": "disqualify",
                "field": "do_not_contact",
                "operator": "equal",
                "value": "yes",
                "points": "12",
            },
        ).status_code
        == 302
    )

    editor = client.get(reverse("scoring:version", args=[draft.number])).content.decode()
    assert "Changes from the active version v1" in editor
    assert "Added criterion webinar" in editor
    assert _criterion(draft, "title_cto")["value"] == ["cto", "chief technology"]
    assert _criterion(draft, "title_cto")["points"] == -4
    assert _criterion(draft, "seats_many")["value"] == [50, 100.5]
    webinar = _criterion(draft, "webinar")
    assert webinar["operator"] == "activity" and webinar["per_event"] is True
    assert webinar["activity"] == {
        "kind": "form_submit",
        "within_days": 30.0,
        "url_contains": None,
        "subject_contains": "webinar",
        "min_count": 2,
    }
    assert _criterion(draft, "dnc")["value"] is True and _criterion(draft, "dnc")["points"] == 0

    edit = reverse("scoring:edit_criterion", args=[draft.number, "webinar"])
    page = client.get(edit).content.decode()
    assert 'value="webinar"' in page and 'value="30.0"' in page
    assert client.post(edit, {**CRITERION, "name": "cto_renamed"}).status_code == 302
    assert _criterion(draft, "webinar") is None
    assert _criterion(draft, "cto_renamed") is not None

    remove = reverse("scoring:remove_criterion", args=[draft.number])
    assert client.post(remove, {"name": "cto_renamed"}).status_code == 302
    assert _criterion(draft, "cto_renamed") is None
    assert client.get(edit).status_code == 404


def test_caps_decay_and_thresholds_errors_name_their_field(
    client_for: Callable[[Any], Client], alice: Any, draft: Any
) -> None:
    client = client_for(alice)
    before = _config(draft)

    caps = client.post(
        reverse("scoring:save_caps", args=[draft.number]),
        {
            "caps-TOTAL_FORMS": "1",
            "caps-INITIAL_FORMS": "0",
            "caps-0-dimension": "fit",
            "caps-0-min": "20",
            "caps-0-max": "10",
        },
    )
    decay = client.post(reverse("scoring:save_decay", args=[draft.number]), {"call__points": "3"})
    thresholds = client.post(
        reverse("scoring:save_thresholds", args=[draft.number]),
        {"grade_a": "10", "grade_b": "20", "grade_c": "x"},
    )

    assert caps.status_code == decay.status_code == thresholds.status_code == 400
    assert "at least the floor" in caps.context["caps_formset"].forms[0].errors["max"][0]
    assert "half-life" in decay.context["decay_form"].errors["call__half_life_days"][0]
    form = thresholds.context["thresholds_form"]
    assert "cannot need more fit than grade A" in form.errors["grade_b"][0]
    assert "grade_c" in form.errors
    assert _config(draft) == before


def test_it_saves_caps_decay_and_thresholds(
    client_for: Callable[[Any], Client], alice: Any, draft: Any
) -> None:
    client = client_for(alice)
    page = client.get(reverse("scoring:version", args=[draft.number]))
    formset = page.context["caps_formset"]
    data = {"caps-TOTAL_FORMS": str(len(formset.forms)), "caps-INITIAL_FORMS": "0"}
    for i, cap in enumerate(formset.initial):
        for key in ("dimension", "group", "min", "max"):
            data[f"caps-{i}-{key}"] = "" if cap[key] is None else str(cap[key])
    data["caps-0-DELETE"] = "on"
    extra = len(formset.initial)
    data.update(
        {
            f"caps-{extra}-dimension": "interest",
            f"caps-{extra}-group": "web",
            f"caps-{extra}-max": "7",
        }
    )

    assert client.post(reverse("scoring:save_caps", args=[draft.number]), data).status_code == 302
    assert (
        client.post(
            reverse("scoring:save_decay", args=[draft.number]),
            {"page_visit__points": "2", "page_visit__half_life_days": "3", "page_visit__cap": "9"},
        ).status_code
        == 302
    )
    assert (
        client.post(
            reverse("scoring:save_thresholds", args=[draft.number]),
            {"sql_min_total": "80", "grade_a": "40", "grade_b": "30", "grade_c": "5"},
        ).status_code
        == 302
    )

    config = _config(draft)
    assert len(config["caps"]) == len(formset.initial)  # one deleted, one added
    assert {"dimension": "interest", "group": "web", "max": 7.0, "min": None} in config["caps"]
    assert config["interest_rules"] == [
        {"kind": "page_visit", "points": 2.0, "half_life_days": 3.0, "cap": 9.0}
    ]
    assert config["thresholds"] == [
        {
            "status": "sql",
            "min_fit": None,
            "min_interest": None,
            "min_readiness": None,
            "min_total": 80.0,
        }
    ]
    assert config["grade_bands"] == {"a": 40.0, "b": 30.0, "c": 5.0}


def test_a_backtest_period_must_be_a_real_forward_range(
    client_for: Callable[[Any], Client], alice: Any, draft: Any
) -> None:
    response = client_for(alice).post(
        reverse("scoring:start_backtest", args=[draft.number]),
        {"date_from": "2025-06-01", "date_to": "2025-01-01", "days_after_creation": "-1"},
    )

    assert response.status_code == 400
    form = response.context["backtest_form"]
    assert "must not come before" in form.errors["date_to"][0]
    assert "days_after_creation" in form.errors
    assert not BacktestRun.objects.exists()


def test_the_backtest_page_says_what_to_do_with_an_empty_history(
    client_for: Callable[[Any], Client], alice: Any, draft: Any
) -> None:
    response = client_for(alice).post(
        reverse("scoring:start_backtest", args=[draft.number]),
        {"date_from": "2025-01-01", "date_to": "2025-12-31"},
        follow=True,
    )

    body = response.content.decode()
    assert "No backtest result." in body and "Widen the period" in body


def test_the_backtest_shows_the_draft_next_to_the_active_version(
    client_for: Callable[[Any], Client], alice: Any, draft: Any
) -> None:
    make_history(200)
    client = client_for(alice)

    response = client.post(
        reverse("scoring:start_backtest", args=[draft.number]),
        {"date_from": "2025-01-01", "date_to": "2025-12-31"},
        follow=True,
    )

    body = response.content.decode()
    run = BacktestRun.objects.get()
    assert run.state == BacktestState.DONE
    for text in (
        "ROC-AUC",
        "PR-AUC",
        "Log-loss",
        "Brier score",
        "ECE",
        "MQL precision",
        "MQL recall",
        "Conversion by rating band",
        "Conversion by fit grade",
        "Lift by decile",
        "active v1",
        f"draft v{draft.number}",
        "200 closed leads",
    ):
        assert text in body, text
    chart_url = reverse("scoring:chart", args=[run.pk, 1])
    assert f'src="{chart_url}"' in body
    chart = client.get(chart_url)
    assert chart["Content-Type"] == "image/svg+xml"
    assert "default-src 'none'" in chart["Content-Security-Policy"]
    assert b"<svg" in chart.content
    assert client.get(reverse("scoring:chart", args=[run.pk, 5])).status_code == 404
    download = client.get(reverse("scoring:backtest_csv", args=[run.pk]))
    assert download["Content-Disposition"].startswith("attachment;")
    assert "roc_auc" in download.content.decode()


def test_a_running_backtest_shows_its_progress_and_polls(
    client_for: Callable[[Any], Client], alice: Any, draft: Any
) -> None:
    run = BacktestRun.objects.create(
        version=draft,
        period_start=datetime(2025, 1, 1, tzinfo=UTC),
        period_end=datetime(2026, 1, 1, tzinfo=UTC),
        n_leads=50_000,
    )
    client = client_for(alice)

    page = client.get(reverse("scoring:backtest", args=[run.pk])).content.decode()
    fragment = client.get(
        reverse("scoring:backtest", args=[run.pk]),
        headers={"HX-Request": "true", "HX-Target": "backtest"},
    ).content.decode()

    assert "Waiting for the background worker" in page and "50000 closed leads" in page
    assert 'hx-trigger="every 2s"' in fragment and "<html" not in fragment
    assert client.get(reverse("scoring:backtest_csv", args=[run.pk])).status_code == 404


def test_publishing_needs_a_note_and_a_confirmation(
    client_for: Callable[[Any], Client], alice: Any, draft: Any
) -> None:
    client = client_for(alice)
    url = reverse("scoring:publish", args=[draft.number])

    page = client.get(url).content.decode()
    refused = client.post(url, {"note": ""})

    assert "has not been backtested" in page and "kept as history" in page
    assert "This draft is the same as v1." in page
    assert refused.status_code == 400
    assert "Tick the box" in refused.context["form"].errors["confirm"][0]
    assert "note" in refused.context["form"].errors
    draft.refresh_from_db()
    assert draft.status == ScorecardStatus.DRAFT


def test_publishing_keeps_the_old_version_readable_as_history(
    client_for: Callable[[Any], Client], alice: Any, bob: Any, draft: Any
) -> None:
    response = client_for(alice).post(
        reverse("scoring:publish", args=[draft.number]),
        {"note": "Software first, <b>bold</b>", "confirm": "on"},
        follow=True,
    )

    body = response.content.decode()
    assert f"Scorecard v{draft.number} is active; v1 is kept as history" in body
    assert "&lt;b&gt;bold&lt;/b&gt;" in body and "<b>bold</b>" not in body
    old = client_for(bob).get(reverse("scoring:version", args=[1]))
    assert old.status_code == 200 and "Archived" in old.content.decode()


def test_the_caps_form_saves_unchanged_as_rendered_with_its_blank_extra_rows(
    client_for: Callable[[Any], Client], alice: Any, draft: Any
) -> None:
    client = client_for(alice)
    formset = client.get(reverse("scoring:version", args=[draft.number])).context["caps_formset"]
    data = {"caps-TOTAL_FORMS": str(len(formset.forms)), "caps-INITIAL_FORMS": "0"}
    for form in formset.forms:
        for name in form.fields:
            value = form[name].value()
            if name != "DELETE":
                data[f"{form.prefix}-{name}"] = "" if value is None else str(value)
    before = _config(draft)["caps"]

    response = client.post(reverse("scoring:save_caps", args=[draft.number]), data)

    assert response.status_code == 302
    assert _config(draft)["caps"] == before


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ("The scorecard is invalid: criterion 'column_x': unknown operator 'zz'", "operator"),
        ("The scorecard is invalid: criterion 'op': column 'a' is not in the leads frame", "field"),
        ("The scorecard is invalid: criterion 'x': 'range' has min greater than max", "min"),
        ("A criterion named 'x' already exists.", "name"),
        ("The scorecard is invalid: grade bands must satisfy A ≥ B ≥ C", None),
    ],
)
def test_an_engine_message_lands_on_the_field_it_names(message: str, field: str | None) -> None:
    from leadsieve.scoring.views import _engine_error_field

    assert _engine_error_field(message) == field


def test_the_scorecard_page_explains_what_to_do_without_an_active_version(
    client_for: Callable[[Any], Client], bob: Any
) -> None:
    ScorecardVersion.objects.filter(status=ScorecardStatus.ACTIVE).update(
        status=ScorecardStatus.ARCHIVED
    )

    response = client_for(bob).get(reverse("scoring:scorecard"))

    assert response.status_code == 200
    assert "No scorecard is active." in response.content.decode()


def test_the_editor_and_a_backtest_page_read_in_a_fixed_number_of_queries(
    client_for: Callable[[Any], Client],
    alice: Any,
    draft: Any,
    django_assert_max_num_queries: Any,
) -> None:
    start, end = datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)
    runs = [
        drafts.start_backtest(draft, period_start=start, period_end=end, user=alice)
        for _ in range(8)
    ]
    client = client_for(alice)

    with django_assert_max_num_queries(12):
        editor = client.get(reverse("scoring:version", args=[draft.number]))
    with django_assert_max_num_queries(6):
        run_page = client.get(reverse("scoring:backtest", args=[runs[0].pk]))

    assert editor.status_code == run_page.status_code == 200
    assert editor.content.decode().count("/scorecard/backtests/") == 8


def test_a_manager_goes_back_to_an_archived_version_through_a_new_draft(
    client_for: Callable[[Any], Client], alice: Any, bob: Any, draft: Any
) -> None:
    from leadsieve.engine.types import Criterion

    drafts.save_criterion(
        draft, Criterion("cto", "fit", "contains", 5, "job_title", value=("cto",))
    )
    drafts.publish_draft(draft, user=alice)
    client = client_for(alice)
    archived = client.get(reverse("scoring:version", args=[1])).content.decode()
    assert "Create a draft from v1" in archived
    assert (
        "Create a draft from v1"
        not in client_for(bob).get(reverse("scoring:version", args=[1])).content.decode()
    )

    response = client.post(reverse("scoring:create_draft"), {"source": "1"}, follow=True)

    copy = ScorecardVersion.objects.order_by("-number").first()
    assert copy is not None and copy.status == ScorecardStatus.DRAFT
    assert copy.config == ScorecardVersion.objects.get(number=1).config
    assert f"Draft v{copy.number} created from v1." in response.content.decode()
    assert "Removed criterion cto" in response.content.decode()  # against the active v2
    assert client.post(reverse("scoring:create_draft"), {"source": "99"}).status_code == 404


def test_the_scorecard_page_counts_qualified_leads_the_model_rates_low(
    client_for: Callable[[Any], Client], alice: Any, north: Any, make_lead: Any
) -> None:
    from leadsieve.scoring.models import ModelVersion

    url = reverse("scoring:scorecard")
    make_lead(team=north, status="sql", rating=9, rating_source="model")
    make_lead(team=north, status="sql", rating=12, rating_source="model")
    make_lead(team=north, status="sql", rating=85, rating_source="model")
    make_lead(team=north, status="mql", rating=20, rating_source="model", outcome="lost")
    assert 'id="rated-low"' not in client_for(alice).get(url).content.decode()  # no model yet

    ModelVersion.objects.create(
        artefact="{}", engine_version="test", feature_spec={}, n_rows=300, n_won=60, is_active=True
    )
    page = client_for(alice).get(url).content.decode()
    assert "2 sales-qualified</a>" in page and "0 marketing-qualified</a>" in page
    assert "?status=sql&amp;rating_max=29" in page
