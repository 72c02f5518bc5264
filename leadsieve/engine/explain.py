"""Model explanations: the top factors that raise and lower each lead's rating, in words.

Contributions come from ``ConversionModel.contributions`` (tree SHAP for LightGBM, coefficient
× standardised value for logistic regression, blended with the model's weight), in log-odds
units before calibration. A person reads rating points, not log-odds: each factor's words say
how far the rating would move without it (the lead's calibrated rating, against the rating of
its score minus that factor), "by about 3 points"; ``Reason.points`` keeps the log-odds, the
unit the factors add up in.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

import numpy as np
import pandas as pd

from leadsieve.engine.criteria import format_value, humanize_column
from leadsieve.engine.types import ANSWERS, Reason

if TYPE_CHECKING:  # scikit-learn and LightGBM load only when a model scores (start-up cost)
    from leadsieve.engine.calibrate import Calibrator
    from leadsieve.engine.features import FeatureEncoder


class ExplainableModel(Protocol):
    """What an explanation reads of a fitted model (``ConversionModel`` is one).

    A protocol rather than an import of ``engine.model``: the model calls ``explain_model``,
    so the two modules would import each other.
    """

    encoder_: FeatureEncoder
    calibrator_: Calibrator

    def contributions(self, leads: pd.DataFrame) -> pd.DataFrame: ...

    def decision_function(
        self, leads: pd.DataFrame, *, prior: np.ndarray | None = None
    ) -> np.ndarray: ...


MIN_EFFECT = 0.01


def _is_blank(value: object) -> bool:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return True
    return isinstance(value, str) and not value.strip()


def _value_words(value: object, labels: Mapping[str, str] | None = None) -> str:
    if _is_blank(value):
        return "is not given"
    if labels and isinstance(value, str) and value in labels:
        return f"is {_lower_first(labels[value])}"
    if isinstance(value, bool | np.bool_):
        return f"is {format_value(bool(value))}"
    if isinstance(value, int | float | np.integer | np.floating):
        return f"is {format_value(float(value))}"
    return f"is {format_value(str(value))}"


def _lower_first(label: str) -> str:
    """ "Within 3 months" -> "within 3 months"; "CEO" and "1–10 M" stay as they are."""
    if len(label) > 1 and label[0].isupper() and label[1].islower():
        return label[0].lower() + label[1:]
    return label


def _answers_words(filled: int, blank: list[str]) -> str:
    """ "6 of 8 optional fields filled in (blank: City, Occupation)": three names at most."""
    total = filled + len(blank)
    words = f"{filled} of {total} optional fields filled in"
    if not blank:
        return words
    shown = ", ".join(blank[:3]) + (f" and {len(blank) - 3} more" if len(blank) > 3 else "")
    return f"{words} (blank: {shown})"


def _factor_words(what: str, effect: float, rating_points: float) -> str:
    """ "No timeline given: lowers the rating by about 3 points"."""
    direction = "raises" if effect > 0 else "lowers"
    size = abs(rating_points)
    if size < 0.5:
        return f"{what}: {direction} the rating slightly (less than 1 point)"
    n = round(size)
    return f"{what}: {direction} the rating by about {n} point{'' if n == 1 else 's'}"


def explain_model(
    model: ExplainableModel,
    leads: pd.DataFrame,
    top: int = 3,
    *,
    prior: np.ndarray | None = None,
    value_labels: Mapping[str, Mapping[str, str]] | None = None,
) -> list[list[Reason]]:
    """Per lead (row order): up to ``top`` factors raising, then up to ``top`` lowering.

    ``value_labels`` gives, per column, the words for its stored codes (``timeline``:
    ``{"quarter": "Within 3 months"}``), so a reason reads "Timeline is within 3 months",
    not the code.
    """
    value_labels = value_labels or {}
    contrib = model.contributions(leads)
    values = contrib.to_numpy()
    # Rating points of each factor: the calibrated rating against that of the logit without
    # the factor (vectorised over leads × factors; calibration is monotone, so signs agree).
    logit = model.decision_function(leads, prior=prior)
    rating = model.calibrator_.predict(logit)
    without = model.calibrator_.predict((logit[:, None] - values).ravel()).reshape(values.shape)
    rating_points = 100 * (rating[:, None] - without)
    names = list(contrib.columns)
    order = np.argsort(-values, axis=1, kind="stable")
    # The derived ANSWERS column has no value in ``leads``: its words come from the blanks.
    raw = leads.reindex(columns=names).astype(object).to_numpy()
    blank = model.encoder_.blank_answers(leads)  # no columns when the model has no ANSWERS
    answer_names = [humanize_column(name) for name, _ in model.encoder_.answer_columns_]
    explanations: list[list[Reason]] = []
    for i in range(len(leads)):
        reasons: list[Reason] = []
        ups = [j for j in order[i, :top] if values[i, j] > MIN_EFFECT]
        downs = [j for j in order[i, ::-1][:top] if values[i, j] < -MIN_EFFECT]
        for j in (*ups, *downs):
            effect = float(values[i, j])
            value = raw[i, j]
            value = None if pd.isna(value) else value
            if names[j] == ANSWERS:
                missing = [answer_names[k] for k in np.flatnonzero(blank[i])]
                value = len(answer_names) - len(missing)
                what = _answers_words(value, missing)
            elif _is_blank(value):
                what = f"No {humanize_column(names[j]).lower()} given"
            else:
                words = _value_words(value, value_labels.get(names[j]))
                what = f"{humanize_column(names[j])} {words}"
            label = _factor_words(what, effect, float(rating_points[i, j]))
            reasons.append(Reason("model", f"model:{names[j]}", label, round(effect, 4), value))
        explanations.append(reasons)
    return explanations
