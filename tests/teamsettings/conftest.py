"""Team settings fixtures: a manager of South (who must be refused North), signed-in clients."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client


@pytest.fixture
def sam(make_user: Callable[..., Any], south: Any) -> Any:
    """Manager of South: North's settings are a 404 for him."""
    return make_user("sam", role="manager", team=south)


@pytest.fixture
def client_for(db: None) -> Callable[[Any], Client]:
    def make(user: Any) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return make
