"""``/api/v1/``: ninja's routes, each behind the body-size guard."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver

from leadsieve.api.api import api
from leadsieve.api.limits import limit_body_size


def _guarded(pattern: URLPattern | URLResolver) -> URLPattern | URLResolver:
    if isinstance(pattern, URLPattern):
        return URLPattern(
            pattern.pattern, limit_body_size(pattern.callback), pattern.default_args, pattern.name
        )
    return pattern


_patterns, _app, _namespace = api.urls
# ninja reverses its docs and schema URLs in its own namespace.
app_name = _namespace
urlpatterns = [_guarded(pattern) for pattern in _patterns]
