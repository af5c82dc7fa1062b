"""Greedy ensemble selection (Caruana et al., 2004) over out-of-fold predictions.

Forward selection with replacement: start from the best single candidate, then repeatedly add the
candidate (possibly again) whose addition gives the best score of the averaged predictions, for
``size`` rounds; a candidate's weight is how often it was added.  Averaging probabilities (or
regression values) and selecting by the study's own metric is what AutoGluon and auto-sklearn do.
The score is the mean over the test folds, as for the trials' values (a pooled AUC over folds
differs from the folds' mean and would rank candidates differently from the search).
Written here because neither scikit-learn nor Optuna has it; it is 30 lines on numpy arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from metaopt.core import GREATER_IS_BETTER, score_predictions


@dataclass
class Selection:
    """How often each candidate was chosen (``counts``, by candidate index), the ensemble's score and the
    score after each round (``trace``)."""

    counts: dict[int, int]
    score: float
    trace: list[float]

    @property
    def weights(self) -> dict[int, float]:
        total = sum(self.counts.values())
        return {i: c / total for i, c in self.counts.items()}


def _score(pred: np.ndarray, yt: np.ndarray, kind: str, metric: str, folds: list[np.ndarray] | None) -> float:
    """Mean of the metric over ``folds`` (positions into the rows; None: all rows at once)."""
    parts = [np.arange(len(yt))] if not folds else folds
    values = [score_predictions(pred[f], yt[f], kind, (metric,))[metric] for f in parts]
    values = [v for v in values if np.isfinite(v)]
    if not values:
        return -np.inf if GREATER_IS_BETTER[metric] else np.inf
    return float(np.mean(values))


def greedy_selection(preds: list[np.ndarray], yt: np.ndarray, kind: str, metric: str, size: int,
                     folds: list[np.ndarray] | None = None) -> Selection:
    """Caruana's selection of ``size`` rounds over ``preds`` (one array per candidate, same rows as ``yt``),
    scored by the mean over ``folds`` (positions into those rows; None: the pooled rows).

    The first round takes the best single candidate, so the ensemble's score is never worse than the
    best candidate's on these rows; rounds that make it worse still count (with replacement, later
    rounds can correct them), but the best prefix is kept.
    """
    sign = 1.0 if GREATER_IS_BETTER[metric] else -1.0
    singles = [sign * _score(p, yt, kind, metric, folds) for p in preds]
    first = int(np.argmax(singles))
    chosen, total = [first], preds[first].astype("float64")
    trace = [sign * singles[first]]
    for _ in range(1, size):
        n = len(chosen)
        gains = [sign * _score((total + p) / (n + 1), yt, kind, metric, folds) for p in preds]
        best = int(np.argmax(gains))
        chosen.append(best)
        total = total + preds[best]
        trace.append(sign * gains[best])
    keep = int(np.argmax([sign * t for t in trace])) + 1  # the best prefix (first of equals: fewer members)
    counts: dict[int, int] = {}
    for i in chosen[:keep]:
        counts[i] = counts.get(i, 0) + 1
    return Selection(counts=counts, score=float(trace[keep - 1]), trace=[float(t) for t in trace])
