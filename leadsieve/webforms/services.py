"""Writes of the web-form channel: a submission becomes a captured lead; hits are counted.

``submit_web_form`` is the one path from a public post to the database; it leaves all
normalising and deduplicating to ``capture_lead`` so a form post and an API call with the
same email land on the same lead.
"""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction

from leadsieve.leads.capture import CaptureOutcome, capture_lead
from leadsieve.leads.models import ActivityKind, Channel
from leadsieve.webforms.models import RateCounter, WebForm


@transaction.atomic
def submit_web_form(
    web_form: WebForm, values: dict[str, Any], *, tracking: dict[str, str]
) -> CaptureOutcome:
    """Capture one submission: channel web_form, a ``form_submit`` touch, the form's origin.

    Raises ``CaptureRejected`` (per-field errors) when capture refuses the values; nothing
    is written in that case.
    """
    payload: dict[str, Any] = {"form": web_form.slug, **tracking}
    return capture_lead(
        values,
        channel=Channel.WEB_FORM,
        via=f"form:{web_form.slug}"[:60],
        source=web_form.source,
        campaign=web_form.campaign,
        activity_kind=ActivityKind.FORM_SUBMIT,
        activity_payload=payload,
        team=web_form.team,
    )


def _upsert_sql() -> str:
    quote = connection.ops.quote_name
    table = quote(RateCounter._meta.db_table)
    key, window, hits = quote("key"), quote("window_start"), quote("hits")
    return (
        f"INSERT INTO {table} ({key}, {window}, {hits}) VALUES (%s, %s, 1) "
        f"ON CONFLICT ({key}, {window}) DO UPDATE SET {hits} = {table}.{hits} + 1 "
        f"RETURNING {hits}"
    )


@transaction.atomic
def count_hit(key: str, *, limit: int, window_s: int, now: float) -> int | None:
    """Count one hit for ``key`` in the current fixed window.

    Returns ``None`` when the hit is within ``limit``, else the seconds until the window
    resets (for ``Retry-After``). One atomic upsert: exact across processes. The first hit
    of a window also deletes the key's older windows, so the table stays small.
    """
    window_start = int(now) - int(now) % window_s
    with connection.cursor() as cursor:
        cursor.execute(_upsert_sql(), [key[:200], window_start])
        hits = int(cursor.fetchone()[0])
    if hits == 1:
        RateCounter.objects.filter(window_start__lt=window_start - window_s).delete()
    if hits <= limit:
        return None
    return max(1, window_start + window_s - int(now))
