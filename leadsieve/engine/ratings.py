"""The rating scale: a probability that a lead closes → an integer 1..100.

Its own module, with nothing but numpy: the scorecard and the web read ratings without
loading the conversion model's libraries (LightGBM, scikit-learn).
"""

from __future__ import annotations

import numpy as np


def rating(p: np.ndarray | float) -> np.ndarray:
    """Probability → integer rating 1..100: ``clip(round(100*p), 1, 100)``."""
    return np.clip(np.round(100 * np.asarray(p, dtype=float)), 1, 100).astype(int)
