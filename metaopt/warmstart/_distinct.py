"""No configuration twice in a study: which parameter sets are taken, and a sampler wrapper that avoids them.

Why by hand: Optuna's samplers do not look for repeats (optuna/optuna#2021, #1547:
no built-in way; the maintainers suggest a check in the objective).  TPE re-proposes
the same values late in a search, and workers of one study that sample with the same
seed propose the same points at the same moment.

A configuration is *taken* when a trial of the study that is COMPLETE, PRUNED, FAIL,
RUNNING or WAITING has it: its suggested parameters, its enqueued ``fixed_params``,
or the proposal a sampler recorded for it (trial system attribute
``metaopt:proposed``).  Choosing a configuration and recording it happen under the
study's cross-process lock (:func:`metaopt.warmstart.storage_lock`), so two workers
that sample at the same moment cannot pick the same one.  Values compare as Optuna
stores them, after the distribution's rounding and stepping.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.samplers import BaseSampler, RandomSampler
from optuna.search_space import IntersectionSearchSpace
from optuna.trial import FrozenTrial, TrialState

__all__ = ["DistinctSampler", "Repeats", "taken_params", "is_taken", "free_point", "claim", "PROPOSED_ATTR"]

#: states whose parameters are taken
TAKEN_STATES = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL, TrialState.RUNNING, TrialState.WAITING)
#: trial system attribute: the configuration a sampler chose for the trial, before the objective suggests it
PROPOSED_ATTR = "metaopt:proposed"
#: largest finite space enumerated to find a free configuration once random draws keep hitting taken ones
MAX_GRID = 10_000


def trial_params(trial: FrozenTrial) -> dict[str, Any]:
    """The configuration a trial has or will have: enqueued, then proposed, then suggested parameters."""
    out: dict[str, Any] = {}
    for part in (trial.system_attrs.get("fixed_params"), trial.system_attrs.get(PROPOSED_ATTR), trial.params):
        if isinstance(part, dict):
            out.update(part)
    return out


def taken_params(study: Any, exclude: FrozenTrial | None = None) -> list[dict[str, Any]]:
    """Parameter dicts of the study's taken trials (except ``exclude``, the trial being sampled)."""
    skip = exclude.number if exclude is not None else None
    out = []
    for t in study.get_trials(deepcopy=False, states=TAKEN_STATES):
        if t.number != skip:
            p = trial_params(t)
            if p:
                out.append(p)
    return out


def is_taken(params: Mapping[str, Any], taken: Sequence[Mapping[str, Any]], names: Sequence[str] | None = None
             ) -> bool:
    """Whether ``params`` equals a taken configuration (on ``names`` only; default: the same parameter set)."""
    if names is None:
        return any(p.keys() == params.keys() and all(p[n] == params[n] for n in params) for p in taken)
    return any(all(n in p and p[n] == params[n] for n in names) for p in taken)


def claim(study: Any, trial: FrozenTrial, choose: Callable[[list[dict[str, Any]]], dict[str, Any]]
          ) -> dict[str, Any]:
    """``choose(taken)`` under the study's cross-process lock, recorded on ``trial`` as its proposal."""
    from metaopt.warmstart._warm_start import storage_lock

    with storage_lock(study._storage, study.study_name):
        params = choose(taken_params(study, trial))
        if params:
            plain = {n: v.item() if isinstance(v, np.generic) else v for n, v in params.items()}
            proposed = trial_params(trial)
            proposed.update(plain)
            study._storage.set_trial_system_attr(trial._trial_id, PROPOSED_ATTR, proposed)
            trial.system_attrs[PROPOSED_ATTR] = proposed
    return params


def grid(dist: BaseDistribution) -> list[Any] | None:
    """Every value of a finite distribution (categorical, integer, stepped float); None for a continuous one."""
    if isinstance(dist, CategoricalDistribution):
        return list(dist.choices)
    if isinstance(dist, IntDistribution):
        return list(range(dist.low, dist.high + 1, dist.step))
    if isinstance(dist, FloatDistribution) and dist.step is not None:
        n = round((dist.high - dist.low) / dist.step) + 1
        return [dist.to_external_repr(dist.low + i * dist.step) for i in range(n)]
    return None


def free_point(space: Mapping[str, BaseDistribution], taken: Sequence[Mapping[str, Any]],
               rng: np.random.RandomState, fixed: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
    """A configuration of a finite ``space`` no taken one has (on the names of ``space`` and ``fixed``), at random.

    None where the space is continuous, larger than :data:`MAX_GRID`, or exhausted.
    """
    names = sorted(space)
    grids = [grid(space[n]) for n in names]
    if any(g is None for g in grids) or math.prod(len(g) for g in grids) > MAX_GRID:
        return None
    fixed = dict(fixed or {})
    keys = list(fixed) + names
    used = {tuple(p[n] for n in keys) for p in taken if all(n in p for n in keys)}
    head = tuple(fixed.values())
    free = [c for c in itertools.product(*grids) if head + c not in used]
    return dict(zip(names, free[rng.randint(len(free))])) if free else None


class Repeats:
    """The repeat check of one sampler: redraw through ``base``, then at random, then from the free grid.

    Keeps, per study, the size of the smallest taken configuration seen, so an
    independently sampled parameter reads the study only when the trial's
    configuration may be complete.
    """

    def __init__(self, base: BaseSampler, max_tries: int = 20, seed: int | None = None):
        self.base = base
        self.max_tries = int(max_tries)
        self.random = RandomSampler(seed=seed)
        self.rng = np.random.RandomState(seed)
        self._sizes: dict[str, int] = {}

    def _random_point(self, study: Any, trial: FrozenTrial, space: Mapping[str, BaseDistribution],
                      taken: list[dict[str, Any]]) -> dict[str, Any] | None:
        names = list(space)
        for _ in range(self.max_tries):
            point = {n: self.random.sample_independent(study, trial, n, d) for n, d in space.items()}
            if not is_taken(point, taken, names):
                return point
        return free_point(space, taken, self.rng)

    def relative(self, study: Any, trial: FrozenTrial, search_space: dict[str, BaseDistribution],
                 params: dict[str, Any]) -> dict[str, Any]:
        """``params`` (a relative proposal of ``base``, completed), or a later one that is not taken, else a random
        one; none (NSGA-II's first generation, TPE's start-up trials): :meth:`joint`."""
        if not params:
            return self.joint(study, trial, search_space)
        names = sorted(search_space)
        space = {n: search_space[n] for n in names}

        def whole(p: dict[str, Any]) -> dict[str, Any]:
            # NSGA-II proposes a part and leaves its mutated parameters to sample_independent: drawn here
            # the same way, so that the whole configuration is checked and redrawn at once
            return {**{n: self.base.sample_independent(study, trial, n, space[n]) for n in names if n not in p}, **p}

        def choose(taken: list[dict[str, Any]]) -> dict[str, Any]:
            p = whole(params)
            for _ in range(self.max_tries):
                if not is_taken(p, taken, names):
                    return p
                p = whole(self.base.sample_relative(study, trial, search_space))
            if not is_taken(p, taken, names):
                return p
            return self._random_point(study, trial, space, taken) or p  # late TPE keeps proposing taken points

        return claim(study, trial, choose)

    def joint(self, study: Any, trial: FrozenTrial, search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        """A whole configuration of ``search_space`` drawn parameter by parameter by ``base``, redrawn while taken.

        For a base sampler that samples each parameter on its own (random, independent
        TPE): drawing them together at the trial's start lets any parameter avoid a
        repeat, not only the last one suggested.
        """
        names = sorted(search_space)

        def choose(taken: list[dict[str, Any]]) -> dict[str, Any]:
            p: dict[str, Any] = {}
            for _ in range(self.max_tries):
                p = {n: self.base.sample_independent(study, trial, n, search_space[n]) for n in names}
                if not is_taken(p, taken, names):
                    return p
            return self._random_point(study, trial, {n: search_space[n] for n in names}, taken) or p

        return claim(study, trial, choose)

    def independent(self, study: Any, trial: FrozenTrial, name: str, dist: BaseDistribution, value: Any) -> Any:
        """``value``, or another one for ``name`` if ``value`` would complete a taken configuration."""
        params = {**trial_params(trial), **trial.params, name: value}
        key = str(getattr(study, "study_name", ""))
        if dist.single() or len(params) < self._sizes.get(key, 1):
            return value

        def choose(taken: list[dict[str, Any]]) -> dict[str, Any]:
            if taken:
                self._sizes[key] = min(len(p) for p in taken)
            p = dict(params)
            for attempt in range(2 * self.max_tries):
                if not is_taken(p, taken):
                    return p
                source = self.base if attempt < self.max_tries else self.random
                p[name] = source.sample_independent(study, trial, name, dist)
            same = [q for q in taken if q.keys() == p.keys()]
            point = free_point({name: dist}, same, self.rng, {n: v for n, v in p.items() if n != name})
            return {**p, **point} if point is not None else {**p, name: value}  # exhausted: let it through

        return claim(study, trial, choose)[name]


class DistinctSampler(BaseSampler):
    """``base`` that never proposes a configuration some trial of the study already has (module docstring).

    Where ``base`` samples each parameter on its own (random, independent TPE), the
    parameters every finished trial has are drawn together at the trial's start and
    redrawn while the configuration is taken (``base`` up to ``max_tries`` times, then
    uniformly at random, then from the free points of a small finite space); a base's
    own relative proposals (Optuna 5's default multivariate TPE) are redrawn the same
    way; any other parameter is redrawn when it would complete a taken configuration.
    Where the space is exhausted the repeat is let through.
    """

    def __init__(self, base: BaseSampler, max_tries: int = 20, seed: int | None = None):
        self.base = base
        self._repeats = Repeats(base, max_tries, seed)
        self._intersection = IntersectionSearchSpace(include_pruned=True)

    def reseed_rng(self) -> None:
        self.base.reseed_rng()
        self._repeats.random.reseed_rng()

    def before_trial(self, study: Any, trial: FrozenTrial) -> None:
        self.base.before_trial(study, trial)

    def infer_relative_search_space(self, study: Any, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        space = self.base.infer_relative_search_space(study, trial)
        if space:
            return space
        # a base that samples each parameter on its own: the whole known space, drawn jointly (Repeats.joint)
        return {n: d for n, d in self._intersection.calculate(study).items() if not d.single()}

    def sample_relative(self, study: Any, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
                        ) -> dict[str, Any]:
        if not search_space:
            return {}
        if self.base.infer_relative_search_space(study, trial):
            return self._repeats.relative(study, trial, search_space,
                                          self.base.sample_relative(study, trial, search_space))
        return self._repeats.joint(study, trial, search_space)

    def sample_independent(self, study: Any, trial: FrozenTrial, param_name: str,
                           param_distribution: BaseDistribution) -> Any:
        value = self.base.sample_independent(study, trial, param_name, param_distribution)
        return self._repeats.independent(study, trial, param_name, param_distribution, value)

    def after_trial(self, study: Any, trial: FrozenTrial, state: TrialState, values: Sequence[float] | None) -> None:
        self.base.after_trial(study, trial, state, values)
