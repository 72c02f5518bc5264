"""Fixtures for the workspace pages: a second North rep, and clients signed in as each persona."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client


@pytest.fixture
def dave(make_user: Callable[..., Any], north: Any) -> Any:
    """Another rep on North: bob must not see the leads dave owns."""
    return make_user("dave", role="rep", team=north)


@pytest.fixture
def client_for(db: None) -> Callable[[Any], Client]:
    def make(user: Any) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return make
