"""Reads of the scoring app: the active scorecard and model, versions, snapshots.

``get_active_scoring()`` keeps the parsed engine objects per process and rebuilds them only
when the active version ids change, so scoring one lead on an event does not re-parse a
scorecard or reload a LightGBM booster (one indexed query decides freshness).
"""

from __future__ import annotations

from dataclasses import dataclass
from threading import Lock
from typing import TYPE_CHECKING

from django.db import connection
from django.db.models import QuerySet

from leadsieve.engine.scorecard import Scorecard
from leadsieve.engine.types import FeatureSpec
from leadsieve.scoring.models import (
    ModelVersion,
    ScorecardStatus,
    ScorecardVersion,
)

if TYPE_CHECKING:
    from leadsieve.engine.model import ConversionModel
    from leadsieve.engine.time_to_close import TimeToCloseModel


class NoActiveScorecard(Exception):
    """No scorecard version is active (the ``fill_default_scorecard`` migration did not run)."""


@dataclass(frozen=True)
class ActiveScoring:
    """The engine objects that score leads right now, with the ids they came from."""

    scorecard_version_id: int
    scorecard_number: int
    scorecard: Scorecard
    model_version_id: int | None
    model: ConversionModel | None
    model_spec: FeatureSpec | None
    # Trained with the model when the history had dates: it decides the horizon then.
    time_to_close: TimeToCloseModel | None = None


_CACHE: dict[tuple[int, int | None], ActiveScoring] = {}
_CACHE_LOCK = Lock()


def get_active_scorecard_version() -> ScorecardVersion:
    """The one active scorecard version; ``NoActiveScorecard`` if there is none."""
    version = ScorecardVersion.objects.filter(status=ScorecardStatus.ACTIVE).first()
    if version is None:
        raise NoActiveScorecard(
            "no active scorecard: run `leadsieve migrate` (it installs the default one) "
            "or `leadsieve publish-scorecard N`"
        )
    return version


def get_active_model_version() -> ModelVersion | None:
    return ModelVersion.objects.filter(is_active=True).first()


def _active_version_ids() -> tuple[int, int, int | None] | None:
    """(scorecard id, scorecard number, active model id or None) in one raw query, or None
    when no scorecard is active. Ordered as ``.first()`` orders each model's rows."""
    quote = connection.ops.quote_name
    scorecards = quote(ScorecardVersion._meta.db_table)
    models = quote(ModelVersion._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT s.id, s.number, (SELECT m.id FROM {models} m WHERE m.is_active = %s "
            "ORDER BY m.trained_at DESC, m.id DESC LIMIT 1) "
            f"FROM {scorecards} s WHERE s.status = %s ORDER BY s.number DESC LIMIT 1",
            [True, str(ScorecardStatus.ACTIVE)],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    return int(row[0]), int(row[1]), None if row[2] is None else int(row[2])


def get_active_scoring() -> ActiveScoring:
    """The active scorecard and model as engine objects, cached per process by version id."""
    ids = _active_version_ids()
    if ids is None:
        get_active_scorecard_version()  # raises with the explanation
        raise AssertionError("unreachable")
    scorecard_row, model_id = ids[:2], ids[2]
    key = (scorecard_row[0], model_id)
    cached = _CACHE.get(key)
    if cached is not None:
        return cached
    with _CACHE_LOCK:
        scorecard = Scorecard.from_dict(
            ScorecardVersion.objects.values_list("config", flat=True).get(id=scorecard_row[0])
        )
        model: ConversionModel | None = None
        spec: FeatureSpec | None = None
        time_to_close: TimeToCloseModel | None = None
        if model_id is not None:
            # Here, not at the top: LightGBM and scikit-learn take about a second to import,
            # which a process that never scores with a trained model (an import) need not pay.
            from leadsieve.engine.model import ConversionModel

            version = ModelVersion.objects.get(id=model_id)
            model = ConversionModel.from_dict(version.artefact_dict())
            spec = FeatureSpec.from_dict(version.feature_spec)
            if version.time_to_close:
                from leadsieve.engine.time_to_close import TimeToCloseModel

                time_to_close = TimeToCloseModel.from_json(version.time_to_close)
        active = ActiveScoring(
            scorecard_row[0], scorecard_row[1], scorecard, model_id, model, spec, time_to_close
        )
        _CACHE.clear()  # only the current pair is worth keeping
        _CACHE[key] = active
    return active


def list_scorecard_versions() -> QuerySet[ScorecardVersion]:
    return ScorecardVersion.objects.order_by("-number")
