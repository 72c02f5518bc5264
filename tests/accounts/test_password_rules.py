"""Password rules (Django's validators) wherever a password is set: the password page, the
admin, ``createsuperuser`` with or without prompts, and the passwords demo mode makes up.
"""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from tests.conftest import PASSWORD


@pytest.fixture
def bob_client(db: None, bob: Any) -> Client:
    client = Client()
    client.force_login(bob)
    return client


@pytest.mark.parametrize(
    ("new", "rule"),
    [
        ("a", "too short"),
        ("password1234", "too common"),
        ("839271645093", "entirely numeric"),
        ("bob@example.test", "too similar"),
    ],
)
def test_the_password_page_refuses_a_weak_new_password(
    bob_client: Client, bob: Any, new: str, rule: str
) -> None:
    response = bob_client.post(
        "/accounts/password/",
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )

    assert response.status_code == 200
    assert rule in response.content.decode()
    bob.refresh_from_db()
    assert bob.check_password(PASSWORD)


def test_the_admin_refuses_a_weak_password_for_a_new_user(admin_user: Any) -> None:
    from leadsieve.accounts.models import User

    client = Client()
    client.force_login(admin_user)
    response = client.post(
        "/admin/accounts/user/add/",
        {"username": "dave", "usable_password": "true", "password1": "a", "password2": "a"},
    )

    assert response.status_code == 200
    assert "too short" in response.content.decode()
    assert not User.objects.filter(username="dave").exists()


def test_createsuperuser_without_prompts_refuses_a_weak_password(
    db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from leadsieve.accounts.models import User

    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a")
    with pytest.raises(CommandError, match=r"DJANGO_SUPERUSER_PASSWORD is refused: .*too short"):
        call_command("createsuperuser", interactive=False, username="ops", email="ops@example.test")

    assert not User.objects.filter(username="ops").exists()


def test_createsuperuser_without_prompts_accepts_a_strong_password(
    db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from leadsieve.accounts.models import User

    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "violet tractor harbour 77")
    call_command(
        "createsuperuser",
        interactive=False,
        username="ops",
        email="ops@example.test",
        stdout=io.StringIO(),
    )

    ops = User.objects.get(username="ops")
    assert ops.is_superuser and ops.check_password("violet tractor harbour 77")


def test_the_demo_admin_password_passes_the_rules(db: None, settings: Any) -> None:
    from leadsieve.accounts.models import User

    settings.DEMO = True
    out = io.StringIO()
    call_command("create_demo_admin", stdout=out)

    password = re.search(r"password: (\S+)", out.getvalue())
    assert password is not None
    admin = User.objects.get(username="admin")
    assert admin.check_password(password.group(1))
    validate_password(password.group(1), admin)


def test_generated_passwords_pass_the_rules(db: None, settings: Any) -> None:
    from leadsieve.accounts.passwords import generate_password

    settings.AUTH_PASSWORD_VALIDATORS = [
        *settings.AUTH_PASSWORD_VALIDATORS,
        {
            "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
            "OPTIONS": {"min_length": 20},
        },
    ]
    for _ in range(20):
        validate_password(generate_password())
