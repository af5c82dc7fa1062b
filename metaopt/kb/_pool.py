"""The shared configuration pool evaluated on every task of the knowledge base.

The pool of a learner is the same on every task (of a kind group), so the
task x configuration matrix is dense.  It is, in this order:

1. ``default``: the library default (``Learner.default_params``);
2. ``known-good``: published configurations (``Learner.known_good_configs``);
3. ``sobol``: a scrambled Sobol sample (fixed seed, ``Learner.pool_sobol``
   points) of the learner's search space, mapped through each distribution
   (log scales in log space, integers by flooring, categoricals by equal-width bins).

Everything learner-specific comes from the :class:`~metaopt.learners.Learner`.

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

SOBOL_SEED = 20_240_601


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

    ``n_sobol`` defaults to the learner's ``pool_sobol``.  Duplicates (same id)
    are dropped, keeping the first (default before known-good before Sobol).
    """
    from metaopt.learners import get_learner

    lr = get_learner(learner)
    if n_sobol is None:
        n_sobol = lr.pool_sobol
    out: list[PoolConfig] = [make_config(lr, lr.default_params(kind), "default")]
    for params, provenance in lr.known_good_configs(kind):
        out.append(make_config(lr, params, "known-good", provenance))
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

