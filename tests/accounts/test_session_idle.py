"""Sessions end after 12 hours without activity; activity renews them without writing the
session table on every request.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

START = datetime.fromisoformat("2026-03-02 09:00:00+00:00")


def _session_writes(queries: CaptureQueriesContext) -> list[str]:
    return [
        q["sql"]
        for q in queries.captured_queries
        if "django_session" in q["sql"]
        and q["sql"].lstrip().upper().startswith(("UPDATE", "INSERT"))
    ]


def _at(offset: timedelta) -> Any:
    return time_machine.travel(START + offset, tick=False)


def test_a_session_ends_after_twelve_hours_without_activity(db: None, bob: Any) -> None:
    client = Client()
    with _at(timedelta(0)):
        client.force_login(bob)
        assert client.get("/").status_code == 200
    with _at(timedelta(hours=11, minutes=58)):
        assert client.get("/").status_code == 200  # active again: twelve more hours
    with _at(timedelta(hours=23, minutes=50)):
        assert client.get("/").status_code == 200
    with _at(timedelta(hours=36)):
        response = client.get("/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_a_busy_session_is_written_once_per_five_minutes_not_per_request(
    db: None, bob: Any
) -> None:
    from django.contrib.sessions.models import Session

    client = Client()
    with _at(timedelta(0)):
        client.force_login(bob)
        client.get("/")
    expiry = Session.objects.get().expire_date
    with _at(timedelta(minutes=4)), CaptureQueriesContext(connection) as quiet:
        for _ in range(5):
            assert client.get("/").status_code == 200
    with _at(timedelta(minutes=6)), CaptureQueriesContext(connection) as renewing:
        assert client.get("/").status_code == 200
        assert client.get("/").status_code == 200

    assert _session_writes(quiet) == []
    assert len(_session_writes(renewing)) == 1
    assert Session.objects.get().expire_date == expiry + timedelta(minutes=6)
    assert expiry == START + timedelta(hours=12)


def test_the_idle_time_is_a_setting(db: None, bob: Any, settings: Any) -> None:
    settings.SESSION_COOKIE_AGE = 3600  # LEADSIEVE_SESSION_IDLE_HOURS=1
    client = Client()
    with _at(timedelta(0)):
        client.force_login(bob)
    with _at(timedelta(minutes=59)):
        assert client.get("/").status_code == 200  # renewed: a tenth of an hour had passed
    with _at(timedelta(minutes=59 + 61)):
        assert client.get("/").status_code == 302


def test_visitors_who_are_not_signed_in_get_no_session(db: None) -> None:
    from django.contrib.sessions.models import Session

    client = Client()
    client.get("/accounts/login/")
    client.get("/f/nothing-here/")

    assert Session.objects.count() == 0
