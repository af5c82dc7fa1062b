"""What a trial does: suggest a configuration, score it fold by fold, record how it ended.

A configuration that fails is recorded on its trial (``error``) and never stops the search; a trial
stopped by Ctrl-C is marked so that the next run retries it (:mod:`metaopt.tuning._resume`).
"""

from __future__ import annotations

import math
import time
import traceback
from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna

from metaopt.exceptions import ConfigError
from metaopt.tuning._cv import FoldCV, mean_score
from metaopt.tuning._resume import INTERRUPTED_ATTR
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


class Objective:
    """The study's objective: the mean CV score of the trial's configuration, reported fold by fold."""

    def __init__(self, cvx: FoldCV, space: dict[str, Any], metric: str):
        self.cvx, self.space, self.metric = cvx, space, metric

    def __call__(self, trial: Any) -> float:
        try:
            return self._evaluate(trial)
        except KeyboardInterrupt:  # Ctrl-C: the configuration is retried once on resume (_resume)
            trial.set_user_attr(INTERRUPTED_ATTR, "KeyboardInterrupt")
            raise

    def _evaluate(self, trial: Any) -> float:
        params = {name: suggest(trial, name, dist) for name, dist in self.space.items()}
        trial.set_user_attr("config", jsonable(params))
        n_folds = self.cvx.n_folds

        def on_fold(i: int, scores: list[float]) -> None:
            running = mean_score(scores)
            if not math.isfinite(running):
                return
            trial.report(running, i)
            if i + 1 < n_folds and trial.should_prune():
                trial.set_user_attr("fold_scores", [float(s) for s in scores])
                raise optuna.TrialPruned(f"pruned after fold {i + 1} of {n_folds}")

        try:
            scores = self.cvx.fold_scores(params, on_fold)
        except optuna.TrialPruned:
            raise
        except Exception as exc:  # noqa: BLE001 - a failing configuration is recorded, never fatal
            msg = error_text(exc)
            trial.set_user_attr("error", msg)
            raise TrialFailed(msg) from exc
        trial.set_user_attr("fold_scores", [float(s) for s in scores])
        value = mean_score(scores)
        if not math.isfinite(value):
            msg = f"{self.metric} is undefined (NaN) in every fold"
            trial.set_user_attr("error", msg)
            raise TrialFailed(msg)
        return value


@dataclass
class DefaultScore:
    """The library default's configuration and its CV score (or why it has none)."""

    params: dict[str, Any]
    score: float | None
    error: str | None
    time_s: float


def score_default(study: Any, cvx: FoldCV, default_params: dict[str, Any], metric: str) -> DefaultScore:
    """The library default scored on the folds, outside the study's trials.

    Its values (e.g. LightGBM's fixed 100 rounds) lie outside the search space and would mislead the
    sampler, so it is not a trial.  Stored in the study's user attributes; a resumed study's stored
    score is reused.
    """
    t0 = time.monotonic()
    stored = study.user_attrs.get(DEFAULT_ATTR)
    if isinstance(stored, dict) and stored.get("metric") == metric:
        return DefaultScore(default_params, stored.get("score"), stored.get("error"), time.monotonic() - t0)
    score: float | None = None
    error: str | None = None
    try:
        scores = cvx.fold_scores(default_params)
        score = mean_score(scores)
        if not math.isfinite(score):
            score, error = None, f"{metric} undefined in every fold"
    except Exception as exc:  # noqa: BLE001 - the default failing is reported, not fatal
        scores, error = [], error_text(exc)
    study.set_user_attr(DEFAULT_ATTR, {"metric": metric, "score": score, "error": error,
                                       "fold_scores": [float(s) for s in scores]})
    return DefaultScore(default_params, score, error, time.monotonic() - t0)
