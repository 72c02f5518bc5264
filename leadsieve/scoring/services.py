"""Every write of the scoring app, re-exported from the module that owns each concept.

Callers keep importing from ``leadsieve.scoring.services``; the code lives in:

* ``reconciling``: the engine's proposal reconciled with manual overrides and the status rules;
* ``rescoring``: ``rescore_leads`` / ``rescore_all`` (vectorised batches, set-based writes);
* ``history``: snapshots with their reasons and status audit rows;
* ``snapshot_reasons``: ``fill_snapshot_reasons`` and the task that fills them later;
* ``events``: ``rescore_touched_leads``, what the pipeline runs after captures and edits;
* ``overrides``: statuses and ratings set by hand, and clearing them;
* ``explanations``: ``explain_lead``;
* ``versions``: scorecard drafts and publishing, model activation.
"""

from __future__ import annotations

from leadsieve.scoring.events import EVENT_TASK_THRESHOLD, rescore_touched_leads
from leadsieve.scoring.explanations import LeadExplanation, ModelFactor, explain_lead
from leadsieve.scoring.overrides import (
    clear_manual_rating,
    clear_manual_status,
    set_rating_by_hand,
    set_status_by_hand,
    set_statuses_by_hand,
)
from leadsieve.scoring.reconciling import (
    ENGINE_STATUSES,
    REASON_MAX_LENGTH,
    SCORING_VIA,
    STATE_FIELDS,
    WRITTEN_COLUMNS,
    NewScores,
    reconcile_scores,
    score_frame,
)
from leadsieve.scoring.rescoring import RescoreResult, rescore_all, rescore_leads
from leadsieve.scoring.snapshot_reasons import fill_snapshot_reasons
from leadsieve.scoring.versions import (
    activate_model_version,
    create_scorecard_draft,
    deactivate_models,
    publish_scorecard,
    validate_scorecard_config,
)

__all__ = [
    "ENGINE_STATUSES",
    "EVENT_TASK_THRESHOLD",
    "REASON_MAX_LENGTH",
    "SCORING_VIA",
    "STATE_FIELDS",
    "WRITTEN_COLUMNS",
    "LeadExplanation",
    "ModelFactor",
    "NewScores",
    "RescoreResult",
    "activate_model_version",
    "clear_manual_rating",
    "clear_manual_status",
    "create_scorecard_draft",
    "deactivate_models",
    "explain_lead",
    "fill_snapshot_reasons",
    "publish_scorecard",
    "reconcile_scores",
    "rescore_all",
    "rescore_leads",
    "rescore_touched_leads",
    "score_frame",
    "set_rating_by_hand",
    "set_status_by_hand",
    "set_statuses_by_hand",
    "validate_scorecard_config",
]
