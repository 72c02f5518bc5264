"""API clients acting as the personas: each holds a fresh bearer token."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client


class ApiClient:
    """Django's test client speaking JSON with a bearer token."""

    def __init__(self, token: str | None) -> None:
        self.client = Client(enforce_csrf_checks=True)
        self.headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}

    def _send(self, method: str, path: str, body: Any, raw: str | None, **headers: Any) -> Any:
        data = raw if raw is not None else json.dumps(body) if body is not None else ""
        call = getattr(self.client, method)
        return call(
            f"/api/v1{path}", data, content_type="application/json", **self.headers, **headers
        )

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.client.get(f"/api/v1{path}", params or {}, **self.headers)

    def post(self, path: str, body: Any = None, *, raw: str | None = None, **headers: Any) -> Any:
        return self._send("post", path, body, raw, **headers)

    def patch(self, path: str, body: Any = None, *, raw: str | None = None, **headers: Any) -> Any:
        return self._send("patch", path, body, raw, **headers)


@pytest.fixture
def api_as() -> Any:
    from leadsieve.api.services import create_api_token

    def make(user: Any) -> ApiClient:
        _, raw = create_api_token(user, name="tests")
        return ApiClient(raw)

    return make


@pytest.fixture
def bob_api(api_as: Any, bob: Any) -> ApiClient:
    return api_as(bob)


@pytest.fixture
def anonymous_api(db: None) -> ApiClient:
    return ApiClient(None)
