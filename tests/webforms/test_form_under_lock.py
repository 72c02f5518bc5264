"""A form post that meets a locked database (SQLite: another writer holds the write lock
past the busy timeout) answers 503 with ``Retry-After`` and stores nothing."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.test import Client

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def short_lock_wait() -> Iterator[None]:
    options = connection.settings_dict["OPTIONS"]
    before = options.get("timeout")
    connection.close()
    options["timeout"] = 0.2
    try:
        yield
    finally:
        connection.close()
        options["timeout"] = before


def test_a_form_post_meeting_a_locked_database_answers_503_and_stores_nothing(
    bob: Any, short_lock_wait: None
) -> None:
    from leadsieve.leads.models import Lead
    from leadsieve.webforms.models import WebForm

    if connection.vendor != "sqlite":
        pytest.skip("SQLite's database-wide write lock")
    WebForm.objects.create(
        name="Contact",
        slug="contact",
        fields=[{"name": "first_name"}, {"name": "email", "required": True}],
        consent_text="I agree.",
        team=bob.team,
    )
    holder = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        response = Client().post(
            "/f/contact/",
            {"first_name": "Ann", "email": "ann@acme.test", "consent": "on"},
            headers={"Accept": "application/json", "Origin": "https://www.example.org"},
        )
    finally:
        holder.execute("ROLLBACK")
        holder.close()

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json()["errors"][0]["field"] == "request"
    assert not Lead.objects.exists()
