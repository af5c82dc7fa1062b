"""The regression target's shape, and the loss it asks for.

Counts, amounts and durations are never negative, right-skewed and grow multiplicatively with their
causes.  Squared error chases their long right tail; the Poisson deviance weighs each residual by the
size of the value it is near.  One rule for every learner that can fit that loss (LightGBM's
``objective``, the forests' split ``criterion``); the skewness it takes is the learner's
(:attr:`~metaopt.learners.Learner.poisson_min_skew`), chosen and checked per learner in
``docs/learners.md`` ("Regression loss").
"""

from __future__ import annotations

from typing import Any

import numpy as np

def poisson_target(y: Any, min_skew: float) -> bool:
    """Whether a regression target gets the Poisson loss (:func:`poisson_suits` on its minimum and skewness)."""
    y = np.asarray(y, dtype=float)
    if len(y) < 3:
        return False
    return poisson_suits(float(y.min()), skewness(y), min_skew)


def poisson_suits(y_min: float, y_skew: float, min_skew: float) -> bool:
    """The rule on the target's shape: never negative (a requirement of the loss) and skewed beyond ``min_skew``."""
    return y_min >= 0 and y_skew > min_skew


def skewness(y: np.ndarray) -> float:
    """Fisher's skewness (scipy.stats.skew's default, biased); NaN for a constant target.

    Written out because it runs on every regression fit, and scipy's version warns ("precision loss")
    on nearly constant targets, which small training folds have.
    """
    z = y - y.mean()
    m2 = float(np.mean(z * z))
    return float(np.mean(z ** 3)) / m2 ** 1.5 if m2 > 0 else float("nan")


def poisson_note(learner: str, how: str, y: Any) -> str:
    """The words ``tune``'s summary uses when ``learner`` fits the Poisson loss (``how``: which parameter)."""
    return (f"{learner} fits the Poisson {how}: the target is never negative and right-skewed (skewness "
            f"{skewness(np.asarray(y, dtype=float)):.1f}); a configuration's own setting overrides it")
