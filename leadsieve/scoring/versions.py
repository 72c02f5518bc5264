"""Scorecard and model versions: validate, draft, publish, activate."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from leadsieve.engine.exceptions import EngineError, InvalidScorecard
from leadsieve.engine.scorecard import Scorecard
from leadsieve.scoring.frames import lead_frame
from leadsieve.scoring.models import ModelVersion, ScorecardStatus, ScorecardVersion


def validate_scorecard_config(config: Any) -> Scorecard:  # Any: untrusted parsed JSON
    """Parse and check a scorecard configuration; ``ValidationError`` says what is wrong.

    The engine validates a scorecard against a leads frame, so an empty frame with every
    column the adapter provides stands in for the leads.
    """
    if not isinstance(config, dict):
        raise ValidationError("The scorecard configuration must be a JSON object.")
    try:
        scorecard = Scorecard.from_dict(config)
        scorecard.score(lead_frame([]), None, as_of=timezone.now())
    except KeyError as error:
        raise ValidationError(f"The scorecard configuration misses the key {error}.") from None
    except (TypeError, ValueError, AttributeError) as error:
        raise ValidationError(f"The scorecard configuration is malformed: {error}") from None
    except (InvalidScorecard, EngineError) as error:
        raise ValidationError(f"The scorecard is invalid: {error}") from None
    return scorecard


@transaction.atomic
def create_scorecard_draft(
    config: dict[str, Any], *, user: Any = None, note: str = ""
) -> ScorecardVersion:  # Any: parsed JSON; the user model
    """Store a validated configuration as the next draft version."""
    validate_scorecard_config(config)
    last = ScorecardVersion.objects.select_for_update().order_by("-number").first()
    number = (last.number + 1) if last else 1
    return ScorecardVersion.objects.create(
        number=number, config=config, created_by=user, note=note[:300]
    )


@transaction.atomic
def publish_scorecard(version: ScorecardVersion, *, user: Any = None) -> ScorecardVersion:
    """Make ``version`` the active scorecard; the previous one is archived (never deleted).

    Rescoring is left to the caller (``leadsieve publish-scorecard`` runs ``rescore_all``).
    """
    validate_scorecard_config(version.config)
    version = ScorecardVersion.objects.select_for_update().get(pk=version.pk)
    if version.status == ScorecardStatus.ACTIVE:
        return version
    ScorecardVersion.objects.filter(status=ScorecardStatus.ACTIVE).update(
        status=ScorecardStatus.ARCHIVED
    )
    version.status = ScorecardStatus.ACTIVE
    version.published_at = timezone.now()
    version.save(update_fields=["status", "published_at"])
    return version


@transaction.atomic
def activate_model_version(version: ModelVersion) -> ModelVersion:
    """Make ``version`` the model that rates leads (the previous one stays, inactive)."""
    ModelVersion.objects.filter(is_active=True).exclude(pk=version.pk).update(is_active=False)
    ModelVersion.objects.filter(pk=version.pk).update(is_active=True)
    version.is_active = True
    return version


@transaction.atomic
def deactivate_models() -> int:
    """Back to scorecard ratings: no model is active afterwards."""
    return ModelVersion.objects.filter(is_active=True).update(is_active=False)
