"""Fixtures for the scorecard pages: clients signed in as each persona, and a draft."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client


@pytest.fixture
def client_for(db: None) -> Callable[[Any], Client]:
    def make(user: Any) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return make


@pytest.fixture
def draft(alice: Any) -> Any:
    from leadsieve.scoring.drafts import create_draft_from_active

    return create_draft_from_active(user=alice, note="Try software first")
