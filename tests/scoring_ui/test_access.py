"""Who may do what on the scorecard pages, checked on the server for every view and POST.

One scorecard serves the whole installation: everyone signed in reads the published
versions (they explain the ratings); only managers and admins see drafts, backtest and change.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from leadsieve.scoring import drafts
from leadsieve.scoring.models import BacktestRun, ScorecardStatus, ScorecardVersion


def _posts(number: int) -> dict[str, tuple[str, dict[str, Any]]]:
    """Every POST of the editor with a valid body, for draft ``number``."""
    return {
        "create_draft": (reverse("scoring:create_draft"), {"note": "x"}),
        "add_criterion": (
            reverse("scoring:add_criterion", args=[number]),
            {
                "name": "title_cto",
                "dimension": "fit",
                "field": "job_title",
                "operator": "contains",
                "value": "cto",
                "points": "5",
            },
        ),
        "edit_criterion": (
            reverse("scoring:edit_criterion", args=[number, "size_mid"]),
            {
                "name": "size_mid",
                "dimension": "fit",
                "field": "company__size",
                "operator": "range",
                "min": "50",
                "max": "1000",
                "points": "99",
                "group": "company",
            },
        ),
        "remove_criterion": (
            reverse("scoring:remove_criterion", args=[number]),
            {"name": "free_mail"},
        ),
        "save_caps": (
            reverse("scoring:save_caps", args=[number]),
            {
                "caps-TOTAL_FORMS": "1",
                "caps-INITIAL_FORMS": "0",
                "caps-0-dimension": "fit",
                "caps-0-max": "10",
            },
        ),
        "save_decay": (
            reverse("scoring:save_decay", args=[number]),
            {"call__points": "3", "call__half_life_days": "10"},
        ),
        "save_thresholds": (
            reverse("scoring:save_thresholds", args=[number]),
            {"mql_min_fit": "1", "grade_a": "3", "grade_b": "2", "grade_c": "1"},
        ),
        "start_backtest": (
            reverse("scoring:start_backtest", args=[number]),
            {"date_from": "2025-01-01", "date_to": "2025-12-31"},
        ),
        "publish": (
            reverse("scoring:publish", args=[number]),
            {"note": "Go", "confirm": "on"},
        ),
    }


POST_NAMES = list(_posts(0))


def _snapshot() -> list[tuple[int, str, Any, str]]:
    """Everything a POST could change: versions (status, config, note) and backtest runs."""
    rows = [(v.number, v.status, v.config, v.note) for v in ScorecardVersion.objects.all()]
    return [*rows, (-1, "runs", BacktestRun.objects.count(), "")]


@pytest.fixture
def run(draft: Any, alice: Any) -> BacktestRun:
    start, end = datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)
    return drafts.start_backtest(draft, period_start=start, period_end=end, user=alice)


GET_VIEWS = (
    "scorecard",
    "version",
    "add_criterion",
    "edit_criterion",
    "publish",
    "backtest",
    "chart",
    "backtest_csv",
)


def _get_args(name: str, draft: Any, run: BacktestRun) -> list[Any]:
    return {
        "scorecard": [],
        "version": [draft.number],
        "edit_criterion": [draft.number, "size_mid"],
        "add_criterion": [draft.number],
        "publish": [draft.number],
        "chart": [run.pk, 0],
    }.get(name, [run.pk])


@pytest.mark.parametrize("name", GET_VIEWS)
def test_it_sends_anonymous_visitors_to_the_sign_in_page(
    draft: Any, run: BacktestRun, name: str
) -> None:
    url = reverse(f"scoring:{name}", args=_get_args(name, draft, run))

    response = Client().get(url)
    htmx = Client().get(url, headers={"HX-Request": "true"})

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")
    assert htmx.status_code == 204 and htmx["HX-Redirect"].startswith("/accounts/login/")


@pytest.mark.parametrize("name", POST_NAMES)
def test_it_refuses_anonymous_posts_without_changing_anything(draft: Any, name: str) -> None:
    url, data = _posts(draft.number)[name]
    before = _snapshot()

    response = Client().post(url, data)

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
    assert _snapshot() == before


@pytest.mark.parametrize("persona", ["bob", "carol"])
@pytest.mark.parametrize("name", POST_NAMES)
def test_it_refuses_every_post_from_a_rep_without_changing_anything(
    request: pytest.FixtureRequest,
    client_for: Callable[[Any], Client],
    draft: Any,
    persona: str,
    name: str,
) -> None:
    url, data = _posts(draft.number)[name]
    before = _snapshot()

    response = client_for(request.getfixturevalue(persona)).post(url, data)

    assert response.status_code == 403
    assert _snapshot() == before


def test_a_rep_reads_the_active_version_but_sees_no_draft(
    client_for: Callable[[Any], Client], bob: Any, draft: Any
) -> None:
    client = client_for(bob)

    page = client.get(reverse("scoring:scorecard"))
    active = client.get(reverse("scoring:version", args=[1]))
    hidden = client.get(reverse("scoring:version", args=[draft.number]))

    assert page.status_code == 200 and active.status_code == 200
    body = page.content.decode()
    assert "Job title says student" in body  # a disqualifier of the default scorecard
    assert "Try software first" not in body and "Create a draft" not in body
    assert "Edit" not in active.content.decode().replace("Edited", "")
    assert hidden.status_code == 403


@pytest.mark.parametrize(
    "name",
    ["add_criterion", "edit_criterion", "publish", "backtest", "chart", "backtest_csv"],
)
def test_a_rep_cannot_open_the_editor_pages(
    client_for: Callable[[Any], Client], bob: Any, draft: Any, run: BacktestRun, name: str
) -> None:
    args: dict[str, list[Any]] = {
        "add_criterion": [draft.number],
        "edit_criterion": [draft.number, "size_mid"],
        "publish": [draft.number],
        "backtest": [run.pk],
        "chart": [run.pk, 0],
        "backtest_csv": [run.pk],
    }

    response = client_for(bob).get(reverse(f"scoring:{name}", args=args[name]))

    assert response.status_code == 403


@pytest.mark.parametrize("persona", ["alice", "admin_user"])
@pytest.mark.parametrize("name", POST_NAMES)
def test_managers_and_admins_may_post_every_action(
    request: pytest.FixtureRequest,
    client_for: Callable[[Any], Client],
    draft: Any,
    persona: str,
    name: str,
) -> None:
    url, data = _posts(draft.number)[name]
    before = _snapshot()

    response = client_for(request.getfixturevalue(persona)).post(url, data)

    assert response.status_code == 302
    assert response["Location"].startswith("/scorecard/")
    assert _snapshot() != before


@pytest.mark.parametrize("name", [n for n in POST_NAMES if n not in ("create_draft",)])
def test_a_published_version_is_never_edited(
    client_for: Callable[[Any], Client], alice: Any, name: str
) -> None:
    active = ScorecardVersion.objects.get(status=ScorecardStatus.ACTIVE)
    url, data = _posts(active.number)[name]
    before = _snapshot()

    response = client_for(alice).post(url, data)

    assert response.status_code == 404
    assert _snapshot() == before
