"""The scorecard editor's domain functions: drafts, backtest runs and publishing.

A draft is a ``ScorecardVersion`` with status ``draft``. It starts as a copy of the active
version; every change goes through ``_change_draft``, which locks the row, applies one edit to
the stored configuration, runs the engine's own validation (``validate_scorecard_config``) and
saves. A version that is active or archived is never changed: old scores stay explainable.

Backtests and the rescoring after a publish read every closed (or open) lead, so they run in
the request only while that is small (``INLINE_BACKTEST_MAX``, ``INLINE_RESCORE_MAX``) and
otherwise go to the background worker through Django's tasks API (docs/decisions/0002); a
backtest run's state is a row the page polls.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django_tasks import task

from leadsieve.background import USER_PRIORITY
from leadsieve.engine.backtest import calibration_svg, report_csv
from leadsieve.engine.criteria import describe
from leadsieve.engine.scorecard import rule_words as engine_rule_words
from leadsieve.engine.types import Cap, Criterion, GradeBands, InterestRule, StatusRule
from leadsieve.leads.models import FieldDefinition, FieldType, Lead, Outcome
from leadsieve.scoring.backtests import BacktestResult, backtest
from leadsieve.scoring.models import BacktestRun, BacktestState, ScorecardStatus, ScorecardVersion
from leadsieve.scoring.queries import get_active_scorecard_version
from leadsieve.scoring.services import (
    create_scorecard_draft,
    publish_scorecard,
    rescore_all,
    validate_scorecard_config,
)
from leadsieve.scoring.training import TooLittleHistory
from leadsieve.worker_processes import current_worker, worker_is_gone

logger = logging.getLogger(__name__)

# Up to this many closed leads a backtest runs in the request (20,000 took 3.7-6.1 s on the
# shared 2-core machine under load, so half of that stays around two or three seconds);
# more go to the worker and the page shows the run's progress.
INLINE_BACKTEST_MAX = 10_000
# Up to this many open leads the rescoring after a publish runs in the request.
INLINE_RESCORE_MAX = 20_000
NOTE_MAX_LENGTH = 300
ACTIVITY_FIELD = "@activity"

# Lead and company columns of the engine's lead frame, as people name them, and their kind
# (the kind decides how a typed value is read: "50" is a number for company size).
LEAD_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("job_title", "Job title", "text"),
    ("country", "Country (ISO code)", "text"),
    ("email_domain", "Email domain", "text"),
    ("need", "Stated need", "text"),
    ("budget", "Budget", "number"),
    ("timeline", "Timeline", "text"),
    ("decision_role", "Decision role", "text"),
    ("consent", "Consent given", "boolean"),
    ("do_not_contact", "Do not contact", "boolean"),
    ("source", "Source", "text"),
    ("campaign", "Campaign", "text"),
)
COMPANY_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("company__industry", "Company industry", "text"),
    ("company__size", "Company size (employees)", "number"),
    ("company__country", "Company country", "text"),
    ("company__revenue_band", "Company revenue band", "text"),
)
CUSTOM_KINDS: dict[str, str] = {
    FieldType.NUMBER: "number",
    FieldType.BOOLEAN: "boolean",
}


class NotADraft(Exception):
    """The version is active or archived: published versions are never edited."""


@dataclass(frozen=True)
class FieldOption:
    """One entry of the editor's field chooser."""

    column: str
    label: str
    group: str
    kind: str  # "text", "number", "boolean" or "activity"


def list_field_options() -> list[FieldOption]:
    """Every field a criterion may test: lead, company, custom attributes, activities."""
    options = [FieldOption(c, label, "Lead", kind) for c, label, kind in LEAD_FIELDS]
    options += [FieldOption(c, label, "Company", kind) for c, label, kind in COMPANY_FIELDS]
    for key, label, field_type in FieldDefinition.objects.order_by("key").values_list(
        "key", "label", "type"
    ):
        if field_type == FieldType.DATE:
            continue  # the engine has no date operators
        kind = CUSTOM_KINDS.get(field_type, "text")
        options.append(FieldOption(f"custom__{key}", label, "Custom attributes", kind))
    options.append(FieldOption(ACTIVITY_FIELD, "Activities (count)", "Activities", "activity"))
    return options


def get_current_draft() -> ScorecardVersion | None:
    """The newest draft, the one the editor offers to continue."""
    return ScorecardVersion.objects.filter(status=ScorecardStatus.DRAFT).order_by("-number").first()


def create_draft_from_active(
    *, user: Any, note: str = "", source: ScorecardVersion | None = None
) -> ScorecardVersion:  # Any: the user model
    """A new draft holding a copy of the active version's configuration.

    ``source`` copies another version instead (an archived one, to go back to it: publishing
    that draft restores the old rules under a new number, and history stays linear).
    """
    origin = source if source is not None else get_active_scorecard_version()
    note = note.strip() or f"Draft from v{origin.number}"
    return create_scorecard_draft(dict(origin.config), user=user, note=note[:NOTE_MAX_LENGTH])


@transaction.atomic
def _change_draft(
    draft: ScorecardVersion, change: Callable[[dict[str, Any]], None]
) -> ScorecardVersion:  # Any: the stored JSON configuration
    """Apply ``change`` to the draft's configuration, validate it with the engine, save."""
    locked = ScorecardVersion.objects.select_for_update().get(pk=draft.pk)
    if locked.status != ScorecardStatus.DRAFT:
        raise NotADraft(f"v{locked.number} is {locked.get_status_display().lower()}")
    config = dict(locked.config)
    change(config)
    validate_scorecard_config(config)
    locked.config = config
    locked.save(update_fields=["config"])
    return locked


def _criteria(config: dict[str, Any]) -> list[dict[str, Any]]:  # Any: stored JSON
    return [dict(c) for c in config.get("criteria", [])]


def save_criterion(
    draft: ScorecardVersion, criterion: Criterion, *, replace: str | None = None
) -> ScorecardVersion:
    """Add ``criterion`` (``replace=None``) or put it in place of the one named ``replace``.

    Raises ``ValidationError`` when the name is taken by another criterion or the engine
    rejects the result, ``NotADraft`` for a published version.
    """

    def change(config: dict[str, Any]) -> None:  # Any: stored JSON
        criteria = _criteria(config)
        names = [c["name"] for c in criteria]
        if criterion.name in names and criterion.name != replace:
            raise ValidationError(
                f"A criterion named '{criterion.name}' already exists.", code="name"
            )
        if replace is None:
            criteria.append(criterion.to_dict())
        elif replace in names:
            criteria[names.index(replace)] = criterion.to_dict()
        else:
            raise ValidationError(f"No criterion named '{replace}' in this draft.", code="name")
        config["criteria"] = criteria

    return _change_draft(draft, change)


def remove_criterion(draft: ScorecardVersion, name: str) -> ScorecardVersion:
    """Drop the criterion called ``name`` (``ValidationError`` if there is none)."""

    def change(config: dict[str, Any]) -> None:  # Any: stored JSON
        criteria = _criteria(config)
        kept = [c for c in criteria if c["name"] != name]
        if len(kept) == len(criteria):
            raise ValidationError(f"No criterion named '{name}' in this draft.", code="name")
        config["criteria"] = kept

    return _change_draft(draft, change)


def set_caps(draft: ScorecardVersion, caps: Sequence[Cap]) -> ScorecardVersion:
    """Replace every cap (per group and per dimension) of the draft."""

    def change(config: dict[str, Any]) -> None:  # Any: stored JSON
        config["caps"] = [asdict(cap) for cap in caps]

    return _change_draft(draft, change)


def set_interest_rules(draft: ScorecardVersion, rules: Sequence[InterestRule]) -> ScorecardVersion:
    """Replace the decaying interest points per activity kind (half-life and cap)."""

    def change(config: dict[str, Any]) -> None:  # Any: stored JSON
        config["interest_rules"] = [asdict(rule) for rule in rules]

    return _change_draft(draft, change)


def set_thresholds(
    draft: ScorecardVersion, *, thresholds: Sequence[StatusRule], grade_bands: GradeBands
) -> ScorecardVersion:
    """Replace the MQL/SQL rules and the fit grade bands."""

    def change(config: dict[str, Any]) -> None:  # Any: stored JSON
        config["thresholds"] = [asdict(rule) for rule in thresholds]
        config["grade_bands"] = asdict(grade_bands)

    return _change_draft(draft, change)


# --- Publishing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PublishOutcome:
    """What publishing did: the now active version and how its rescoring runs."""

    version: ScorecardVersion
    n_rescored: int | None  # None: the rescoring was queued for the worker
    is_rescore_queued: bool


# Leads per transaction when the worker rescores every open lead after a publish: the
# ``leadsieve rescore`` command's 50,000 would hold SQLite's write lock for a second or more
# per batch while captures wait.
TASK_RESCORE_BATCH = 2_000


@task(priority=USER_PRIORITY)
def rescore_open_leads_task() -> int:
    """Rescore every open lead with the active scorecard (after a publish); returns n scored."""
    return rescore_all(progress=False, batch_size=TASK_RESCORE_BATCH).n_scored


def publish_draft(
    draft: ScorecardVersion, *, user: Any, note: str = "", inline_max: int = INLINE_RESCORE_MAX
) -> PublishOutcome:  # Any: the user model
    """Make the draft active (the old active version is archived) and rescore open leads.

    Publishing reuses ``services.publish_scorecard`` (as ``leadsieve publish-scorecard``
    does), then rescores like the command: in this call up to ``inline_max`` open leads,
    else through ``rescore_open_leads_task``. A non-empty ``note`` replaces the draft's note.
    """
    with transaction.atomic():
        locked = ScorecardVersion.objects.select_for_update().get(pk=draft.pk)
        if locked.status != ScorecardStatus.DRAFT:
            raise NotADraft(f"v{locked.number} is {locked.get_status_display().lower()}")
        if note.strip():
            locked.note = note.strip()[:NOTE_MAX_LENGTH]
            locked.save(update_fields=["note"])
        version = publish_scorecard(locked, user=user)
    n_open = Lead.objects.filter(outcome=Outcome.OPEN, merged_into__isnull=True).count()
    if n_open > inline_max:
        rescore_open_leads_task.enqueue()
        return PublishOutcome(version, None, True)
    return PublishOutcome(version, rescore_all(progress=False).n_scored, False)


# --- Backtest runs -----------------------------------------------------------------------------


def count_closed_leads(period_start: datetime, period_end: datetime) -> int:
    """Closed (won or lost) leads created in ``[period_start, period_end)``."""
    return Lead.objects.filter(
        outcome__in=[Outcome.WON, Outcome.LOST],
        merged_into__isnull=True,
        created_at__gte=period_start,
        created_at__lt=period_end,
    ).count()


def start_backtest(
    version: ScorecardVersion,
    *,
    period_start: datetime,
    period_end: datetime,
    days_after_creation: float = 0.0,
    user: Any = None,
    inline_max: int = INLINE_BACKTEST_MAX,
) -> BacktestRun:  # Any: the user model
    """Record a backtest run of ``version``; run it now when the period is small, else queue it.

    A queued run is started by ``run_backtest_task`` right after this transaction commits.
    """
    n_closed = count_closed_leads(period_start, period_end)
    run = BacktestRun.objects.create(
        version=version,
        period_start=period_start,
        period_end=period_end,
        days_after_creation=days_after_creation,
        requested_by=user,
        n_leads=n_closed,
    )
    if n_closed > inline_max:
        transaction.on_commit(lambda: run_backtest_task.enqueue(run.pk))
        return run
    return run_backtest(run.pk)


@task(priority=USER_PRIORITY)
def run_backtest_task(run_id: int) -> str:
    """Run a queued backtest; returns its final state."""
    return run_backtest(run_id).state


def run_backtest(run_id: int) -> BacktestRun:
    """Run the backtest of one recorded run and store its result (or a readable failure)."""
    run = BacktestRun.objects.select_related("version").get(pk=run_id)
    if run.is_finished():
        return run
    BacktestRun.objects.filter(pk=run.pk).update(
        state=BacktestState.RUNNING, started_at=timezone.now(), worker=current_worker()
    )
    state, error, result = BacktestState.DONE, "", {}
    try:
        outcome = backtest(
            run.version,
            period_start=run.period_start,
            period_end=run.period_end,
            days_after_creation=run.days_after_creation,
        )
        result = backtest_result_data(outcome)
    except TooLittleHistory as problem:
        state, error = BacktestState.FAILED, str(problem)
    except Exception:  # a failed run must say so on the page, not stay "running" forever
        logger.exception("backtest run %s failed", run.pk)
        state, error = BacktestState.FAILED, "The backtest failed; the server log has details."
    BacktestRun.objects.filter(pk=run.pk).update(
        state=state,
        error=error,
        result=result,
        finished_at=timezone.now(),
        n_leads=result.get("n_leads", run.n_leads),
    )
    run.refresh_from_db()
    return run


BACKTEST_WORKER_STOPPED = (
    "The backtest stopped: the process running it ended without finishing (killed, out of "
    "memory, or the server restarted). Run it again."
)


def notice_stopped_backtest(run: BacktestRun) -> BacktestRun:
    """Fail a running backtest whose worker process is certainly gone
    (``worker_processes``), so its page stops saying "running"; the run otherwise."""
    if run.state != BacktestState.RUNNING or not run.worker or not worker_is_gone(run.worker):
        return run
    failed = BacktestRun.objects.filter(
        pk=run.pk, state=BacktestState.RUNNING, worker=run.worker
    ).update(state=BacktestState.FAILED, error=BACKTEST_WORKER_STOPPED, finished_at=timezone.now())
    if failed:
        logger.warning("backtest run %s: its worker %s is gone; marked failed", run.pk, run.worker)
    run.refresh_from_db()
    return run


def _number(value: Any) -> float | int | None:  # Any: numpy or pandas scalar
    """A JSON-safe number: NaN and infinities become ``None`` (PostgreSQL's jsonb has none)."""
    if value is None:
        return None
    if isinstance(value, int | np.integer):
        return int(value)
    number = float(value)
    return number if math.isfinite(number) else None


def _rows(frame: Any) -> list[dict[str, Any]]:  # Any: a report table (DataFrame) and its cells
    if not isinstance(frame, pd.DataFrame):
        return []
    rows = []
    for record in frame.reset_index().to_dict("records"):
        rows.append({str(k): (v if isinstance(v, str) else _number(v)) for k, v in record.items()})
    return rows


def backtest_result_data(outcome: BacktestResult) -> dict[str, Any]:  # Any: JSON
    """A backtest as JSON-ready data: metrics and tables per subject, charts, the CSV."""
    subjects = []
    csv_parts = [f"# backtest summary\n{outcome.summary().to_csv()}"]
    for name, report in outcome.reports.items():
        mql = report.get("mql_threshold") or {}
        subjects.append(
            {
                "name": name,
                "metrics": {
                    key: _number(report.get(key))
                    for key in ("roc_auc", "pr_auc", "log_loss", "brier", "ece", "max_band_gap_pts")
                },
                "mql": {key: _number(mql.get(key)) for key in ("precision", "recall", "n_selected")}
                if mql
                else None,
                "bands": _rows(report.get("rating_bands")),
                "grades": _rows(report.get("by_fit_grade")),
                "lift": _rows(report.get("lift")),
                "svg": calibration_svg(
                    outcome.outcomes,
                    outcome.probabilities[name],
                    title=f"Calibration: {name}",
                ),
            }
        )
        csv_parts.append(f"\n# subject: {name}\n{report_csv(report)}")
    return {
        "n_leads": outcome.n_leads,
        "n_won": outcome.n_won,
        "notes": list(outcome.notes),
        "subjects": subjects,
        "csv": "".join(csv_parts),
    }


# --- Reading a version -------------------------------------------------------------------------


@dataclass(frozen=True)
class CriterionRow:
    """One criterion as the scorecard page shows it."""

    name: str
    dimension: str
    field: str
    words: str
    points: float
    group: str


def list_criterion_rows(config: dict[str, Any]) -> list[CriterionRow]:  # Any: stored JSON
    """The version's criteria in order, each with its field's name and its rule in words."""
    labels = {option.column: option.label for option in list_field_options()}
    rows = []
    for data in config.get("criteria", []):
        criterion = Criterion.from_dict(data)
        if criterion.operator == "activity":
            field = "Activities"
        else:
            field = labels.get(criterion.column or "", criterion.column or "")
        rows.append(
            CriterionRow(
                name=criterion.name,
                dimension=criterion.dimension,
                field=field,
                words=describe(criterion),
                points=criterion.points,
                group=criterion.group or "",
            )
        )
    return rows


def list_backtest_runs(version: ScorecardVersion, *, limit: int = 10) -> list[BacktestRun]:
    """The version's latest backtest runs, newest first."""
    runs = version.backtest_runs.select_related("requested_by")[:limit]
    return [notice_stopped_backtest(run) for run in runs]


def _points(value: float) -> str:
    return f"{value:+g}"


def _cap_words(cap: dict[str, Any]) -> str:  # Any: stored JSON
    scope = f"group “{cap['group']}”" if cap.get("group") else "whole dimension"
    bounds = [
        f"floor {cap['min']:g}" if cap.get("min") is not None else "",
        f"cap {cap['max']:g}" if cap.get("max") is not None else "",
    ]
    return f"{cap['dimension']} {scope}: {', '.join(b for b in bounds if b) or 'no bound'}"


def rule_words(rule: dict[str, Any] | None) -> str:  # Any: stored JSON
    """A stored status rule in the engine's words ("fit ≥ 25 and interest ≥ 10")."""
    return "no rule" if rule is None else engine_rule_words(StatusRule(**rule))


def _bands(config: dict[str, Any]) -> str:  # Any: stored JSON
    bands = config.get("grade_bands", {})
    return "/".join(f"{bands.get(g, 0):g}" for g in ("a", "b", "c"))


def _criterion_changes(
    before: dict[str, Any], after: dict[str, Any]
) -> list[str]:  # Any: stored JSON configurations
    changes: list[str] = []
    old = {c["name"]: c for c in before.get("criteria", [])}
    new = {c["name"]: c for c in after.get("criteria", [])}
    for name, data in new.items():
        words, points = describe(Criterion.from_dict(data)), _points(data["points"])
        was = old.get(name)
        if was is None:
            changes.append(f"Added criterion {name}: {words} ({points}).")
        elif data == was:
            continue
        elif {**data, "points": 0} == {**was, "points": 0}:
            changes.append(f"Criterion {name}: points {_points(was['points'])} → {points}.")
        else:
            old_words = describe(Criterion.from_dict(was))
            changes.append(
                f"Criterion {name} changed: “{old_words}” ({_points(was['points'])}) "
                f"→ “{words}” ({points})."
            )
    for name, data in old.items():
        if name not in new:
            changes.append(f"Removed criterion {name}: {describe(Criterion.from_dict(data))}.")
    return changes


def list_changes(
    before: dict[str, Any], after: dict[str, Any]
) -> list[str]:  # Any: stored JSON configurations
    """What ``after`` changes from ``before``, one plain sentence per change, in page order."""
    changes = _criterion_changes(before, after)
    old_caps = [_cap_words(c) for c in before.get("caps", [])]
    new_caps = [_cap_words(c) for c in after.get("caps", [])]
    changes += [f"Cap removed: {words}." for words in old_caps if words not in new_caps]
    changes += [f"Cap added: {words}." for words in new_caps if words not in old_caps]
    old_rules = {r["kind"]: r for r in before.get("interest_rules", [])}
    new_rules = {r["kind"]: r for r in after.get("interest_rules", [])}
    for kind in sorted(old_rules.keys() | new_rules.keys()):
        if old_rules.get(kind) != new_rules.get(kind):
            changes.append(f"Interest decay for {kind} changed.")
    for status in ("mql", "sql"):
        was = next((r for r in before.get("thresholds", []) if r["status"] == status), None)
        now = next((r for r in after.get("thresholds", []) if r["status"] == status), None)
        if was != now:
            changes.append(f"{status.upper()} rule: {rule_words(was)} → {rule_words(now)}.")
    if before.get("grade_bands") != after.get("grade_bands"):
        changes.append(f"Fit grade bands A/B/C: {_bands(before)} → {_bands(after)}.")
    for key, words in (("horizon", "Horizon rule"), ("rating_map", "Rating mapping")):
        if before.get(key) != after.get(key):
            changes.append(f"{words} changed.")
    return changes
