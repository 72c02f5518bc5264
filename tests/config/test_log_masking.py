"""Emails and phone numbers never reach a log line in clear."""

from __future__ import annotations

import logging

import pytest

from leadsieve.config.logs import MaskPersonalData, mask_personal_data


@pytest.mark.parametrize(
    ("line", "masked"),
    [
        ("GET /api/v1/leads?email=noah.garcia@example.com HTTP/1.1",
         "GET /api/v1/leads?email=n***@example.com HTTP/1.1"),
        ("GET /api/v1/leads?email=noah.garcia%40example.com&limit=5",
         "GET /api/v1/leads?email=n***%40example.com&limit=5"),
        ("GET /leads/?q=%2B33%206%2012%2034%2056%2078", "GET /leads/?q=%2B33*******78"),
        ("GET /leads/?q=%2B33+6+12+34+56+78 HTTP/1.1", "GET /leads/?q=%2B33*******78 HTTP/1.1"),
        ("GET /leads/?phone=0612345678&x=1", "GET /leads/?phone=06******78&x=1"),
        ("call +1 (415) 555-2671 now", "call +14*******71 now"),
    ],
)  # fmt: skip
def test_it_masks_emails_and_phone_numbers_raw_or_percent_encoded(line: str, masked: str) -> None:
    assert mask_personal_data(line) == masked


@pytest.mark.parametrize(
    "line",
    [
        "GET /api/v1/leads?created_after=2024-01-01T00:00:00Z&owner=12 HTTP/1.1",
        "GET /api/v1/leads?created_before=2024-01-01 HTTP/1.1",
        "GET /api/v1/leads/1234567 HTTP/1.1",
        "GET /leads/?q=noah+garcia&sort=-rating HTTP/1.1",
    ],
)
def test_it_leaves_dates_ids_and_words_alone(line: str) -> None:
    assert mask_personal_data(line) == line


def test_the_log_filter_masks_the_formatted_message_with_its_arguments() -> None:
    record = logging.LogRecord(
        "django.request", logging.WARNING, __file__, 1, "Not Found: %s", ("/x?e=ann@ex.org",), None
    )

    assert MaskPersonalData().filter(record)
    assert record.getMessage() == "Not Found: /x?e=a***@ex.org"
