"""Logging filters named in ``settings.LOGGING``."""

from __future__ import annotations

import logging


class ClientErrorsWithoutTraceback(logging.Filter):
    """Logs a refused request (4xx) on ``django.request`` as one line, without a traceback.

    Django attaches the exception to the warning it logs for a ``PermissionDenied`` (403) or
    an unreadable upload (400), so every refusal printed a whole traceback: noise that buried
    real errors, and the frames can hold request data. The line keeps the status and the path;
    server errors (5xx) keep their traceback.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if isinstance(status, int) and 400 <= status < 500:
            record.exc_info = None
            record.exc_text = None
        return True
