"""What the server log shows of a refused request: one line, no traceback."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.test import Client


def test_a_403_is_logged_as_one_line(bob: Any, caplog: pytest.LogCaptureFixture) -> None:
    client = Client()
    client.force_login(bob)

    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client.get("/team/")  # team settings are for managers: PermissionDenied

    assert response.status_code == 403
    [record] = [r for r in caplog.records if r.name == "django.request"]
    assert record.getMessage() == "Forbidden (Permission denied): /team/"
    assert record.exc_info is None
    assert "Traceback" not in caplog.text
    assert caplog.text.strip().count("\n") == 0


def test_a_server_error_keeps_its_traceback() -> None:
    from leadsieve.config.log_filters import ClientErrorsWithoutTraceback

    try:
        raise RuntimeError("boom")
    except RuntimeError:
        import sys

        exc_info = sys.exc_info()
    server_error = logging.LogRecord("django.request", logging.ERROR, "", 0, "x", (), exc_info)
    server_error.status_code = 500
    refused = logging.LogRecord("django.request", logging.WARNING, "", 0, "x", (), exc_info)
    refused.status_code = 403

    assert ClientErrorsWithoutTraceback().filter(server_error) is True
    assert ClientErrorsWithoutTraceback().filter(refused) is True
    assert server_error.exc_info is exc_info
    assert refused.exc_info is None
