"""What a trial does: suggest a configuration, score it fold by fold, record how it ended.

A configuration that fails is recorded on its trial (``error``) and never stops the search; a trial
stopped by Ctrl-C is marked so that the next run retries it (:mod:`metaopt.tuning._resume`).
"""

from __future__ import annotations

import math
import os
import socket
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna

from metaopt.exceptions import ConfigError
from metaopt.tuning._cv import Deadline, Evaluation, FoldCV, mean_score
from metaopt.tuning._resume import INTERRUPTED_ATTR, RUN_ATTR, WORKER_ATTR
from metaopt.tuning._study import DEFAULT_ATTR


class TrialFailed(Exception):
    """Raised inside the objective for a failed configuration (caught by ``study.optimize``)."""


def jsonable(v: Any) -> Any:
    """``v`` with numpy scalars turned into Python ones (for user attributes and summaries)."""
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    if isinstance(v, (np.bool_,)):
        return bool(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    return v


def error_text(exc: BaseException) -> str:
    """One line: the exception and where it was raised (for trial attributes, notes and summaries)."""
    msg = f"{type(exc).__name__}: {exc}".strip().replace("\n", " ")
    tb = traceback.extract_tb(exc.__traceback__)
    where = f" [{tb[-1].filename.rsplit('/', 1)[-1]}:{tb[-1].lineno}]" if tb else ""
    return msg[:500] + where


def suggest(trial: Any, name: str, dist: Any) -> Any:
    """Ask ``trial`` for parameter ``name`` of distribution ``dist``."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    if isinstance(dist, FloatDistribution):
        return trial.suggest_float(name, dist.low, dist.high, log=dist.log, step=dist.step)
    if isinstance(dist, IntDistribution):
        return trial.suggest_int(name, dist.low, dist.high, log=dist.log, step=dist.step)
    if isinstance(dist, CategoricalDistribution):
        return trial.suggest_categorical(name, list(dist.choices))
    raise ConfigError(f"unsupported distribution for {name!r}: {dist!r}")


#: trial attribute: why the trial was stopped before all its folds ("time budget"); its state is PRUNED
STOPPED_ATTR = "metaopt:stopped"
#: trial attributes: mean seconds of one fold's fit, and its training rows (what the refit's reserve scales)
FIT_S_ATTR = "metaopt:fit_s"
TRAIN_ROWS_ATTR = "metaopt:train_rows"
#: trial attribute: the rows its fits trained on, summed over them (the search's work, which the extra seeds of
#: a run without a time budget may use a share of: ``_final._seed_room``)
ROWS_FITTED_ATTR = "metaopt:rows_fitted"
#: trial attribute: the mean boosting rounds early stopping chose over the folds (the final refit's count)
ROUNDS_ATTR = "metaopt:rounds"
#: trial attribute: the meta-model's prediction of ``metaopt:fit_s`` (``metaopt.tuning._warm.fit_time_predictor``)
PREDICTED_FIT_S_ATTR = "metaopt:predicted_fit_s"
#: trial attribute of a warm-started trial: its KB configuration (set by ``metaopt.warmstart``)
WARM_CONFIG_ATTR = "metaopt:config_id"
#: ``(KB config id or None, training rows) -> predicted seconds of one fit`` (None: no prediction)
FitTimePredictor = Callable[[str | None, int | None], float | None]


def _record(trial: Any, ev: Evaluation, predict: FitTimePredictor | None = None) -> None:
    """The trial's fold (and rung) scores and fit times (measured and, with ``predict``, predicted), as user
    attributes."""
    trial.set_user_attr("fold_scores", [float(s) for s in ev.scores])
    if ev.rung_scores:
        trial.set_user_attr("rung_scores", [float(s) for s in ev.rung_scores])
    if ev.rounds:
        trial.set_user_attr(ROUNDS_ATTR, float(np.mean(ev.rounds)))
    if ev.mean_fit_s is not None:
        trial.set_user_attr(FIT_S_ATTR, ev.mean_fit_s)
        trial.set_user_attr(TRAIN_ROWS_ATTR, ev.mean_train_rows)
        trial.set_user_attr(ROWS_FITTED_ATTR, int(sum(ev.train_rows)))
        predicted = predict(trial.user_attrs.get(WARM_CONFIG_ATTR), ev.mean_train_rows) if predict else None
        if predicted is not None:
            trial.set_user_attr(PREDICTED_FIT_S_ATTR, float(predicted))


class Objective:
    """The study's objective: the mean CV score of the trial's configuration, reported fold by fold
    (or, on large data, rung by rung for Optuna's successive-halving pruner).

    A trial that reaches the search's deadline between folds, or whose fit the deadline cuts, is
    stopped and marked PRUNED with ``metaopt:stopped`` and the folds it did (``fold_scores``): PRUNED
    because that is Optuna's state for "stopped early, intermediate values valid" (samplers use it,
    the best-trial choice ignores it), and a mean over fewer folds is not comparable with the others.
    """

    def __init__(self, cvx: FoldCV, space: dict[str, Any], metric: str, deadline: Deadline | None = None,
                 predict_fit_s: FitTimePredictor | None = None, oof: Any = None):
        self.cvx, self.space, self.metric, self.deadline = cvx, space, metric, deadline
        self.run_id = uuid.uuid4().hex  #: tags this search's trials (``RUN_ATTR``)
        self.predict_fit_s = predict_fit_s
        self.oof = oof  #: the :class:`~metaopt.tuning._ensemble.OofStore` of completed trials' predictions
        #: a Ctrl-C reached a trial: an error in Optuna's bookkeeping after it is the stop, not a fault
        self.interrupted = False

    def __call__(self, trial: Any) -> float:
        try:
            return self._evaluate(trial)
        except KeyboardInterrupt:  # Ctrl-C: the configuration is retried once on resume (_resume)
            self.interrupted = True
            trial.set_user_attr(INTERRUPTED_ATTR, "KeyboardInterrupt")
            raise

    def _evaluate(self, trial: Any) -> float:
        params = {name: suggest(trial, name, dist) for name, dist in self.space.items()}
        trial.set_user_attr("config", jsonable(params))
        trial.set_user_attr(WORKER_ATTR, f"{socket.gethostname()}:{os.getpid()}")
        trial.set_user_attr(RUN_ATTR, self.run_id)
        steps = self.cvx.steps
        what = "rung" if len(steps) > 1 and steps[-1] != len(steps) - 1 else "fold"

        def on_step(step: int, value: float, ev: Evaluation) -> None:
            if not math.isfinite(value):
                return
            trial.report(value, step)
            if step != steps[-1] and trial.should_prune():
                _record(trial, ev, self.predict_fit_s)
                raise optuna.TrialPruned(f"pruned after {what} {steps.index(step) + 1} of {len(steps)}")

        try:
            ev = self.cvx.evaluate(params, on_step, self.deadline)
        except optuna.TrialPruned:
            raise
        except Exception as exc:  # noqa: BLE001 - a failing configuration is recorded, never fatal
            msg = error_text(exc)
            trial.set_user_attr("error", msg)
            raise TrialFailed(msg) from exc
        _record(trial, ev, self.predict_fit_s)
        if ev.stopped:
            trial.set_user_attr(STOPPED_ATTR, ev.stopped)
            done = len(ev.rung_scores) if what == "rung" else len(ev.scores)
            raise optuna.TrialPruned(f"stopped at the {ev.stopped} after {done} of {len(steps)} {what}s")
        value = mean_score(ev.scores)
        if not math.isfinite(value):
            msg = f"{self.metric} is undefined (NaN) in every fold"
            trial.set_user_attr("error", msg)
            raise TrialFailed(msg)
        oof = ev.oof_arrays()
        if self.oof is not None and oof is not None:
            self.oof.save(trial, *oof)
        return value


@dataclass
class DefaultScore:
    """The library default's configuration and its CV score (or why it has none).

    ``stopped``: its scoring did not finish within its share of the time budget (not an error: the
    run goes on without it).  ``fit_s``/``train_rows``: one fold's fit time and rows, for the refit's
    reserve (when stopped before any fold finished: the cut fit's, a lower bound).
    """

    params: dict[str, Any]
    score: float | None
    error: str | None
    time_s: float
    stopped: bool = False
    fit_s: float | None = None
    train_rows: int | None = None


def score_default(study: Any, cvx: FoldCV, default_params: dict[str, Any], metric: str,
                  deadline: Deadline | None = None, first: Evaluation | None = None, oof: Any = None
                  ) -> DefaultScore:
    """The library default scored on the folds (large data: the holdout at full fidelity), outside the
    study's trials, its fits limited to ``deadline()``.

    Its values (e.g. LightGBM's fixed 100 rounds) lie outside the search space and would mislead the
    sampler, so it is not a trial.  Stored in the study's user attributes; a resumed study's stored
    score is reused.  ``first``: its first fold, already scored (the time budget chose the plan from
    it).  A default the deadline stops is not stored, so that a later run scores it.
    """
    t0 = time.monotonic()
    stored = study.user_attrs.get(DEFAULT_ATTR)
    if isinstance(stored, dict) and stored.get("metric") == metric:
        return DefaultScore(default_params, stored.get("score"), stored.get("error"), time.monotonic() - t0,
                            fit_s=stored.get("fit_s"), train_rows=stored.get("train_rows"))
    score: float | None = None
    error: str | None = None
    try:
        ev = first if first is not None else cvx.evaluate(default_params, deadline=deadline, folds=range(1),
                                                          full_only=True)
        if not ev.stopped and cvx.n_folds > 1:
            rest = cvx.evaluate(default_params, deadline=deadline, folds=range(1, cvx.n_folds), full_only=True)
            ev = Evaluation(ev.scores + rest.scores, ev.fit_s + rest.fit_s, ev.train_rows + rest.train_rows,
                            stopped=rest.stopped, oof=ev.oof + rest.oof)
        score = mean_score(ev.scores)
        if ev.stopped:
            score, error = None, (f"not scored: its fits did not finish within its share of the time budget "
                                  f"({len(ev.scores)} of {cvx.n_folds} folds done)")
        elif not math.isfinite(score):
            score, error = None, f"{metric} undefined in every fold"
    except Exception as exc:  # noqa: BLE001 - the default failing is reported, not fatal
        ev, error = Evaluation(), error_text(exc)
    if not ev.stopped:
        if oof is not None and score is not None and ev.oof_arrays() is not None:
            oof.save(study, *ev.oof_arrays(), default=True)  # the default is not a trial: a study artifact
        study.set_user_attr(DEFAULT_ATTR, {"metric": metric, "score": score, "error": error,
                                           "fold_scores": [float(s) for s in ev.scores],
                                           "fit_s": ev.mean_fit_s, "train_rows": ev.mean_train_rows,
                                           "rows_fitted": int(sum(ev.train_rows))})
    fit_s, rows = (ev.mean_fit_s, ev.mean_train_rows) if ev.fit_s or ev.cut_fit is None else ev.cut_fit
    return DefaultScore(default_params, score, error, time.monotonic() - t0, stopped=bool(ev.stopped),
                        fit_s=fit_s, train_rows=rows)
