"""Every write on leads: capture (one lead or a batch), merges and their undoing."""

from __future__ import annotations

from leadsieve.leads.capture import (
    BatchOutcome,
    CaptureOutcome,
    CaptureRejected,
    FieldError,
    RowResult,
    capture_lead,
    capture_leads,
)
from leadsieve.leads.services.merging import MergeError, dismiss_duplicate, merge_leads, unmerge

__all__ = [
    "BatchOutcome",
    "CaptureOutcome",
    "CaptureRejected",
    "FieldError",
    "MergeError",
    "RowResult",
    "capture_lead",
    "capture_leads",
    "dismiss_duplicate",
    "merge_leads",
    "unmerge",
]
