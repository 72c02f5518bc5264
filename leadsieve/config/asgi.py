"""ASGI entry point (unused by ``leadsieve serve``; kept for ASGI servers)."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadsieve.config.settings")
application = get_asgi_application()
