"""The shared configuration pool evaluated on every task of the knowledge base.

The pool of a learner is the same on every task (of a kind group), so the
task x configuration matrix is dense.  It is, in this order:

1. ``default``: the library default (``Learner.default_params``);
2. ``known-good``: published defaults of other systems, mapped to our names
   (LightGBM: AutoGluon's ``LightGBM_c1``..``c4`` from TabRepo, and the two
   TabRepo random configurations with the best mean rank over its 93 tasks);
3. ``sobol``: a scrambled Sobol sample (fixed seed) of the learner's search
   space, mapped through each distribution (log scales in log space,
   integers by flooring, categoricals by equal-width bins).

Float values are rounded to 6 significant digits, so a configuration's JSON is
short and its ``config_id`` (``<prefix>-`` + 10 hex of the SHA-1 of the
canonical JSON) is stable.  Everything is deterministic.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

#: default number of Sobol configurations per learner
DEFAULT_SOBOL: dict[str, int] = {"lightgbm": 64, "random_forest": 32, "extra_trees": 32}
SOBOL_SEED = 20_240_601

# AutoGluon's LightGBM defaults that differ from LightGBM's own (AutoGluon
# fits with early stopping; learning_rate 0.05).  TabRepo names -> ours:
# feature_fraction -> colsample_bytree, min_data_in_leaf -> min_child_samples.
_TABREPO_TO_OURS = {"feature_fraction": "colsample_bytree", "min_data_in_leaf": "min_child_samples",
                    "num_leaves": "num_leaves", "learning_rate": "learning_rate", "extra_trees": "extra_trees"}
_AG_LGBM_BASE = {"learning_rate": 0.05}
_TABREPO_KNOWN_GOOD: dict[str, dict[str, Any]] = {
    # configs_lightgbm.json of TabRepo (autogluon/tabrepo @ c027dbd4), hyperparameters as given there
    "LightGBM_c1": {},
    "LightGBM_c2": {"extra_trees": True},
    "LightGBM_c3": {"learning_rate": 0.03, "num_leaves": 128, "feature_fraction": 0.9, "min_data_in_leaf": 5},
    "LightGBM_c4": {"extra_trees": True, "learning_rate": 0.03, "num_leaves": 128, "feature_fraction": 0.9,
                    "min_data_in_leaf": 5},
    # best mean rank over TabRepo's 93 tasks (results_ranked_valid.csv: 32.6 and 33.2 of 104)
    "LightGBM_r76": {"extra_trees": True, "feature_fraction": 0.8622664110240015,
                     "learning_rate": 0.011190886215344456, "min_data_in_leaf": 18, "num_leaves": 72},
    "LightGBM_r37": {"extra_trees": True, "feature_fraction": 0.8000690453310182,
                     "learning_rate": 0.008241525040355085, "min_data_in_leaf": 13, "num_leaves": 54},
}


def tabrepo_lightgbm_to_ours(hyperparameters: dict[str, Any]) -> dict[str, Any]:
    """Map a TabRepo/AutoGluon LightGBM hyperparameter dict to our parameter names.

    Unset parameters take AutoGluon's defaults (``learning_rate`` 0.05, the rest
    LightGBM's); boosting rounds are left to early stopping (no ``n_estimators``).
    """
    out = dict(_AG_LGBM_BASE)
    for k, v in hyperparameters.items():
        if k == "ag_args":
            continue
        if k not in _TABREPO_TO_OURS:
            raise KeyError(f"no mapping for TabRepo LightGBM parameter {k!r}")
        out[_TABREPO_TO_OURS[k]] = v
    return out


@dataclass(frozen=True)
class PoolConfig:
    learner: str
    config_id: str
    params: dict[str, Any]
    origin: str
    native_params: dict[str, Any] | None = None

    @property
    def params_json(self) -> str:
        return canonical_json(self.params)

    def record(self) -> dict[str, Any]:
        """The ``configs.parquet`` row."""
        return {"learner": self.learner, "config_id": self.config_id, "params": self.params_json,
                "origin": self.origin,
                "native_params": None if self.native_params is None else canonical_json(self.native_params)}


def _round(v: Any) -> Any:
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        v = float(v)
        return float(f"{v:.6g}") if math.isfinite(v) and v != 0 else v
    return v


def canonical_json(params: dict[str, Any]) -> str:
    return json.dumps({k: _round(v) for k, v in params.items()}, sort_keys=True, separators=(",", ":"))


def config_id(learner: Any, params: dict[str, Any]) -> str:
    """Stable id: ``<prefix>-`` + first 10 hex digits of SHA-1 of the canonical JSON."""
    from metaopt.learners import get_learner

    lr = get_learner(learner)
    digest = hashlib.sha1(canonical_json(params).encode()).hexdigest()[:10]
    return f"{lr.id_prefix}-{digest}"


def make_config(learner: Any, params: dict[str, Any], origin: str,
                native_params: dict[str, Any] | None = None) -> PoolConfig:
    from metaopt.learners import get_learner

    lr = get_learner(learner)
    params = {k: _round(v) for k, v in params.items()}
    return PoolConfig(lr.name, config_id(lr, params), params, origin, native_params)


def from_unit(dist: Any, u: float) -> Any:
    """Map ``u`` in [0, 1) through an Optuna distribution (inverse-CDF of its uniform prior)."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    u = min(max(float(u), 0.0), 1.0 - 1e-12)
    if isinstance(dist, CategoricalDistribution):
        return dist.choices[int(u * len(dist.choices))]
    if isinstance(dist, FloatDistribution):
        if dist.log:
            v = math.exp(math.log(dist.low) + u * (math.log(dist.high) - math.log(dist.low)))
        else:
            v = dist.low + u * (dist.high - dist.low)
        if dist.step:
            v = dist.low + round((v - dist.low) / dist.step) * dist.step
        return min(max(v, dist.low), dist.high)
    if isinstance(dist, IntDistribution):
        if dist.log:
            lo, hi = math.log(dist.low - 0.5), math.log(dist.high + 0.5)  # optuna: low >= 1
            v = int(round(math.exp(lo + u * (hi - lo))))
        else:
            v = dist.low + int(u * (dist.high - dist.low + 1))
        step = dist.step or 1
        v = dist.low + ((v - dist.low) // step) * step
        return int(min(max(v, dist.low), dist.high))
    raise TypeError(f"unsupported distribution {dist!r}")


def sobol_configs(learner: Any, n: int, kind: str | None = None, seed: int = SOBOL_SEED) -> list[dict[str, Any]]:
    """``n`` parameter dicts from a scrambled Sobol sequence over ``learner.search_space(kind)``."""
    from scipy.stats import qmc

    from metaopt.learners import get_learner

    if n <= 0:
        return []
    space = get_learner(learner).search_space(kind)
    names = sorted(space)
    m = max(0, math.ceil(math.log2(n)))
    try:
        sampler = qmc.Sobol(len(names), scramble=True, rng=seed)
    except TypeError:  # scipy < 1.15
        sampler = qmc.Sobol(len(names), scramble=True, seed=seed)
    points = sampler.random_base2(m)[:n]
    return [{name: _round(from_unit(space[name], u)) for name, u in zip(names, row)} for row in points]


def kind_group(learner: Any, kind: str) -> str:
    """Tasks whose kinds share a pool: ``all`` for LightGBM, else classification/regression."""
    from metaopt.learners import get_learner

    lr = get_learner(learner)
    if lr.search_space("binary") == lr.search_space("regression") and \
            lr.default_params("binary") == lr.default_params("regression"):
        return "all"
    return "regression" if kind == "regression" else "classification"


def build_pool(learner: Any, kind: str = "binary", n_sobol: int | None = None,
               seed: int = SOBOL_SEED) -> list[PoolConfig]:
    """The deterministic pool of ``learner`` for tasks of ``kind`` (see module doc).

    ``n_sobol`` defaults to :data:`DEFAULT_SOBOL`.  Duplicates (same id) are
    dropped, keeping the first (default before known-good before Sobol).
    """
    from metaopt.learners import get_learner

    lr = get_learner(learner)
    if n_sobol is None:
        n_sobol = DEFAULT_SOBOL.get(lr.name, 32)
    out: list[PoolConfig] = [make_config(lr, lr.default_params(kind), "default")]
    if lr.name == "lightgbm":
        for name, hp in _TABREPO_KNOWN_GOOD.items():
            out.append(make_config(lr, tabrepo_lightgbm_to_ours(hp), "known-good",
                                   {"source": "tabrepo", "name": name, "hyperparameters": hp}))
    elif lr.name in ("random_forest", "extra_trees"):
        for params, note in _forest_known_good(lr, kind):
            out.append(make_config(lr, params, "known-good", {"source": "literature", "name": note}))
    for params in sobol_configs(lr, n_sobol, kind, seed):
        out.append(make_config(lr, params, "sobol"))
    seen: set[str] = set()
    unique = []
    for c in out:
        if c.config_id not in seen:
            lr.validate_params(c.params, kind)
            seen.add(c.config_id)
            unique.append(c)
    return unique


def _forest_known_good(lr: Any, kind: str) -> list[tuple[dict[str, Any], str]]:
    base = lr.default_params(kind)
    if kind == "regression":
        # Breiman's regression recommendation (randomForest in R): mtry = p/3, nodesize 5
        return [({**base, "max_features": 0.333, "min_samples_leaf": 5}, "breiman-regression-mtry-p/3-nodesize5"),
                ({**base, "max_features": 0.5}, "max_features-0.5")]
    # classification: scikit-learn's default already is Breiman's sqrt(p); add the
    # half-of-features variant common in tuned defaults and the entropy criterion
    return [({**base, "max_features": 0.5}, "max_features-0.5"),
            ({**base, "criterion": "entropy"}, "entropy-criterion")]
