"""Writes of the web-form channel: a submission becomes a captured lead; posts take tokens.

``submit_web_form`` is the one path from a public post to the database; it leaves all
normalising and deduplicating to ``capture_lead`` so a form post and an API call with the
same email land on the same lead.
"""

from __future__ import annotations

import math
from typing import Any

from django.db import transaction

from leadsieve.leads.capture import CaptureOutcome
from leadsieve.leads.models import ActivityKind, Channel
from leadsieve.pipeline import receive_lead
from leadsieve.webforms.models import RateBucket, WebForm

# Float seconds summed over many hits drift by far less than this; it keeps an exact
# burst of ``limit`` from being refused by a rounding error.
CLOCK_SLACK_S = 1e-6


@transaction.atomic
def submit_web_form(
    web_form: WebForm, values: dict[str, Any], *, tracking: dict[str, str]
) -> CaptureOutcome:
    """Capture one submission: channel web_form, a ``form_submit`` touch, the form's origin.

    Raises ``CaptureRejected`` (per-field errors) when capture refuses the values; nothing
    is written in that case.
    """
    payload: dict[str, Any] = {"form": web_form.slug, **tracking}
    return receive_lead(
        values,
        channel=Channel.WEB_FORM,
        via=f"form:{web_form.slug}"[:60],
        source=web_form.source,
        campaign=web_form.campaign,
        activity_kind=ActivityKind.FORM_SUBMIT,
        activity_payload=payload,
        team=web_form.team,
    )


def take_token(key: str, *, limit: int, window_s: int, now: float) -> int | None:
    """Take one token from ``key``'s bucket: ``limit`` tokens, refilled at ``limit`` per window.

    Returns ``None`` when a token was taken, else the whole seconds until one is back (for
    ``Retry-After``); a refused hit takes nothing. A burst of ``limit`` passes at once, then
    one hit per ``window_s / limit`` seconds, so at most ``limit`` hits pass in any
    ``window_s``-long stretch plus what refilled meanwhile: unlike the fixed window this
    replaced, two full bursts cannot meet at a window's edge.

    Exact across processes: the read-modify-write runs with the key's row locked (``SELECT
    ... FOR UPDATE`` on PostgreSQL; on SQLite the ``IMMEDIATE`` transaction holds the write
    lock). Buckets idle for a whole window are full, the same as no row, and are deleted in
    a transaction of their own (never while holding a bucket's lock, so two posts cannot
    deadlock on each other's rows).
    """
    key = key[:200]
    interval = window_s / limit
    with transaction.atomic():
        RateBucket.objects.bulk_create([RateBucket(key=key, full_at=now)], ignore_conflicts=True)
        bucket = RateBucket.objects.select_for_update().filter(key=key).first()
        if bucket is None:  # deleted as idle between the two statements: it was full
            return None
        start = max(bucket.full_at, now)
        wait = start + interval - window_s - now
        if wait > CLOCK_SLACK_S:
            return max(1, math.ceil(wait))
        bucket.full_at = start + interval
        bucket.save(update_fields=["full_at"])
    if start == now:  # the bucket was full: a client's first hit after a pause
        RateBucket.objects.filter(full_at__lt=now - window_s).delete()
    return None
