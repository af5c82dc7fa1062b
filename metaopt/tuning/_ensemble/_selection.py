"""Greedy ensemble selection (Caruana et al., 2004) over out-of-fold predictions.

Forward selection with replacement: start from the ``init`` best single candidates ("sorted
initialization", section 2.1 of the paper), then repeatedly add the candidate (possibly again) whose
addition gives the best score of the averaged predictions, for ``size`` rounds; a candidate's weight is
how often it was added.  Starting from several good candidates rather than one makes the first greedy
rounds, which overfit the validation rows most, choose between blends instead of single models.
Averaging probabilities (or regression values) and selecting by the study's own metric is what
AutoGluon and auto-sklearn do.
The score is the mean over the test folds, as for the trials' values (a pooled AUC over folds
differs from the folds' mean and would rank candidates differently from the search).
Written here because neither scikit-learn nor Optuna has it; it is 30 lines on numpy arrays (the
metric of all candidates at once: :mod:`metaopt.tuning._ensemble._scores`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from metaopt.core import GREATER_IS_BETTER
from metaopt.tuning._ensemble._scores import fold_mean_scores


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


def greedy_selection(preds: list[np.ndarray], yt: np.ndarray, kind: str, metric: str, size: int,
                     folds: list[np.ndarray] | None = None, best_prefix: bool = True, init: int = 1,
                     start: list[int] | None = None) -> Selection:
    """Caruana's selection of ``size`` rounds over ``preds`` (one array per candidate, same rows as ``yt``),
    scored by the mean over ``folds`` (positions into those rows; None: the pooled rows), starting from
    the ``init`` best candidates (``start``: these candidates instead, for selection what-ifs).

    Rounds that make the blend worse still count (with replacement, later rounds can correct them), but
    the best prefix of at least ``init`` rounds is kept (``best_prefix=False``: all rounds, for
    ``benchmarks/bench_selection_variants.py``).  ``trace[0]`` is the best single candidate's score,
    ``trace[r]`` (r >= ``init`` - 1) the blend's after r + 1 rounds; with ``init`` > 1 the blend can end
    below the best single candidate, which the caller then returns instead.
    """
    sign = 1.0 if GREATER_IS_BETTER[metric] else -1.0
    P = np.stack([np.asarray(p, dtype="float64").reshape(len(yt), -1) for p in preds])
    singles = np.nan_to_num(sign * fold_mean_scores(P, yt, kind, metric, folds), nan=-np.inf)
    init = max(1, min(init if start is None else len(start), size, len(preds)))
    order = np.argsort(-singles, kind="stable")
    chosen = [int(i) for i in (order if start is None else start)[:init]]
    total = P[chosen].sum(axis=0)
    blend = fold_mean_scores((total / init)[None], yt, kind, metric, folds)[0]
    trace = [sign * singles[order[0]]] + [np.nan] * (init - 2) + ([blend] if init > 1 else [])
    for _ in range(init, size):
        n = len(chosen)
        gains = np.nan_to_num(sign * fold_mean_scores((total[None] + P) / (n + 1), yt, kind, metric, folds),
                              nan=-np.inf)
        best = int(np.argmax(gains))
        chosen.append(best)
        total += P[best]
        trace.append(sign * gains[best])
    blends = np.nan_to_num([-np.inf if r < init - 1 else sign * t for r, t in enumerate(trace)], nan=-np.inf)
    keep = int(np.argmax(blends)) + 1 if best_prefix else size  # first of equals: fewer members
    counts: dict[int, int] = {}
    for i in chosen[:keep]:
        counts[i] = counts.get(i, 0) + 1
    return Selection(counts=counts, score=float(trace[keep - 1]), trace=[float(t) for t in trace])
