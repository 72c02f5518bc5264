"""The request-size guard for the API, applied before anything reads the body."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse


def _error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"errors": [{"field": "body", "message": message}]}, status=status)


def limit_body_size(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Refuse a body over ``LEADSIEVE_API_MAX_BODY_BYTES`` with 413, judged by its
    Content-Length, so an oversize body is never read into memory.
    """

    @functools.wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        raw = request.META.get("CONTENT_LENGTH") or "0"
        try:
            length = int(raw)
        except ValueError:
            return _error(400, "Content-Length is not a number.")
        limit = settings.LEADSIEVE_API_MAX_BODY_BYTES
        if length > limit:
            return _error(413, f"The body is larger than {limit} bytes; send fewer leads.")
        return view(request, *args, **kwargs)

    return guarded
