"""Champion and challenger: a newly trained model replaces the one rating leads only if its
holdout is not worse.

"Not worse" is judged with the noise of each figure: the challenger loses when its ROC-AUC
is below the champion's by more than the two figures' combined sd
(``sqrt(sd_challenger² + sd_champion²)``), or its log-loss above the champion's by more than
theirs. Within the noise it wins: a fresher model trained on more history is preferred when
the figures cannot tell the two apart. Every version is kept with its figures and the
decision in words (``ModelVersion.decision``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Decision:
    """Whether the challenger replaces the champion, and why in words."""

    is_promoted: bool
    reason: str


def _figure(holdout: Mapping[str, Any], key: str) -> tuple[float, float] | None:
    value, sd = holdout.get(key), holdout.get(f"{key}_sd")
    if not isinstance(value, int | float):
        return None
    return float(value), float(sd) if isinstance(sd, int | float) and not math.isnan(sd) else 0.0


def judge_challenger(
    challenger: Mapping[str, Any],  # Any: the stored holdout figures (JSON)
    champion: Mapping[str, Any] | None,
    *,
    champion_id: int | None = None,
) -> Decision:
    """The champion/challenger rule on two holdouts (see the module docstring)."""
    name = f"model {champion_id}" if champion_id is not None else "the champion"
    if champion is None:
        return Decision(True, "no model was rating leads: it becomes the champion")
    new_auc, new_loss = _figure(challenger, "roc_auc"), _figure(challenger, "log_loss")
    old_auc, old_loss = _figure(champion, "roc_auc"), _figure(champion, "log_loss")
    if old_auc is None or old_loss is None:
        return Decision(True, f"{name} has no holdout figures to defend: replaced")
    if new_auc is None or new_loss is None:
        return Decision(False, f"no holdout figures to compare with {name}'s: it stays")
    auc_noise = math.hypot(new_auc[1], old_auc[1])
    loss_noise = math.hypot(new_loss[1], old_loss[1])
    losses = []
    if new_auc[0] < old_auc[0] - auc_noise:
        losses.append(
            f"ROC-AUC {new_auc[0]:.3f} ± {new_auc[1]:.3f} is below {name}'s "
            f"{old_auc[0]:.3f} ± {old_auc[1]:.3f} by more than the noise ({auc_noise:.3f})"
        )
    if new_loss[0] > old_loss[0] + loss_noise:
        losses.append(
            f"log-loss {new_loss[0]:.3f} ± {new_loss[1]:.3f} is above {name}'s "
            f"{old_loss[0]:.3f} ± {old_loss[1]:.3f} by more than the noise ({loss_noise:.3f})"
        )
    if losses:
        return Decision(False, f"lost to {name}: " + "; ".join(losses))
    return Decision(
        True,
        f"not worse than {name} (ROC-AUC {new_auc[0]:.3f} vs {old_auc[0]:.3f}, log-loss "
        f"{new_loss[0]:.3f} vs {old_loss[0]:.3f}, within their sd): it becomes the champion",
    )
