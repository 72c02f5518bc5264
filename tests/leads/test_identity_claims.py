"""Concurrent big captures on PostgreSQL (issue #16, bulk capture): a capture waits only for
an open capture that shares one of its identity keys, never for one that shares none.

Before, a batch of more than 64 keys took one global lock, so every bulk call waited for
the one before it to commit. Now each key is claimed in ``IdentityClaim`` and released
by the commit (``services.bulk.lock_identity_keys``).
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection, transaction

from leadsieve.leads.capture import capture_leads
from leadsieve.leads.models import Channel, IdentityClaim, Lead, MergeRecord

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="SQLite serialises every writer by design"
    ),
]

BATCH = 200  # well past the 64 keys above which a batch took the global lock
WAIT_S = 20.0


def _rows(tag: str, *extra: dict[str, Any]) -> list[dict[str, Any]]:
    # Each batch at its own domain: two captures creating the same company (one
    # domain, a unique key) do wait for each other, rightly.
    rows = [
        {"first_name": "Claim", "last_name": f"{tag}{n}", "email": f"{n}@{tag}.claims.test"}
        for n in range(BATCH)
    ]
    return [*rows, *extra]


class OpenCapture(threading.Thread):
    """Captures ``rows`` in a transaction it keeps open until ``release`` is set."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        super().__init__()
        self.rows = rows
        self.captured = threading.Event()
        self.release = threading.Event()
        self.failures: list[BaseException] = []

    def run(self) -> None:
        try:
            with transaction.atomic():
                capture_leads(self.rows, channel=Channel.API, via="api:open")
                self.captured.set()
                self.release.wait(WAIT_S)
        except BaseException as error:  # reported by the test
            self.failures.append(error)
        finally:
            self.captured.set()
            connection.close()


class Capture(threading.Thread):
    """Captures ``rows`` in its own transaction; ``done`` is set once committed."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        super().__init__()
        self.rows = rows
        self.done = threading.Event()
        self.failures: list[BaseException] = []

    def run(self) -> None:
        try:
            capture_leads(self.rows, channel=Channel.API, via="api:second")
            self.done.set()
        except BaseException as error:  # reported by the test
            self.failures.append(error)
        finally:
            connection.close()


def test_a_big_capture_sharing_no_key_with_an_open_one_does_not_wait_for_it() -> None:
    first = OpenCapture(_rows("a"))
    first.start()
    assert first.captured.wait(WAIT_S)
    second = Capture(_rows("b"))
    second.start()
    finished_while_first_open = second.done.wait(WAIT_S)
    first.release.set()
    first.join()
    second.join()
    assert first.failures == [] and second.failures == []
    assert finished_while_first_open, "the second capture waited for the first one's commit"
    assert Lead.objects.filter(email__endswith=".claims.test").count() == 2 * BATCH
    assert not IdentityClaim.objects.exists()  # claims end with their transaction


def test_a_big_capture_sharing_one_key_waits_for_the_open_one_then_merges_into_its_lead() -> None:
    shared = {"first_name": "Ada", "email": "ada@gmail.com", "job_title": "CTO"}
    first = OpenCapture(_rows("a", shared))
    first.start()
    assert first.captured.wait(WAIT_S)
    second = Capture(_rows("b", {**shared, "job_title": "", "city": "Lyon"}))
    second.start()
    waited = not second.done.wait(2.0)
    first.release.set()
    first.join()
    second.join()
    assert first.failures == [] and second.failures == []
    assert waited, "the second capture did not wait for the open one holding ada@"
    ada = Lead.objects.get(email_key="ada@gmail.com")
    assert (ada.job_title, ada.city) == ("CTO", "Lyon")
    assert MergeRecord.objects.filter(survivor=ada).count() == 1
    assert Lead.objects.filter(email__endswith=".claims.test").count() == 2 * BATCH
    assert not IdentityClaim.objects.exists()


def test_two_captures_naming_one_new_company_by_name_alone_make_it_once() -> None:
    from leadsieve.leads.models import Company

    # Free-mail addresses: the company is known by its name only (no domain to key on).
    first = OpenCapture(_rows("a", {"email": "zed@gmail.com", "company_name": "Zeta Corp"}))
    first.start()
    assert first.captured.wait(WAIT_S)
    second = Capture(_rows("b", {"email": "yan@gmail.com", "company_name": "ZETA corp."}))
    second.start()
    waited = not second.done.wait(2.0)
    first.release.set()
    first.join()
    second.join()
    assert first.failures == [] and second.failures == []
    assert waited, "the second capture did not wait for the one creating Zeta"
    assert Company.objects.filter(name_key="zeta").count() == 1
    zeta = Company.objects.get(name_key="zeta")
    assert set(Lead.objects.filter(company=zeta).values_list("email", flat=True)) == {
        "zed@gmail.com",
        "yan@gmail.com",
    }
