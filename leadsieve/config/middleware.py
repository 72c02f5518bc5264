"""Project-wide middleware: what every answer and every session share.

- ``PrivateNoStoreMiddleware``: no cache (browser, proxy) keeps an answer with personal data;
- ``SessionIdleTimeoutMiddleware``: a session ends after a stretch of inactivity, renewed
  without writing the session table on every request.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.http import HttpRequest, HttpResponse

from leadsieve.config.sessions import RENEWED_AT

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
