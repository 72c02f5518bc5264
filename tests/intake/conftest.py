"""Fixtures for the forms and import pages: a South manager (the outsider), signed-in
clients, and a data directory of the test's own (uploads never land in the repository)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import Client


@pytest.fixture(autouse=True)
def data_dir(settings: Any, tmp_path: Path) -> Path:
    settings.DATA_DIR = tmp_path / "data"
    return settings.DATA_DIR


@pytest.fixture
def stan(make_user: Callable[..., Any], south: Any) -> Any:
    """Manager of South: must never see North's forms or imports."""
    return make_user("stan", role="manager", team=south)


@pytest.fixture
def client_for(db: None) -> Callable[[Any], Client]:
    def make(user: Any) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return make
