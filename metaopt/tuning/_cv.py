"""The fixed cross-validation folds of a tuning run, and how their scores are compared.

Every trial and the library default are scored on the same folds (the knowledge base's protocol), so
their means are comparable; ``docs/tuning.md`` describes the folds and seeds.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from metaopt.core import Protocol, score_model


class FoldCV:
    """The fixed folds and the metric; evaluates one configuration fold by fold."""

    def __init__(self, ds: Any, learner: Any, metric: str, cv: int, seed: int, deadline: float | None):
        self.protocol = Protocol(n_folds=cv, seed=seed, max_rows=None, time_limit_s=None)
        self.task = self.protocol.prepare(ds)
        self.learner = learner
        self.metric = metric
        self.seed = seed
        self.deadline = deadline

    @property
    def n_folds(self) -> int:
        return len(self.task.folds)

    def fold_scores(self, params: dict[str, Any], on_fold: Any = None) -> list[float]:
        """Scores of ``params`` on every fold; ``on_fold(i, scores_so_far)`` after each (it may raise)."""
        t = self.task
        params = self.learner.validate_params(params, t.kind)
        scores: list[float] = []
        for i, (tr, te) in enumerate(t.folds):
            limit = None
            if self.deadline is not None:
                limit = max(1.0, self.deadline - time.monotonic())
            model = self.learner.fit(t.X.iloc[tr], t.y.iloc[tr], params, t.kind,
                                     random_state=self.seed + i, time_limit_s=limit)
            value = float(score_model(model, t.X.iloc[te], t.y.iloc[te], t.kind, t.labels)[self.metric])
            scores.append(value)
            if on_fold is not None:
                on_fold(i, scores)
        return scores


def mean_score(scores: list[float]) -> float:
    """Mean of the finite fold scores; NaN when there is none."""
    finite = [s for s in scores if s is not None and math.isfinite(s)]
    return float(np.mean(finite)) if finite else float("nan")


def better(a: float | None, b: float | None, maximize: bool) -> bool:
    """Whether score ``a`` is strictly better than ``b`` (None/NaN never better; anything beats None)."""
    if a is None or not math.isfinite(a):
        return False
    if b is None or not math.isfinite(b):
        return True
    return a > b if maximize else a < b
