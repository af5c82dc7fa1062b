"""The fixed evaluation folds of a tuning run, how a configuration is scored on them, and how scores compare.

Every trial and the library default are scored on the same folds (the knowledge base's protocol), so
their means are comparable.  The plan (:class:`~metaopt.tuning._fidelity.EvalPlan`) says how many of
the split's folds are used and, on large data, at which row subsamples (rungs) a trial is fitted
first; ``docs/tuning.md`` describes folds, seeds and plans.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from metaopt.core import Protocol, predictions, score_predictions, target_codes
from metaopt.tuning._budget import fit_limit, projected_refit_s
from metaopt.tuning._fidelity import EvalPlan, rung_rows, rung_test_rows

#: a step's report: ``on_step(step, value, evaluation_so_far)``; it may raise (e.g. ``optuna.TrialPruned``)
OnStep = Callable[[int, float, "Evaluation"], None]
#: the seed of repeat ``r``'s shuffle is the run's seed plus ``r`` times this (far from other runs' seeds)
REPEAT_SEED_STEP = 7_919
#: the clock a fit may not pass: () -> absolute ``time.monotonic()`` deadline, or None
Deadline = Callable[[], float | None]


@dataclass
class Evaluation:
    """What scoring one configuration gave: the scores of the folds done (at full fidelity) and how long
    their fits took; ``stopped`` says why it ended early ("time budget"), else None."""

    scores: list[float] = field(default_factory=list)
    fit_s: list[float] = field(default_factory=list)
    train_rows: list[int] = field(default_factory=list)
    rung_scores: list[float] = field(default_factory=list)
    stopped: str | None = None
    #: (seconds, training rows) of the fit the deadline cut: a lower bound of that fit's time
    cut_fit: tuple[float, int] | None = None
    #: out-of-fold predictions of the full-fidelity fits: (test row positions, predictions) per fold
    oof: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)
    #: boosting rounds early stopping chose in those fits (learners that stop early; the final refit's count)
    rounds: list[float] = field(default_factory=list)
    #: seconds the last step took to predict its test rows, and how many
    predict_s: float = 0.0
    predict_rows: int = 0

    def oof_arrays(self) -> tuple[np.ndarray, np.ndarray] | None:
        """All folds' out-of-fold predictions as (row positions, predictions), rows sorted; None without any.
        A row predicted by several repeats of the split gets the mean of its predictions (probabilities
        averaged, as in AutoGluon's repeated bagging)."""
        if not self.oof:
            return None
        rows = np.concatenate([r for r, _ in self.oof])
        pred = np.concatenate([p for _, p in self.oof])
        unique, inverse, counts = np.unique(rows, return_inverse=True, return_counts=True)
        total = np.zeros((len(unique),) + pred.shape[1:], dtype="float64")
        np.add.at(total, inverse, pred)
        counts = counts.reshape((-1,) + (1,) * (pred.ndim - 1))
        return unique, (total / counts).astype(pred.dtype)

    @property
    def mean_fit_s(self) -> float | None:
        return float(np.mean(self.fit_s)) if self.fit_s else None

    @property
    def mean_train_rows(self) -> int | None:
        return int(np.mean(self.train_rows)) if self.train_rows else None


class FoldCV:
    """The fixed folds, the plan and the metric; evaluates one configuration fold by fold (or rung by rung)."""

    def __init__(self, ds: Any, learner: Any, metric: str, plan: EvalPlan, seed: int):
        self.protocol = Protocol(n_folds=plan.n_splits, seed=seed, max_rows=None, time_limit_s=None)
        self.task = self.protocol.prepare(ds)
        self.task.folds = self.task.folds + repeated_folds(self.task, plan, seed)
        self.learner = learner
        self.metric = metric
        self.seed = seed
        self.plan = plan
        self._rungs: list[np.ndarray] | None = None
        self._rung_test: np.ndarray | None = None  #: the holdout rows the lower rungs are scored on
        self.y_codes = target_codes(self.task.y, self.task.kind, self.task.labels)

    def class_gaps(self) -> list[str]:
        """A note when grouped or time-ordered folds fit on rows that lack a class (stratified folds cannot):
        such a fold predicts that class with probability 0 wherever it occurs in its test rows."""
        t = self.task
        if t.kind == "regression" or (t.groups is None and t.order is None):
            return []
        folds = t.folds[:self.n_folds]
        gaps = [np.setdiff1d(np.arange(len(t.labels)), self.y_codes[tr]) for tr, _ in folds]
        missing = sorted({int(c) for g in gaps for c in g})
        if not missing:
            return []
        shown = ", ".join(repr(t.labels[c]) for c in missing[:5])
        return [f"{sum(len(g) > 0 for g in gaps)} of {len(folds)} training folds lack class(es) {shown}: "
                f"{'earlier rows' if t.order is not None else 'their groups'} hold none, so those folds "
                "cannot predict them"]

    @property
    def n_folds(self) -> int:
        """The fits a trial is scored on (the plan's folds of every repeat)."""
        return min(self.plan.total_folds, len(self.task.folds))

    @property
    def test_folds(self) -> list[np.ndarray]:
        """The test rows of the first split's folds of the plan (sorted): each row at most once."""
        return [np.sort(te) for _, te in self.task.folds[:min(self.plan.n_folds, self.n_folds)]]

    @property
    def steps(self) -> list[int]:
        """The steps a trial reports: fold numbers, or the rungs' resource units (1, 3, 9 for eta 3)."""
        if len(self.plan.rungs) > 1:
            return [round(r / self.plan.rungs[0]) for r in self.plan.rungs]
        return list(range(self.n_folds))

    def _fit_score(self, tr: np.ndarray, te: np.ndarray, params: dict, i: int, deadline: float | None,
                   ev: Evaluation, keep: bool = True, then_s: float = 0.0) -> float | None:
        """Fit on ``tr``, score on ``te``; None (and ``ev.stopped``) when the deadline cut it, came first, or
        would come first by the projection of the fits done (:func:`projected_s`), with ``then_s`` seconds
        of what must follow it (the higher rungs and the refit)."""
        t = self.task
        limit = fit_limit(deadline)
        if limit is not None and (limit <= 0 or projected_s(ev, len(tr), len(te)) + then_s > limit):
            ev.stopped = "time budget"  # a fit that would be cut is not started: its time goes to other trials
            return None
        t0 = time.perf_counter()
        model = self.learner.fit(t.X.iloc[tr], t.y.iloc[tr], params, t.kind, random_state=self.seed + i,
                                 time_limit_s=limit)
        fit_s = time.perf_counter() - t0
        if model.timed_out:  # a cut fit is another configuration (fewer rounds or trees): not scored
            ev.stopped, ev.cut_fit = "time budget", (fit_s, len(tr))
            return None
        t1 = time.perf_counter()
        pred = predictions(model, t.X.iloc[te], t.kind, t.labels)
        ev.predict_s, ev.predict_rows = time.perf_counter() - t1, len(te)
        value = float(score_predictions(pred, self.y_codes[te], t.kind, (self.metric,))[self.metric])
        if keep:  # the ensemble's raw material (``_ensemble``)
            ev.oof.append((np.asarray(te), pred))  # full precision until stored (``_ensemble``'s compact)
            if model.early_stopping and model.n_estimators_used:
                ev.rounds.append(float(model.n_estimators_used))
        ev.fit_s.append(fit_s)
        ev.train_rows.append(len(tr))
        return value

    def evaluate(self, params: dict[str, Any], on_step: OnStep | None = None, deadline: Deadline | None = None,
                 folds: range | None = None, full_only: bool = False) -> Evaluation:
        """Score ``params`` on the plan's folds (or ``folds``); ``on_step`` after each fold or rung.

        No fit starts past ``deadline()`` and each is limited to it; a fit that the limit cut ends the
        evaluation with ``stopped`` set.  ``full_only``: skip the rungs (the library default is scored at
        full fidelity only).
        """
        params = self.learner.validate_params(params, self.task.kind)
        ev = Evaluation()
        if len(self.plan.rungs) > 1 and not full_only:
            return self._evaluate_rungs(params, on_step, deadline, ev)
        for i in folds if folds is not None else range(self.n_folds):
            tr, te = self.task.folds[i]
            value = self._fit_score(tr, te, params, i, deadline() if deadline else None, ev)
            if value is None:
                break
            ev.scores.append(value)
            if on_step is not None:
                on_step(i, mean_score(ev.scores), ev)
        return ev

    def _evaluate_rungs(self, params: dict, on_step: OnStep | None, deadline: Deadline | None,
                        ev: Evaluation) -> Evaluation:
        tr, te = self.task.folds[0]
        if self._rungs is None:
            self._rungs = rung_rows(tr, self.task.y, self.task.kind, self.seed, self.plan.rungs)
            self._rung_test = rung_test_rows(te, self.seed)
        last = len(self._rungs) - 1
        for r, (rows, step) in enumerate(zip(self._rungs, self.steps)):
            value = self._fit_score(rows, te if r == last else self._rung_test, params, 0,
                                    deadline() if deadline else None, ev, keep=r == last,
                                    then_s=self._after_rung_s(ev, r, len(te)))
            if value is None:
                break
            ev.rung_scores.append(value)
            if r == last:
                ev.scores.append(value)
            if on_step is not None:
                on_step(step, value, ev)
        return ev

    def _after_rung_s(self, ev: Evaluation, r: int, test_rows: int) -> float:
        """Projected seconds that must follow rung ``r``'s fit for the trial to be of use: the higher rungs'
        fits and predictions, and the configuration's refit on all rows (only a trial that reaches the top
        rung is a candidate for the final model, and only one whose refit finishes in time can be it:
        ``docs/tuning.md``, "Budget")."""
        higher = self._rungs[r + 1:]
        rungs_s = sum(projected_s(ev, len(x), test_rows if j == len(higher) - 1 else len(self._rung_test))
                      for j, x in enumerate(higher))
        refit_s = projected_refit_s(ev.fit_s[-1], ev.train_rows[-1], len(self.task.y)) if ev.fit_s else 0.0
        return rungs_s + refit_s


def repeated_folds(task: Any, plan: EvalPlan, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The folds of the plan's repeats after the first: the protocol's split with other shuffles.

    Written with one protocol per repeat rather than scikit-learn's ``RepeatedStratifiedKFold``, whose
    first repeat is not the plain split: every plan must start with the same folds (``_fidelity``).
    """
    out: list[tuple[np.ndarray, np.ndarray]] = []
    for r in range(1, plan.repeats):
        shuffled = Protocol(n_folds=plan.n_splits, seed=seed + REPEAT_SEED_STEP * r, max_rows=None, time_limit_s=None)
        out.extend(shuffled.folds(task.y, task.kind, task.groups, task.order))
    return out


def projected_s(ev: Evaluation, train_rows: int, test_rows: int) -> float:
    """Seconds the next fit and prediction of this configuration will take: the last fit's and prediction's
    times scaled linearly to ``train_rows`` and ``test_rows`` (folds: the same rows; rungs: 3x the training
    rows); 0 before the first fit (nothing to project from)."""
    if not ev.fit_s:
        return 0.0
    return (ev.fit_s[-1] * train_rows / max(1, ev.train_rows[-1])
            + ev.predict_s * test_rows / max(1, ev.predict_rows))


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
