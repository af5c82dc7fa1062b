"""Warm-started Optuna: enqueue metaopt's recommendations and sample with the meta-model.

Two entry points (signatures are stable; :mod:`metaopt.tuning` builds on them)::

    from metaopt.warmstart import warm_start, MetaSampler

    # 1. any sampler: enqueue the k recommended configurations once per study
    study = optuna.create_study(direction="maximize", storage=url, study_name="s", load_if_exists=True)
    warm_start(study, X, y, learner="lightgbm", k=5)          # -> list of enqueued param dicts
    study.optimize(objective, n_trials=50)

    # 2. the meta-model all the way: the first trials are the recommendations, later ones
    #    TPE/random/neighbour candidates re-ranked by the KB surrogate for this task
    study = optuna.create_study(direction="maximize", sampler=MetaSampler(X, y, seed=0))
    study.optimize(objective, n_trials=50)

``warm_start(study, X=None, y=None, *, learner="lightgbm", k=5, kb=None, target=None,
recommendations=None, param_names=None, search_space=None, kind=None, meta_features=None,
on_out_of_range="clip") -> list[dict]`` - idempotent and atomic per storage (PostgreSQL advisory
lock, file lock for SQLite and journal files, threading lock in memory); records
``study.user_attrs["metaopt:warm_start"]``; raises :class:`ParamNameMismatchError` when the study's
parameter names do not match the learner's (give ``param_names={learner's name: yours}``).

``MetaSampler(X=None, y=None, *, meta_features=None, kind=None, target=None, learner="lightgbm",
k=5, kb=None, seed=None, n_candidates=64, base_sampler=None, recommendations=None, surrogate=None,
param_names=None, search_space=None, prior_strength=10.0, n_tpe_candidates=8, warm_start=True,
adaptive=True)`` - see :mod:`metaopt.warmstart._sampler` for the prior-weight schedule
``w_n = n0 / (n0 + n)`` and the adaptive warm start (picks after the second chosen from the scores so far).

``AdaptiveWarmStart(next_config, *, learner, ...)`` - an Optuna callback that completes a warm start
enqueued with ``warm_start(..., planned=n)``: each later pick chosen after the scores of the earlier
ones (what ``tune`` does; :mod:`metaopt.warmstart._adaptive`).

``DistinctSampler(base)`` - any Optuna sampler that never proposes a configuration the study
already has (finished, running or waiting); ``MetaSampler`` checks the same itself.
"""

from __future__ import annotations

from metaopt.warmstart._adaptive import AdaptiveWarmStart, pending_picks
from metaopt.warmstart._distinct import DistinctSampler
from metaopt.warmstart._param_space import ParamNameMismatchError, fit_to_space, resolve_param_names
from metaopt.warmstart._sampler import KBSurrogate, MetaSampler, default_surrogate
from metaopt.warmstart._warm_start import (
    ATTR,
    WarmConfig,
    get_recommendations,
    guard_trial_queue,
    is_warm_started,
    storage_lock,
    unwrap_storage,
    warm_start,
)

__all__ = [
    "warm_start", "AdaptiveWarmStart", "pending_picks", "MetaSampler", "ParamNameMismatchError", "WarmConfig", "get_recommendations",
    "is_warm_started", "storage_lock", "guard_trial_queue", "resolve_param_names", "fit_to_space", "KBSurrogate",
    "default_surrogate", "ATTR", "DistinctSampler", "unwrap_storage",
]
