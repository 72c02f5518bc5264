"""Errors raised by the scoring engine.

The Django adapter catches ``EngineError`` to turn any engine failure into one user-facing
message; the subclasses say whose fault it is::

    EngineError
    ├── NotFitted         a model was used before ``fit`` (or ``from_dict``)
    ├── InvalidScorecard  the team's scorecard configuration cannot be applied
    └── InvalidInput      the lead or activity frames do not have the documented shape
"""

from __future__ import annotations


class EngineError(Exception):
    """Base class of every error the engine raises on purpose."""


class NotFitted(EngineError):
    """A learned attribute was needed before ``fit`` ran."""


class InvalidScorecard(EngineError):
    """The scorecard configuration is inconsistent; the message names the criterion."""


class InvalidInput(EngineError):
    """A frame passed to the engine misses a column or holds values of the wrong kind."""
