"""Who may use the forms and import pages: admins, and managers for their own team."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from leadsieve.intake.models import ImportJob, ImportStatus
from leadsieve.intake.runs import run_import_job
from leadsieve.intake.services import start_import, store_import_upload
from leadsieve.webforms.models import WebForm

PAGES = ["/intake/forms/", "/intake/forms/new/", "/intake/imports/"]
CSV = b"email,first_name\nann@north.test,Ann\nnot-an-email,Bad\n"


@pytest.fixture
def north_form(north: Any) -> WebForm:
    return WebForm.objects.create(
        name="North demo", slug="north-demo", fields=[{"name": "email"}], team=north
    )


@pytest.fixture
def north_job(alice: Any, north: Any) -> ImportJob:
    job = store_import_upload(SimpleUploadedFile("north.csv", CSV), user=alice, team=north)
    start_import(
        job,
        columns={"email": "email", "first_name": "first_name"},
        source_name="Fair",
        campaign_name="",
        on_error="skip",
    )
    return ImportJob.objects.get(pk=job.pk)


def _object_urls(form: WebForm, job: ImportJob) -> list[str]:
    return [
        f"/intake/forms/{form.pk}/",
        f"/intake/imports/{job.pk}/",
        f"/intake/imports/{job.pk}/progress/",
        f"/intake/imports/{job.pk}/rejected.csv",
    ]


def test_it_sends_anonymous_visitors_to_the_sign_in_page(
    north_form: WebForm, north_job: ImportJob
) -> None:
    for url in PAGES + _object_urls(north_form, north_job):
        response = Client().get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/login/?next="), url


def test_an_htmx_poll_without_a_session_reloads_on_the_sign_in_page(north_job: ImportJob) -> None:
    response = Client().get(f"/intake/imports/{north_job.pk}/progress/", HTTP_HX_REQUEST="true")

    assert response.status_code == 204
    assert response["HX-Redirect"].startswith("/accounts/login/")


def test_it_refuses_a_rep_every_page_and_post(
    client_for: Callable[[Any], Client], bob: Any, north_form: WebForm, north_job: ImportJob
) -> None:
    client = client_for(bob)
    for url in PAGES + _object_urls(north_form, north_job):
        assert client.get(url).status_code == 403, url

    upload = client.post("/intake/imports/", {"file": SimpleUploadedFile("x.csv", CSV)})
    create = client.post("/intake/forms/new/", {"name": "Rep form", "slug": "rep-form"})

    assert upload.status_code == 403 and create.status_code == 403
    assert ImportJob.objects.count() == 1
    assert not WebForm.objects.filter(slug="rep-form").exists()


def test_an_outsider_manager_gets_404_for_north_forms_and_imports(
    client_for: Callable[[Any], Client], stan: Any, north_form: WebForm, north_job: ImportJob
) -> None:
    client = client_for(stan)
    for url in _object_urls(north_form, north_job):
        response = client.get(url)
        assert response.status_code == 404, url
        assert "north" not in response.content.decode().lower(), url

    edit = client.post(f"/intake/forms/{north_form.pk}/", {"name": "Taken", "slug": "taken"})
    mapping = client.post(f"/intake/imports/{north_job.pk}/", {"col_0": "email"})

    assert edit.status_code == 404 and mapping.status_code == 404
    north_form.refresh_from_db()
    assert north_form.name == "North demo"


def test_an_outsider_manager_does_not_see_north_in_the_lists(
    client_for: Callable[[Any], Client], stan: Any, north_form: WebForm, north_job: ImportJob
) -> None:
    client = client_for(stan)

    forms_page = client.get("/intake/forms/").content.decode()
    imports_page = client.get("/intake/imports/").content.decode()

    assert "North demo" not in forms_page and "No web form yet" in forms_page
    assert "north.csv" not in imports_page and "No import yet" in imports_page


def test_the_manager_of_the_team_and_an_admin_see_them(
    client_for: Callable[[Any], Client],
    alice: Any,
    admin_user: Any,
    north_form: WebForm,
    north_job: ImportJob,
) -> None:
    for user in (alice, admin_user):
        client = client_for(user)
        for url in PAGES + _object_urls(north_form, north_job):
            assert client.get(url).status_code == 200, (user, url)
        assert "North demo" in client.get("/intake/forms/").content.decode()
        assert "north.csv" in client.get("/intake/imports/").content.decode()


def test_the_nav_shows_forms_and_import_to_managers_and_admins_only(
    client_for: Callable[[Any], Client], alice: Any, admin_user: Any, bob: Any
) -> None:
    assert "Forms &amp; import" in client_for(alice).get("/leads/").content.decode()
    assert "Forms &amp; import" in client_for(admin_user).get("/leads/").content.decode()
    assert "Forms &amp; import" not in client_for(bob).get("/leads/").content.decode()


def test_a_south_import_of_a_manager_stays_in_south(
    client_for: Callable[[Any], Client], stan: Any, south: Any, data_dir: Path
) -> None:
    response = client_for(stan).post(
        "/intake/imports/", {"file": SimpleUploadedFile("south.csv", CSV)}
    )

    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert job.team == south and job.status == ImportStatus.UPLOADED
    assert run_import_job(job.pk).status == ImportStatus.UPLOADED  # not queued: nothing runs
