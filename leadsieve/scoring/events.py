"""Scoring on an event: the leads a capture, activity or edit touched, right after commit.

``leadsieve.pipeline`` calls ``rescore_touched_leads`` after a batch's commit
(``receive_batch``) and after an activity or an edit (``rescore_on_commit``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from leadsieve.config.sqlite.checkpoints import no_autocheckpoint, request_checkpoint
from leadsieve.scoring.rescoring import rescore_leads

logger = logging.getLogger(__name__)

EVENT_TASK_THRESHOLD = 5_000
# Leads rescored per transaction in line: a bulk request (at most 1,000) in one, an import's
# chunk (5,000 rows, in the worker) in several, so a capture meanwhile waits for one batch.
EVENT_BATCH = 1_000


def id_runs(ids: Sequence[int]) -> list[list[int]]:
    """Sorted, distinct ids as inclusive ``[first, last]`` runs of consecutive ids."""
    values = np.asarray(ids, dtype=np.int64)
    if not len(values):
        return []
    breaks = np.flatnonzero(np.diff(values) != 1)
    firsts = np.r_[values[0], values[breaks + 1]]
    lasts = np.r_[values[breaks], values[-1]]
    runs: list[list[int]] = np.column_stack([firsts, lasts]).tolist()
    return runs


def rescore_touched_leads(lead_ids: Sequence[int]) -> None:
    """Rescore right after a batch capture, an activity or an edit (``leadsieve.pipeline``).

    Small sets are scored in the committing request (one lead takes a few milliseconds);
    large ones (an import) go to the ``rescore_leads_task`` background task so the import
    returns at once. On SQLite the commit (and the after-commit task enqueue) skips the WAL
    autocheckpoint, which a background thread runs instead (``checkpoints``): the request
    never waits for the log to be copied back and fsynced.
    """
    ids = sorted({int(i) for i in lead_ids})
    if not ids:
        return
    try:
        if len(ids) > EVENT_TASK_THRESHOLD:
            from leadsieve.scoring.tasks import rescore_leads_task

            rescore_leads_task.enqueue(id_runs=id_runs(ids))
        else:
            with no_autocheckpoint() as deferred:
                for start in range(0, len(ids), EVENT_BATCH):
                    rescore_leads(ids[start : start + EVENT_BATCH], explain_later=True)
            if deferred:
                request_checkpoint()
    except Exception:
        # The capture is already committed and must not turn into an error page: a broken
        # scorecard, a missing active version or a locked database only delays the score.
        # The next `leadsieve rescore` (or the next touch) scores these leads.
        logger.exception("rescoring %d touched leads failed", len(ids))
