"""Choosing one configuration without overfitting the folds: the best lower confidence bound.

The best CV mean of many trials is optimistic (the winner's curse), most of all for a configuration
whose fold scores spread widely.  The choice is the best mean minus one standard error of the
configuration's own fold scores.  Measured against the plain best mean and two one-standard-error
rules (the fastest, or the best worst fold, within one standard error of the best) in
``benchmarks/bench_single_choice.py``; the fastest-within-one-SE rule lost clearly (``docs/tuning.md``,
"Final model").  How optimistic the choice is, is estimated from the folds themselves: choose on half
of the folds, score on the other half, over every such split.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np


#: the most fold halves the optimism estimate averages over
MAX_HALVES = 252


@dataclass
class Entry:
    source: Any  #: trial number or "default"
    params: dict[str, Any]
    folds: np.ndarray
    fit_s: float
    learner: str | None = None  #: None: the study's own learner

    @property
    def mean(self) -> float:
        return float(np.mean(self.folds))


@dataclass
class Choice:
    source: Any
    params: dict[str, Any]
    cv_score: float
    best_source: Any
    best_score: float
    se: float
    n_within: int
    gap: float | None  #: expected optimism of the chosen CV score, positive = the CV score flatters it
    maximize: bool
    learner: str | None = None  #: the chosen configuration's learner (None: the study's own)

    def report(self) -> dict[str, Any]:
        expected = None if self.gap is None else self.cv_score - (self.gap if self.maximize else -self.gap)
        return {"rule": "mean minus one standard error", "chosen": self.source, "cv_score": self.cv_score,
                "best_by_cv": self.best_source, "best_cv_score": self.best_score, "standard_error": self.se,
                "n_within": self.n_within, "selection_gap": self.gap, "expected_score": expected}


def _entries(study: Any, default: Any, others: Any = ()) -> list[Entry]:
    """Completed trials (and the scored library default) with all their fold scores, on the same folds;
    ``others``: ``(study, label, learner)`` of other learners' studies on the same folds."""
    from optuna.trial import TrialState

    from metaopt.tuning._study import DEFAULT_ATTR

    out = []
    for st, label, learner in [(study, lambda n: n, None), *others]:
        for t in st.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
            folds = t.user_attrs.get("fold_scores") or []
            out.append(Entry(label(t.number), dict(t.user_attrs.get("config") or t.params), np.asarray(folds, float),
                             float(t.user_attrs.get("metaopt:fit_s") or math.inf), learner))
    stored = study.user_attrs.get(DEFAULT_ATTR)
    if default is not None and default.score is not None and isinstance(stored, dict):
        out.append(Entry("default", dict(default.params), np.asarray(stored.get("fold_scores") or [], float),
                         float(stored.get("fit_s") or math.inf)))
    k = max((len(e.folds) for e in out), default=0)
    return [e for e in out if len(e.folds) == k and np.all(np.isfinite(e.folds))] if k >= 2 else []


def _se(scores: np.ndarray) -> float:
    return float(np.std(scores, ddof=1) / math.sqrt(len(scores))) if len(scores) > 1 else 0.0


def _rule(entries: list[Entry], folds: Any, sign: float) -> tuple[int, int, float, int]:
    """(chosen, best by mean, the chosen one's standard error, how many are within one of the best's) by the
    fold scores in ``folds``: the chosen one has the best mean minus its own standard error."""
    means = np.asarray([sign * np.mean(e.folds[folds]) for e in entries])
    errors = np.asarray([_se(e.folds[folds]) for e in entries])
    best = int(np.argmax(means))
    chosen = int(np.argmax(means - errors))
    within = int(np.sum(means >= means[best] - errors[best] - 1e-12))
    return chosen, best, float(errors[chosen]), within


def _gap(entries: list[Entry], sign: float) -> float | None:
    """The rule's expected optimism: choose on half of the folds, compare with the other half, relative to
    the average difference between those halves (which is the folds' difficulty, not selection)."""
    k = len(entries[0].folds)
    if k < 2:
        return None
    gaps = []
    for part in _halves(k):
        a = list(part)
        b = [i for i in range(k) if i not in part]
        chosen, _, _, _ = _rule(entries, a, sign)
        diff = [sign * (np.mean(e.folds[a]) - np.mean(e.folds[b])) for e in entries]
        gaps.append(diff[chosen] - float(np.mean(diff)))
    return float(np.mean(gaps))


def _halves(k: int) -> list[tuple[int, ...]]:
    """Every half of ``k`` folds, or a fixed random :data:`MAX_HALVES` of them (15 folds of a repeated split
    have 6,435 halves)."""
    size = (k + 1) // 2
    if math.comb(k, size) <= MAX_HALVES:
        return list(itertools.combinations(range(k), size))
    rng = np.random.default_rng(0)
    return [tuple(sorted(rng.choice(k, size, replace=False).tolist())) for _ in range(MAX_HALVES)]


def robust_choice(study: Any, default: Any, maximize: bool, others: Any = ()) -> Choice | None:
    """The lower-confidence-bound choice among the study's trials and the default (and ``others``:
    ``(study, label, learner)`` of other learners' studies); None when fewer than two have all their fold
    scores (a holdout, or a single trial): then the best CV score is the choice."""
    entries = _entries(study, default, others)
    if len(entries) < 2:
        return None
    sign = 1.0 if maximize else -1.0
    k = len(entries[0].folds)
    chosen, best, se, n_within = _rule(entries, list(range(k)), sign)
    c, b = entries[chosen], entries[best]
    return Choice(c.source, c.params, c.mean, b.source, b.mean, se, n_within, _gap(entries, sign), maximize,
                  c.learner)
