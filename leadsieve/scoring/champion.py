"""Champion and challenger: a newly trained model rates leads only if its holdout is not worse
than what rates them now (the incumbent), judged on the same leads where that can be done.

The incumbent is the active model (the champion) or, when no model rates leads, **the
scorecard**: a model is never better than the rules merely because it is the first one. Two
rules (a challenger that breaks both is told how it compares with the incumbent):

- **Better than chance.** A challenger whose holdout ROC-AUC is not above 0.5 by more than its
  sd never rates leads, whoever the incumbent is.
- **Not worse than the incumbent.** The challenger loses when its ROC-AUC is below the
  incumbent's by more than the two figures' combined sd (``sqrt(sd_challenger² +
  sd_incumbent²)``), or its log-loss above the incumbent's by more than theirs. Within the
  noise it wins: a fresher model trained on more history is preferred when the figures cannot
  tell the two apart.

On which rows (``scoring.training`` builds the ``Comparison``): the scorecard's probability of
each lead as it arrived (``scoring.prior``) on exactly the rows the challenger was judged on;
a champion's stored model re-scored on the challenger's judged rows that it never trained on
(closed after it was trained), when there are enough of them; otherwise the champion's own
stored holdout, and the decision says the two were measured on different leads.

Every version is kept with its figures and the decision in words (``ModelVersion.decision``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

CHANCE_AUC = 0.5


@dataclass(frozen=True)
class Decision:
    """Whether the challenger replaces the incumbent, and why in words."""

    is_promoted: bool
    reason: str


@dataclass(frozen=True)
class Comparison:
    """What the challenger is judged against: the incumbent's figures and the challenger's,
    both on the leads ``rows`` describes.

    ``incumbent`` names it ("the scorecard", "model 4"); ``rows`` says which leads both
    figures come from, as words that follow them ("on the same 36 leads", "on different
    leads: …"). Figures are holdout dicts: ``roc_auc``, ``roc_auc_sd``, ``log_loss``,
    ``log_loss_sd``."""

    incumbent: str
    incumbent_figures: Mapping[str, Any]  # Any: holdout figures (JSON)
    challenger_figures: Mapping[str, Any]  # Any: holdout figures (JSON)
    rows: str


def _figure(holdout: Mapping[str, Any], key: str) -> tuple[float, float] | None:
    value, sd = holdout.get(key), holdout.get(f"{key}_sd")
    if not isinstance(value, int | float) or math.isnan(value):
        return None
    return float(value), float(sd) if isinstance(sd, int | float) and not math.isnan(sd) else 0.0


def _pair(figure: tuple[float, float]) -> str:
    return f"{figure[0]:.2f} ± {figure[1]:.2f}"


def _chance_decision(holdout: Mapping[str, Any], incumbent: str) -> Decision | None:
    """A challenger no better than chance loses, whatever it is judged against (``None``
    when it passes)."""
    auc = _figure(holdout, "roc_auc")
    if auc is None:
        return Decision(False, f"no holdout figures: {incumbent} keeps rating leads")
    if auc[0] - auc[1] > CHANCE_AUC:
        return None
    return Decision(
        False,
        f"ROC-AUC {_pair(auc)} is not above chance ({CHANCE_AUC}) by more than its sd: "
        f"{incumbent} keeps rating leads",
    )


def judge_challenger(holdout: Mapping[str, Any], comparison: Comparison) -> Decision:
    """The champion/challenger rule (see the module docstring).

    ``holdout`` is the challenger's stored holdout (the chance rule reads it); the comparison
    with the incumbent reads ``comparison``'s two figure sets. A challenger worse than the
    incumbent is told so first (the more useful words when it is also no better than
    chance)."""
    name = comparison.incumbent
    new_auc = _figure(comparison.challenger_figures, "roc_auc")
    new_loss = _figure(comparison.challenger_figures, "log_loss")
    if new_auc is None or new_loss is None:
        return Decision(False, f"no holdout figures to compare with {name}'s: {name} stays")
    old_auc = _figure(comparison.incumbent_figures, "roc_auc")
    old_loss = _figure(comparison.incumbent_figures, "log_loss")
    if old_auc is None or old_loss is None:
        return _chance_decision(holdout, name) or Decision(
            True, f"{name} has no holdout figures to defend: replaced"
        )
    auc_noise = math.hypot(new_auc[1], old_auc[1])
    loss_noise = math.hypot(new_loss[1], old_loss[1])
    losses = []
    if new_auc[0] < old_auc[0] - auc_noise:
        losses.append(
            f"ROC-AUC {_pair(new_auc)} is below {name}'s {_pair(old_auc)} "
            f"(by more than the noise, {auc_noise:.3f})"
        )
    if new_loss[0] > old_loss[0] + loss_noise:
        losses.append(
            f"log-loss {_pair(new_loss)} is above {name}'s {_pair(old_loss)} "
            f"(by more than the noise, {loss_noise:.3f})"
        )
    if losses:
        return Decision(False, f"{'; '.join(losses)} {comparison.rows}: {name} keeps rating leads")
    return _chance_decision(holdout, name) or Decision(
        True,
        f"not worse than {name} {comparison.rows}: ROC-AUC {new_auc[0]:.2f} against "
        f"{old_auc[0]:.2f}, log-loss {new_loss[0]:.2f} against {old_loss[0]:.2f} (noise "
        f"{auc_noise:.3f} and {loss_noise:.3f}): it rates leads from now on",
    )
