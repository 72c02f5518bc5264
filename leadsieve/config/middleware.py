"""Project-wide middleware: what every answer and every session share.

- ``PrivateNoStoreMiddleware``: no cache (browser, proxy) keeps an answer with personal data;
- ``SessionIdleTimeoutMiddleware``: a session ends after a stretch of inactivity, renewed
  without writing the session table on every request;
- ``DatabaseBusyMiddleware``: a page or form post that met a busy database answers 503 with
  ``Retry-After`` (the API has its own JSON handler, ``api.on_database_unavailable``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.db import OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from leadsieve.config.sessions import RENEWED_AT

logger = logging.getLogger(__name__)

NO_STORE = "private, no-store"
# Renew at most this often, or every tenth of the idle time when that is shorter.
RENEW_EVERY_S = 300


class PrivateNoStoreMiddleware:
    """``Cache-Control: private, no-store`` on every answer that sets no caching of its own.

    Pages, htmx fragments, API answers, downloads and redirects all carry leads' personal
    data or lead to it, so none may stay in a shared or a browser cache. A view that serves
    the same thing to everyone says so itself (the public web form page). Static files never
    reach this: whitenoise answers them first, with its own long-lived caching.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not response.has_header("Cache-Control"):
            response["Cache-Control"] = NO_STORE
        return response


def renew_interval_s() -> int:
    """Seconds between two renewals of a signed-in session's expiry."""
    return max(1, min(RENEW_EVERY_S, settings.SESSION_COOKIE_AGE // 10))


class SessionIdleTimeoutMiddleware:
    """A signed-in session ends ``SESSION_COOKIE_AGE`` seconds after its last renewal.

    Django pushes a session's expiry (cookie and table row) back only when the session is
    saved; ``SESSION_SAVE_EVERY_REQUEST`` would write the session table on every request.
    Here a request marks the session changed, so Django saves it with a fresh expiry, only
    when ``renew_interval_s()`` (5 minutes, or a tenth of the idle time when shorter) has
    passed since it was last saved (``RENEWED_AT``, stamped by ``config/sessions.py``). A
    user active now and then stays signed in; one away for the idle time
    (``LEADSIEVE_SESSION_IDLE_HOURS``) is signed out, give or take the interval.
    Sessions of visitors who are not signed in are left alone (never created here).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = request.session
        if session.session_key is not None and SESSION_KEY in session:
            renewed_at = session.get(RENEWED_AT)
            if not isinstance(renewed_at, int) or time.time() - renewed_at >= renew_interval_s():
                session.modified = True  # saved after the view, with a fresh expiry
        return self.get_response(request)


# Seconds a client is asked to wait before it tries again (the API's ``RETRY_AFTER_S``).
DATABASE_BUSY_RETRY_S = 5
DATABASE_BUSY_MESSAGE = "The database is busy; nothing was saved. Try again in a few seconds."


class DatabaseBusyMiddleware:
    """503 with ``Retry-After``, not a 500 page, when a request meets a busy database.

    On SQLite a writer that waited ``LEADSIEVE_SQLITE_BUSY_TIMEOUT`` seconds for the write
    lock gets ``OperationalError: database is locked``; on PostgreSQL the same error class
    means the server is unreachable. Either way the request's transaction was rolled back
    (the services write in one transaction; an upload creates its job last), so the same
    post later will do. A caller that asked for JSON (the web form's script) gets JSON.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OperationalError):
            return None
        logger.warning("%s %s: database busy: %s", request.method, request.path, exception)
        response: HttpResponse
        if "application/json" in request.headers.get("Accept", ""):
            body = {"errors": [{"field": "request", "message": DATABASE_BUSY_MESSAGE}]}
            response = JsonResponse(body, status=503)
        else:
            response = render(request, "503.html", {"message": DATABASE_BUSY_MESSAGE}, status=503)
        response["Retry-After"] = str(DATABASE_BUSY_RETRY_S)
        return response
