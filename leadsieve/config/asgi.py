"""ASGI entry point: what ``leadsieve serve`` runs (gunicorn's asyncio worker).

Django's WSGI handler behind ``BufferedWsgiApp``: the event loop reads each whole request,
then one of ``LEADSIEVE_THREADS`` threads runs it (docs/decisions/0004-web-server.md).
Another ASGI server may serve ``leadsieve.config.asgi:application`` the same way.
"""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadsieve.config.settings")

from django.conf import settings
from django.core.wsgi import get_wsgi_application

from leadsieve.config.buffering import BufferedWsgiApp
from leadsieve.config.env import env_int

DEFAULT_THREADS = 4
DEFAULT_READ_TIMEOUT_S = 30
# Room for a multipart upload's framing around the largest accepted file.
MULTIPART_MARGIN_BYTES = 1_048_576


def build_application(*, threads: int, read_timeout_s: float) -> BufferedWsgiApp:
    """Django behind the request buffer; the body limit admits the largest upload allowed."""
    wsgi = get_wsgi_application()
    largest = max(settings.DATA_UPLOAD_MAX_MEMORY_SIZE, settings.LEADSIEVE_IMPORT_MAX_BYTES)
    return BufferedWsgiApp(
        wsgi,
        threads=threads,
        read_timeout_s=read_timeout_s,
        max_body_bytes=largest + MULTIPART_MARGIN_BYTES,
    )


application = build_application(
    threads=env_int("LEADSIEVE_THREADS", DEFAULT_THREADS, minimum=1),
    read_timeout_s=DEFAULT_READ_TIMEOUT_S,
)
