"""The scorecard's prior for the conversion model (small history, issue #20).

A model trained on a few hundred closed leads starts from what the scorecard already says and
moves away from it as far as the team's outcomes show it should (``ConversionModel``'s
``prior``). The prior is the scorecard's probability of each lead *as it arrived*: its
profile as of ``created_at``, no activities. The same at training (closed leads) and at
scoring (open leads), so a closed lead's later touches, the meeting that won it among them,
never reach the model through the prior.

``model_probability`` is the one place that asks a model for probabilities with its prior,
for every caller that scores with a trained model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from leadsieve.engine.scorecard import Scorecard

if TYPE_CHECKING:
    from leadsieve.engine.model import ConversionModel


def arrival_prior(scorecard: Scorecard, frame: pd.DataFrame) -> np.ndarray:
    """The scorecard's probability for each lead on arrival (profile only, as of created)."""
    created = pd.to_datetime(pd.Series(np.asarray(frame["created_at"])), utc=True)
    as_of = pd.Series(created.to_numpy(), index=np.asarray(frame["id"]))  # by lead id
    return np.asarray(scorecard.score_arrays(frame, None, as_of=as_of).probability, dtype=float)


def model_probability(
    model: ConversionModel, scorecard: Scorecard, frame: pd.DataFrame
) -> np.ndarray:
    """The model's probabilities, with the scorecard's prior when its blend kept it."""
    prior = arrival_prior(scorecard, frame) if model.uses_prior else None
    return model.predict_proba(frame, prior=prior)
