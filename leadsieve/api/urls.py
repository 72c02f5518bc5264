"""``/api/v1/``: ninja's routes, each behind the body-size guard and answering JSON errors.

A path the API does not have is a JSON 404, and a method an operation does not take a JSON
405 (ninja's is an HTML page): a client reading ``errors`` never meets an HTML body.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.urls import URLPattern, URLResolver, re_path

from leadsieve.api.api import api
from leadsieve.api.limits import limit_body_size


def _error(status: int, field: str, message: str) -> JsonResponse:
    return JsonResponse({"errors": [{"field": field, "message": message}]}, status=status)


def json_errors(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """ninja's own 404 (the API root) and 405 answers, as the API's JSON errors."""

    @functools.wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            response = view(request, *args, **kwargs)
        except Http404:
            return not_found(request)
        if response.status_code == 405 and "json" not in response.get("Content-Type", ""):
            allowed = response.get("Allow", "")
            refused = _error(405, "method", f"{request.method} is not allowed here; use {allowed}.")
            refused["Allow"] = allowed
            return refused
        return response

    return guarded


def not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    return _error(404, "path", "The API has no such path; see /api/v1/docs.")


def _guarded(pattern: URLPattern | URLResolver) -> URLPattern | URLResolver:
    if isinstance(pattern, URLPattern):
        view = limit_body_size(json_errors(pattern.callback))
        return URLPattern(pattern.pattern, view, pattern.default_args, pattern.name)
    return pattern


_patterns, _app, _namespace = api.urls
# ninja reverses its docs and schema URLs in its own namespace.
app_name = _namespace
urlpatterns = [
    *(_guarded(pattern) for pattern in _patterns),
    re_path(r"", not_found, name="not-found"),
]
