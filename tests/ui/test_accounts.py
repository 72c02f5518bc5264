"""Signing in and out, and changing one's password."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.test import Client

from tests.conftest import PASSWORD


def test_it_refuses_a_wrong_password_with_a_clear_message(db: None, bob: Any) -> None:
    response = Client().post("/accounts/login/", {"username": "bob", "password": "nope"})

    assert response.status_code == 200
    assert "correct username and password" in response.content.decode()
    assert "_auth_user_id" not in response.wsgi_request.session


def test_it_ignores_an_offsite_next_after_sign_in(db: None, bob: Any) -> None:
    response = Client().post(
        "/accounts/login/?next=https://evil.test/",
        {"username": "bob", "password": PASSWORD, "next": "https://evil.test/"},
    )

    assert response.status_code == 302
    assert response["Location"] == "/"


def test_it_refuses_to_sign_out_on_a_get(client_for: Callable[[Any], Client], bob: Any) -> None:
    client = client_for(bob)

    assert client.get("/accounts/logout/").status_code == 405
    assert client.get("/").status_code == 200


def test_it_signs_in_and_out(db: None, bob: Any) -> None:
    client = Client()

    signed_in = client.post("/accounts/login/", {"username": "bob", "password": PASSWORD})
    today = client.get("/")
    signed_out = client.post("/accounts/logout/")

    assert signed_in["Location"] == "/"
    assert "Signed in as" in today.content.decode()
    assert signed_out["Location"] == "/accounts/login/"
    assert client.get("/")["Location"].startswith("/accounts/login/")


def test_it_changes_the_password_and_keeps_the_session(
    client_for: Callable[[Any], Client], bob: Any
) -> None:
    client = client_for(bob)
    new = "a much longer passphrase 42"

    wrong = client.post(
        "/accounts/password/",
        {"old_password": "nope", "new_password1": new, "new_password2": new},
    )
    done = client.post(
        "/accounts/password/",
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )

    assert "Your old password was entered incorrectly" in wrong.content.decode()
    assert done["Location"] == "/accounts/password/done/"
    assert client.get("/").status_code == 200
    bob.refresh_from_db()
    assert bob.check_password(new)


def test_it_hides_internal_details_on_a_404(client_for: Callable[[Any], Client], bob: Any) -> None:
    response = client_for(bob).get("/leads/999999/")

    assert response.status_code == 404
    assert "not yours to see" in response.content.decode()
    assert "Traceback" not in response.content.decode()


def test_it_explains_an_expired_form_without_changing_anything(db: None, bob: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(bob)

    response = client.post("/accounts/logout/")

    assert response.status_code == 403
    assert "This form expired" in response.content.decode()
    assert client.get("/").status_code == 200


def test_it_renders_the_500_page_without_any_context() -> None:
    from django.template.loader import render_to_string

    html = render_to_string("500.html")

    assert "Something went wrong on our side." in html
    assert "Traceback" not in html
