"""Crafted inputs on the new web pages: a bad value is a form error (400), never a 500."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from leadsieve.scoring.models import BacktestRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft(alice: Any) -> Any:
    from leadsieve.scoring.drafts import create_draft_from_active

    return create_draft_from_active(user=alice, note="Review")


def _client(user: Any) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"date_from": "2024-01-01", "date_to": "9999-12-31"}, "date_to"),
        (
            {"date_from": "2024-01-01", "date_to": "2024-02-01", "days_after_creation": "1e300"},
            "days_after_creation",
        ),
    ],
)
def test_a_backtest_period_out_of_range_is_a_form_error(
    alice: Any, draft: Any, values: dict[str, str], field: str
) -> None:
    url = reverse("scoring:start_backtest", args=[draft.number])
    response = _client(alice).post(url, values)
    assert response.status_code == 400
    assert field in response.context["backtest_form"].errors
    assert not BacktestRun.objects.exists()


@pytest.mark.parametrize("name", ["..csv", "....csv", "../../etc/x.csv", "a\\..\\..\\b.csv"])
def test_an_upload_name_never_leaves_the_job_folder(
    alice: Any, settings: Any, tmp_path: Any, name: str
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from leadsieve.intake.models import ImportJob

    settings.DATA_DIR = tmp_path / "data"
    upload = SimpleUploadedFile(name, b"email,first_name\na@example.com,Ann\n", "text/csv")
    response = _client(alice).post(reverse("intake:import_list"), {"file": upload})
    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert job.path.parent == job.folder
    assert job.path.is_file()
    assert job.path.resolve().is_relative_to((tmp_path / "data").resolve())


@pytest.mark.parametrize("name", ["created_to", "activity_to", "created_from", "activity_from"])
@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
def test_a_lead_list_date_at_the_calendar_edge_is_a_form_error(
    alice: Any, name: str, day: str
) -> None:
    client = _client(alice)
    for url in (reverse("leads:list"), reverse("leads:export")):
        response = client.get(url, {name: day})
        assert response.status_code == 400
        assert name in response.context["form"].errors


def test_a_segment_with_an_edge_date_is_not_saved(alice: Any) -> None:
    from leadsieve.segments.models import Segment

    response = _client(alice).post(
        reverse("segments:create"), {"name": "Far", "query": "created_to=9999-12-31"}
    )
    assert response.status_code == 400
    assert not Segment.objects.exists()


@pytest.mark.parametrize("points", ["1e308", "-1e308", "10001"])
def test_criterion_points_beyond_the_limit_are_refused(alice: Any, draft: Any, points: str) -> None:
    before = dict(draft.config)
    criterion = {
        "name": "huge",
        "dimension": "fit",
        "field": "job_title",
        "operator": "contains",
        "value": "cto",
        "points": points,
    }
    response = _client(alice).post(reverse("scoring:add_criterion", args=[draft.number]), criterion)
    assert response.status_code == 400
    assert "points" in response.context["form"].errors
    draft.refresh_from_db()
    assert draft.config == before
