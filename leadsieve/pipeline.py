"""A lead's path on arrival, read top to bottom: capture → score → qualify → route → deadline.

The imports below are the path, in order:

1. **capture** (``leads``): clean, deduplicate and store the lead. One lead (web form, API
   call, manual entry) takes ``capture_one``, the batch rules applied to a dict; a batch
   (API bulk call, file import) takes ``capture_leads``;
2. **score** and 3. **qualify** (``scoring``): fit, interest, readiness and rating, and the
   status the scorecard's rules give (``rescore_touched_leads``; a bulk call's new leads
   are scored before their insert, ``ArrivalScorer``, and written once);
4. **route** and 5. **deadline** (``routing``): ``assign_leads`` places a lead nobody owns by
   the team's rules and starts its first-response deadline, or queues it with the reason
   nobody could take it (``QueuedLead``, shown on the lead page and list).

One lead goes the whole path in the request that brought it (``receive_lead``): the answer
already shows its owner, its deadline and its "why this rep". Scoring and routing run in
savepoints after the capture, so a failure there is logged and never loses the lead;
``leadsieve tick`` sweeps such leftovers a minute later, as a retry. A batch is scored
after its commit (in line, or as a task when large) and routed by a background task
(``settle_batch_task``), enqueued on arrival. Activities and edits that change what a lead
is scored on call ``rescore_on_commit``. Cadence enrolment stays with the tick: it is
time-based (a rule's delay in working days).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import Any

from django.db import transaction
from django_tasks import task

from leadsieve.background import FOLLOW_UP_PRIORITY

# The imports follow the path's order, not the alphabet's.
# isort: off
from leadsieve.leads.capture import BatchOutcome, CaptureOutcome, capture_lead
from leadsieve.leads.capture_one import CleanOne, load_outcome, write_one_lead
from leadsieve.leads.models import Lead, Outcome, Status
from leadsieve.scoring.arriving import ArrivingScores, score_new_leads
from leadsieve.scoring.events import EVENT_TASK_THRESHOLD, id_runs, rescore_touched_leads
from leadsieve.scoring.services import rescore_leads
from leadsieve.routing.arrival import assign_arriving_lead
from leadsieve.routing.services import assign_leads

# isort: on

logger = logging.getLogger(__name__)
ARRIVAL_VIA = "arrival"
# Leads placed per transaction by the batch task (rep loads are read once per chunk).
ROUTE_CHUNK = 2_000
# Leads rescored per transaction by the batch task when the batch was too large to score
# after its commit.
SCORE_CHUNK = 500


def receive_lead(
    values: Mapping[str, Any] | CleanOne, *, fast: bool = True, **capture_options: Any
) -> CaptureOutcome:
    """Capture one lead (``capture_lead``'s arguments), score it, qualify it, route it.

    ``fast=False`` captures with the batch cleaner and writer (``capture_lead``) and routes
    with ``assign_leads``: the same rules, several times slower (``make bench-capture``);
    the equality tests run both. ``values`` may be cleaned already (``clean_one``, fast
    path only). Raises ``CaptureRejected`` (nothing written). The returned
    lead is read after routing: it shows its owner, or the queue holds it with the reason.
    """
    with transaction.atomic():
        if fast:
            ids = write_one_lead(values, **capture_options)
        else:
            assert not isinstance(values, CleanOne), "the batch path cleans for itself"
            batch = capture_lead(values, **capture_options)
            ids = (batch.lead.pk, batch.created, batch.activity_id, batch.merge_id)
        lead_id, created, _, _ = ids
        score_now([lead_id])
        if created or Lead.objects.filter(pk=lead_id, owner__isnull=True).exists():
            route_now(lead_id, fast=fast)
        return load_outcome(*ids)


def score_now(lead_ids: Sequence[int]) -> None:
    """Score and qualify ``lead_ids`` in a savepoint; a failure is logged, not raised."""
    try:
        with transaction.atomic():
            rescore_leads(lead_ids, explain_later=True)
    except Exception:
        logger.exception(
            "Scoring %d arriving leads failed; `leadsieve rescore` catches up", len(lead_ids)
        )


def route_now(lead_id: int, *, fast: bool = True) -> None:
    """Place one arriving lead in a savepoint; a failure is logged and left to the tick.

    ``fast=False``: through ``assign_leads`` (what a batch takes) instead of
    ``assign_arriving_lead``: the same placement, for the benchmark and the equality tests.
    """
    try:
        with transaction.atomic():
            if fast:
                assign_arriving_lead(lead_id, via=ARRIVAL_VIA)
            else:
                assign_leads(_routable(Lead.objects.filter(pk=lead_id)), via=ARRIVAL_VIA)
    except Exception:
        logger.exception("Routing lead %s on arrival failed; the next tick places it", lead_id)


class ArrivalScorer:
    """Scores a bulk call's new leads before the batch writer inserts them
    (``capture_leads(score_new=...)``), so each is written once, with its scores
    (``score_new_leads``), instead of inserted and then updated after the commit.

    Remembers which leads it scored; ``settled(outcome)`` says which of them
    ``receive_batch`` need not score again. A scoring failure (no active scorecard, a
    broken one) is logged and the leads go in unscored: scored after the commit, as before.
    """

    def __init__(self, *, as_of: datetime | None = None) -> None:
        self.as_of = as_of
        self.scored: set[int] = set()

    def __call__(
        self, leads: dict[str, list[Any]], activities: dict[str, list[Any]]
    ) -> ArrivingScores | None:
        try:
            scores = score_new_leads(leads, activities, as_of=self.as_of)
        except Exception:
            logger.exception("Scoring %d new leads before their insert failed", len(leads["id"]))
            return None
        self.scored.update(leads["id"])
        return scores

    def settled(self, outcome: BatchOutcome) -> set[int]:
        """The leads scored before their insert that no later row of the call merged into
        (a merge changes what a lead is scored on: those are scored again after commit)."""
        touched = {r.lead_id for r in outcome.results if r.lead_id is not None and not r.created}
        return self.scored - touched


def receive_batch(lead_ids: Sequence[int], *, scored: Collection[int] = ()) -> None:
    """Once the caller's transaction commits, score the batch's leads and route them.

    For an API bulk call and each chunk of an import: at most ``EVENT_TASK_THRESHOLD``
    leads are scored right after the commit, in the request (the worker, for an import);
    routing, and the scoring of a larger batch, go to ``settle_batch_task``. ``scored``:
    leads already scored in the caller's transaction (``ArrivalScorer.settled``): routed
    only.
    """
    ids = sorted({int(i) for i in lead_ids})
    if ids:
        transaction.on_commit(partial(_settle_committed_batch, ids, frozenset(scored)))


def _settle_committed_batch(ids: list[int], scored: frozenset[int] = frozenset()) -> None:
    try:
        if len(ids) <= EVENT_TASK_THRESHOLD:
            rescore_touched_leads([i for i in ids if i not in scored])
            settle_batch_task.enqueue(id_runs=id_runs(ids), score=False)
        else:  # scored in the task, unless every lead was scored before its insert
            settle_batch_task.enqueue(id_runs=id_runs(ids), score=not scored.issuperset(ids))
    except Exception:
        # The batch is committed: a failure here only delays its scores and owners (the
        # next tick routes; `leadsieve rescore` scores).
        logger.exception("Settling a batch of %d leads failed", len(ids))


@task(priority=FOLLOW_UP_PRIORITY)
def settle_batch_task(id_runs: list[list[int]], score: bool = False) -> int:
    """Score (when asked) and route a committed batch's leads; returns how many were placed.

    ``id_runs``: inclusive ``[first, last]`` id runs (an import's new leads are consecutive).
    Scoring and routing go by chunks, one short transaction each.
    """
    ids = [i for first, last in id_runs for i in range(first, last + 1)]
    if score:
        for start in range(0, len(ids), SCORE_CHUNK):
            rescore_leads(ids[start : start + SCORE_CHUNK])
    n_placed = 0
    for start in range(0, len(ids), ROUTE_CHUNK):
        chunk = _routable(Lead.objects.filter(id__in=ids[start : start + ROUTE_CHUNK]))
        n_placed += len(assign_leads(chunk, via=ARRIVAL_VIA).assigned)
    return n_placed


def rescore_on_commit(lead_ids: Sequence[int]) -> None:
    """Rescore ``lead_ids`` once the caller's transaction commits: an activity or an edit
    changed what they are scored on. A failure is logged (``rescore_touched_leads``)."""
    ids = list(lead_ids)
    if ids:
        transaction.on_commit(partial(rescore_touched_leads, ids))


def _routable(leads: Any) -> Any:
    """The open, unmerged, unowned leads routing may place (what the tick sweeps too)."""
    return leads.filter(owner__isnull=True, outcome=Outcome.OPEN, merged_into__isnull=True).exclude(
        status=Status.DISQUALIFIED
    )
