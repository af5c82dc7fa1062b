"""``MetaSampler``: an Optuna sampler that starts from metaopt's recommendations and keeps using the meta-model.

Signature (stable; :mod:`metaopt.tuning` constructs it)::

    MetaSampler(X=None, y=None, *, meta_features=None, kind=None, target=None, learner="lightgbm", k=5,
                kb=None, seed=None, n_candidates=64, base_sampler=None, recommendations=None,
                surrogate=None, param_names=None, search_space=None, prior_strength=10.0,
                n_tpe_candidates=8, warm_start=True, adaptive=True)

How it samples
--------------
1. **Warm start.**  In ``before_trial`` of the first trial it calls the
   lock-protected check-and-enqueue of :func:`metaopt.warmstart.warm_start`: the
   current trial gets the first recommendation as its fixed parameters and the
   other ``k - 1`` are enqueued - once per study, however many workers share it
   (a study already warm-started by ``warm_start()`` is left as is).
   **Adaptive** (``adaptive=True``, the default, when the sampler chooses the
   recommendations itself): only the first ``ADAPTIVE_START`` are placed so; each
   later one of the ``k`` is chosen in the ``before_trial`` of a new trial (none
   waiting in the queue) from the scores of those tried, and becomes that trial
   (:class:`~metaopt.warmstart.AdaptiveWarmStart`, the rule ``tune`` uses).
   ``recommendations=`` given are tried as given.
2. **Then, every trial** (over the intersection search space of the completed
   trials, restricted to the parameters the learner knows) a candidate set is
   built - ``n_tpe_candidates`` proposals of the base sampler (TPE by default;
   none during its random start-up), ``n_candidates // 8`` neighbours of the best
   trial so far (Gaussian steps of 0.1 in the unit cube) and random points up to
   ``n_candidates`` - and the candidate with the best blended score is chosen::

       score(c) = w_n * rank(meta(c)) + (1 - w_n) * rank(own(c)),   w_n = n0 / (n0 + n)

   ``meta(c)``: the surrogate's predicted normalised score of ``c`` for this
   task's meta-features (mean + 0.5 std, optimistic); ``own(c)``: an
   extra-trees regressor fitted on the study's own completed trials (from 4
   on; before that ``w_n = 1``); ranks are scaled to [0, 1] over the
   candidates; ``n`` is the number of completed trials and ``n0 =
   prior_strength`` (default 10: the prior and the study's own evidence weigh
   equally after 10 trials, the prior has 20% after 40, 9% after 100).
3. **Unknown parameters** (not in the learner's space after the name mapping)
   are left to the base sampler's ``sample_independent`` (plain TPE), with one
   warning per sampler.

4. **No repeats.** A candidate equal to the parameters of any trial of the study
   (complete, pruned, failed, running, waiting, or just proposed to another
   worker) is skipped for the next best, chosen and recorded under the study's
   lock (:mod:`._distinct`); an independently sampled parameter that would
   complete a taken configuration is drawn again.

5. **Several objectives** (``directions=[...]``): the surrogate predicts one score, so the warm start
   still comes first, its later picks follow the KB's ranking without reading the study's values, and
   the base sampler (TPE handles several objectives) proposes every later trial, without repeats; one
   warning says so.

A sampler pickles (Optuna's FAQ resumes a study with a pickled sampler); the KB's surrogate is not copied
but fetched again on loading, and the adaptive warm start's step made again.

The surrogate is any object with ``predict(meta_features: dict, params_list:
list[dict]) -> (mean, std)`` in the learner's parameter names; by default the
surrogate of metaopt's fitted meta-model (the one :func:`metaopt.recommend` uses,
shared, not fitted again; :func:`default_surrogate`), prepared in the first
trial's ``before_trial``.  With a seed, a sequential study is reproducible.
"""

from __future__ import annotations

import math
import threading
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.samplers import BaseSampler, TPESampler
from optuna.search_space import IntersectionSearchSpace
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

from metaopt.exceptions import MetaoptError
from metaopt.metamodel import ADAPTIVE_START, KIND_CODES
from metaopt.warmstart._adaptive import AdaptiveWarmStart
from metaopt.warmstart._distinct import Repeats, claim, free_point, is_taken
from metaopt.warmstart._param_space import ParamNameMismatchError, resolve_param_names
from metaopt.warmstart._warm_start import check_learner, task_size

__all__ = ["MetaSampler", "KBSurrogate", "default_surrogate"]


class KBSurrogate:
    """Adapter: ``predict(meta_features, params_list) -> (mean, std)`` over a fitted metamodel ``Surrogate``."""

    def __init__(self, model: Any, kind: str, learner: str = "lightgbm"):
        self.model = model
        self.kind = kind
        learners = sorted(set(model.sm_.configs["learner"]))
        self.learner_code = float(learners.index(learner)) if learner in learners else math.nan
        self.columns = list(model.params_.columns)

    def predict(self, meta_features: Mapping[str, float], params_list: Sequence[Mapping[str, Any]]
                ) -> tuple[np.ndarray, np.ndarray]:
        q = self.model.space_.transform(dict(meta_features))[0]
        n = len(params_list)
        P = np.full((n, len(self.columns)), np.nan)
        for j, c in enumerate(self.columns):
            if c == "learner":
                P[:, j] = self.learner_code
                continue
            name = c[2:] if c.startswith("p_") else c
            for i, p in enumerate(params_list):
                v = p.get(name)
                if isinstance(v, (bool, np.bool_, int, float, np.integer, np.floating)) and v is not None:
                    P[i, j] = float(v)
        X = np.hstack([np.repeat(q[None, :], n, axis=0), np.full((n, 1), KIND_CODES.get(self.kind, np.nan)), P])
        preds = np.vstack([m.predict(X) for m in self.model.models_])
        return preds.mean(axis=0), preds.std(axis=0)


def default_surrogate(kind: str, learner: str = "lightgbm", kb: Any = None) -> KBSurrogate | None:
    """The knowledge base's surrogate for ``learner``: the recommender's own, never a second fit.

    See :func:`metaopt.recommender.shared_surrogate` (the one owner of fitted meta-models).  None where this
    process's meta-model was fitted quick, without a surrogate (a time budget too short for the full fit,
    which ``tune``'s notes report).
    """
    from metaopt.recommender import shared_surrogate

    surrogate = shared_surrogate(kb, learner)
    return None if surrogate is None else KBSurrogate(surrogate, kind, learner)


# --------------------------------------------------------------------------- unit-cube coding
def _to_unit(value: Any, d: BaseDistribution) -> float:
    if isinstance(d, CategoricalDistribution):
        n = len(d.choices)
        return d.to_internal_repr(value) / (n - 1) if n > 1 else 0.0
    lo, hi, v = float(d.low), float(d.high), float(value)
    if d.log:
        lo, hi, v = math.log(lo), math.log(hi), math.log(max(v, d.low))
    return 0.0 if hi <= lo else min(max((v - lo) / (hi - lo), 0.0), 1.0)


def _from_unit(u: float, d: BaseDistribution) -> Any:
    u = min(max(float(u), 0.0), 1.0)
    if isinstance(d, CategoricalDistribution):
        n = len(d.choices)
        return d.choices[min(int(round(u * (n - 1))), n - 1)]
    lo, hi = float(d.low), float(d.high)
    v = math.exp(math.log(lo) + u * (math.log(hi) - math.log(lo))) if d.log else lo + u * (hi - lo)
    if isinstance(d, IntDistribution):
        step = d.step or 1
        v = d.low + int(round((v - d.low) / step)) * step
        return int(min(max(v, d.low), d.high))
    if isinstance(d, FloatDistribution) and d.step is not None:
        v = d.low + round((v - d.low) / d.step) * d.step
    return float(min(max(v, lo), hi))


def _rank01(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype="float64")
    if len(x) <= 1 or np.allclose(x, x[0]):
        return np.full(len(x), 0.5)
    from scipy.stats import rankdata

    return (rankdata(x) - 1.0) / (len(x) - 1.0)


class MetaSampler(BaseSampler):
    """Warm start from metaopt's recommendations, then surrogate-guided TPE (see the module docstring)."""

    def __init__(self, X: Any = None, y: Any = None, *, meta_features: Mapping[str, float] | None = None,
                 kind: str | None = None, target: Any = None, learner: str = "lightgbm", k: int = 5,
                 kb: Any = None, seed: int | None = None, n_candidates: int = 64,
                 base_sampler: BaseSampler | None = None, recommendations: Sequence[Any] | None = None,
                 surrogate: Any = None, param_names: Mapping[str, str] | None = None,
                 search_space: Mapping[str, BaseDistribution] | None = None, prior_strength: float = 10.0,
                 n_tpe_candidates: int = 8, warm_start: bool = True, adaptive: bool = True):
        if X is None and recommendations is None and (meta_features is None or kind is None):
            from metaopt.exceptions import ConfigError

            raise ConfigError("MetaSampler needs the data (X, y) or kind= and meta_features= "
                              "(or recommendations= and surrogate=)")
        self._X, self._y, self._target = X, y, target
        self._meta_in, self._kind_in = meta_features, kind
        self.learner = check_learner(learner)
        self.k = int(k)
        self._kb = kb
        self._seed = seed
        self.n_candidates = max(int(n_candidates), 1)
        self.n_tpe_candidates = max(int(n_tpe_candidates), 0)
        self._base = base_sampler if base_sampler is not None else TPESampler(seed=seed)
        self._repeats = Repeats(self._base, seed=seed)
        self._recs_in = recommendations
        self._surrogate_in = surrogate
        self._param_names = dict(param_names) if param_names is not None else None
        self._search_space = dict(search_space) if search_space is not None else None
        self.prior_strength = float(prior_strength)
        self._do_warm = bool(warm_start)
        self._do_adaptive = bool(adaptive) and recommendations is None
        self._adaptive: AdaptiveWarmStart | None = None  # set in _prepare when the warm start plans later picks
        self._width: int | None = None  # the learner's model width for the data (later picks' parameters)
        self._adaptive_done: set[tuple[int, str]] = set()
        self._rng = np.random.RandomState(seed)
        self._lock = threading.RLock()
        self._ready = False
        self._warm_done: set[tuple[int, str]] = set()
        self._warned_unknown: set[str] = set()
        self._warned_objectives = False
        self._intersection = IntersectionSearchSpace(include_pruned=True)
        self.kind: str | None = kind
        self.meta_features: dict[str, float] | None = dict(meta_features) if meta_features is not None else None
        self.recommendations: list[Any] = []
        self.surrogate: Any = surrogate
        self.last_weight: float | None = None

    # -- lazy preparation ---------------------------------------------------------------
    def _prepare(self) -> None:
        with self._lock:
            if self._ready:
                return
            from metaopt.warmstart._warm_start import as_warm_configs, get_recommendations, task_of

            if self._X is not None and (self.kind is None or self.meta_features is None):
                self.kind, self.meta_features = task_of(self._X, self._y, target=self._target, kind=self._kind_in,
                                                        meta_features=self._meta_in)
            if self._recs_in is not None:
                self.recommendations = as_warm_configs(self._recs_in, self.learner)[: self.k]
            elif self._do_warm:
                self.recommendations = get_recommendations(
                    self._X, self._y, learner=self.learner, k=self.k, kb=self._kb, target=self._target,
                    kind=self.kind, meta_features=self.meta_features)
                if self._do_adaptive and len(self.recommendations) > ADAPTIVE_START:
                    self._adaptive = self._later_picks()
            self._fetch_surrogate()
            self._X = self._y = None  # do not keep the data alive in the sampler
            self._ready = True

    def _fetch_surrogate(self) -> None:
        if self.surrogate is None and self.kind is not None and self.meta_features is not None:
            try:
                self.surrogate = default_surrogate(self.kind, self.learner, self._kb)
            except Exception as exc:  # noqa: BLE001 - no KB: plain TPE ranking, said once
                warnings.warn(f"MetaSampler: no surrogate ({exc}); candidates are ranked by the study's "
                              "own evidence only", RuntimeWarning, stacklevel=4)

    def _later_picks(self) -> AdaptiveWarmStart:
        """The step that chooses warm-start picks after the first ones (needs the task's size, not its data)."""
        from metaopt.learners import get_learner

        self._width = None
        if self._X is not None:
            from metaopt.data import as_dataset

            try:
                self._width = get_learner(self.learner).model_width(
                    as_dataset(self._X, self._y, target=self._target, kind=self.kind).X)
            except MetaoptError:
                pass  # a learner without a width rule: its parameters stay as the KB has them
        return self._adaptive_step()

    def _adaptive_step(self) -> AdaptiveWarmStart:
        from metaopt.recommender import get_recommender

        n_rows, n_features, n_classes = task_size(self.meta_features or {})
        kind, learner, kb, width = self.kind, self.learner, self._kb, self._width

        def next_config(tried: dict[str, float]) -> Any:
            return get_recommender(kb, learner).next_recommendation(
                kind, learner, tried, n_rows, n_features, n_classes if kind != "regression" else 0, width=width)

        return AdaptiveWarmStart(next_config, learner=learner, search_space=self._search_space,
                                 param_names=self._param_names, kind=kind)

    # -- pickling: Optuna's FAQ saves a sampler with pickle to resume a study with the sampler's state ----------
    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["_lock"]
        state["_adaptive"] = self._adaptive is not None  # its step is a closure: made again on loading
        if self._surrogate_in is None:
            state["surrogate"] = None  # the KB's, shared by the process (MBs): fetched again on loading
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        adaptive = state.pop("_adaptive")
        self.__dict__.update(state)
        self._lock = threading.RLock()
        self._adaptive = self._adaptive_step() if adaptive else None
        if self._ready:
            self._fetch_surrogate()

    # -- BaseSampler -------------------------------------------------------------------
    def reseed_rng(self) -> None:
        self._rng.seed()
        self._base.reseed_rng()
        self._repeats.random.reseed_rng()

    def before_trial(self, study: Any, trial: FrozenTrial) -> None:
        from metaopt.warmstart._warm_start import guard_trial_queue

        guard_trial_queue(study)
        self._base.before_trial(study, trial)
        self._prepare()  # any meta-model fit happens here, in the first trial, not in a later one's sampling
        if not self._do_warm:
            return
        self._warm_start(study, trial)
        self._next_pick(study, trial)

    def _warm_start(self, study: Any, trial: FrozenTrial) -> None:
        """Once per study: the first recommendations, the first as this trial (module docstring, step 1)."""
        key = (id(study._storage), study.study_name)
        if key in self._warm_done:
            return
        from metaopt.warmstart._warm_start import enqueue_once, is_warm_started, prepare_configs

        if is_warm_started(study):
            self._warm_done.add(key)
            return
        if not self.recommendations:
            self._warm_done.add(key)
            return
        first = self.recommendations[:ADAPTIVE_START] if self._adaptive is not None else self.recommendations
        prepared, _ = prepare_configs(first, study, learner=self.learner,
                                      param_names=self._param_names, search_space=self._search_space,
                                      kind=self.kind)
        fixed = trial.system_attrs.get("fixed_params")
        enqueue_once(study, prepared, learner=self.learner,
                     current_trial=None if fixed or trial.state != TrialState.RUNNING else trial,
                     planned=len(self.recommendations) if self._adaptive is not None else None)
        self._warm_done.add(key)

    def _next_pick(self, study: Any, trial: FrozenTrial) -> None:
        """A new trial that nothing fixed becomes the warm start's next planned pick (if one is due)."""
        key = (id(study._storage), study.study_name)
        if self._adaptive is None or key in self._adaptive_done:
            return
        if not trial.system_attrs.get("fixed_params") and trial.state == TrialState.RUNNING:
            self._adaptive.step(study, current_trial=trial)
        if self._adaptive.done(study):
            self._adaptive_done.add(key)

    def _several_objectives(self, study: Any) -> bool:
        """Whether ``study`` has several objectives, which the base sampler searches (module docstring, 5)."""
        if len(study.directions) == 1:
            return False
        if not self._warned_objectives:
            self._warned_objectives = True
            warnings.warn(f"MetaSampler: the study has {len(study.directions)} objectives: the warm start comes "
                          f"first, then {type(self._base).__name__} proposes the trials (the meta-model ranks "
                          "candidates for one objective only)", UserWarning, stacklevel=3)
        return True

    def infer_relative_search_space(self, study: Any, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        if self._several_objectives(study):
            return self._base.infer_relative_search_space(study, trial)
        space = {}
        for name, d in sorted(self._intersection.calculate(study).items()):
            if not d.single():
                space[name] = d
        if not space:
            return {}
        mapping = self._mapping(space)
        known = {n: d for n, d in space.items() if n in mapping.values()}
        unknown = sorted(set(space) - set(known))
        new = [n for n in unknown if n not in self._warned_unknown]
        if new:
            self._warned_unknown.update(new)
            warnings.warn(f"MetaSampler: the meta-model does not know parameter(s) {new} of learner "
                          f"{self.learner!r}; they are sampled by the base sampler (TPE)", UserWarning,
                          stacklevel=2)
        return known

    def _mapping(self, space: Mapping[str, BaseDistribution]) -> dict[str, str]:
        try:
            return resolve_param_names(self.learner, self._param_names, list(space), self.kind)
        except ParamNameMismatchError:
            if self._param_names is not None:
                raise
            return {}

    def sample_relative(self, study: Any, trial: FrozenTrial,
                        search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        if not search_space:
            return {}
        if self._several_objectives(study):
            return self._repeats.relative(study, trial, search_space,
                                          self._base.sample_relative(study, trial, search_space))
        self._prepare()
        names = sorted(search_space)
        dists = [search_space[n] for n in names]
        done = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
                if all(n in t.params for n in names)]
        # candidates in the unit cube
        cands: list[np.ndarray] = []
        for _ in range(self.n_tpe_candidates):
            prop = self._base.sample_relative(study, trial, search_space)
            if not prop or any(n not in prop for n in names):
                break
            cands.append(np.array([_to_unit(prop[n], d) for n, d in zip(names, dists)]))
        sign = 1.0 if study.direction == StudyDirection.MAXIMIZE else -1.0
        y_own = np.array([sign * float(t.value) for t in done]) if done else np.zeros(0)
        X_own = np.array([[_to_unit(t.params[n], d) for n, d in zip(names, dists)] for t in done]) \
            if done else np.zeros((0, len(names)))
        if len(done):
            best = X_own[int(np.argmax(y_own))]
            for _ in range(max(self.n_candidates // 8, 1)):
                step = self._rng.normal(0.0, 0.1, len(names))
                cands.append(np.clip(best + step, 0.0, 1.0))
        while len(cands) < self.n_candidates:
            cands.append(self._rng.uniform(0.0, 1.0, len(names)))
        C = np.vstack(cands)
        params = [{n: _from_unit(u, d) for n, u, d in zip(names, row, dists)} for row in C]
        # blended score
        n = len(done)
        w = self.prior_strength / (self.prior_strength + n) if self.prior_strength > 0 else 0.0
        meta_score = self._meta_scores(params, search_space)
        if meta_score is None:
            w = 0.0
        own_score = None
        if n >= 4:
            from sklearn.ensemble import ExtraTreesRegressor

            et = ExtraTreesRegressor(n_estimators=50, min_samples_leaf=1,
                                     random_state=int(self._rng.randint(0, 2**31 - 1)), n_jobs=1)
            et.fit(X_own, y_own)
            own_score = et.predict(C)
        else:
            w = 1.0 if meta_score is not None else 0.0
        total = np.zeros(len(C))
        if meta_score is not None and w > 0:
            total += w * _rank01(meta_score)
        if own_score is not None and w < 1:
            total += (1.0 - w) * _rank01(own_score)
        if meta_score is None and own_score is None:
            order = np.arange(len(C))  # first TPE proposal (or a random point) first
        else:
            order = np.argsort(-total, kind="stable")
        self.last_weight = w
        return self._first_new(study, trial, names, dists, params, order)

    def _first_new(self, study: Any, trial: FrozenTrial, names: list[str], dists: list[BaseDistribution],
                   params: list[dict[str, Any]], order: np.ndarray) -> dict[str, Any]:
        """The best candidate no trial of the study has (finished, running, waiting or being sampled)."""

        def choose(taken: list[dict[str, Any]]) -> dict[str, Any]:
            for i in order:
                if not is_taken(params[i], taken, names):
                    return params[i]
            for _ in range(4 * self.n_candidates):  # every candidate is taken: random points
                p = {n: _from_unit(u, d) for n, u, d in zip(names, self._rng.uniform(0.0, 1.0, len(names)), dists)}
                if not is_taken(p, taken, names):
                    return p
            point = free_point(dict(zip(names, dists)), taken, self._rng)  # a small finite space, nearly exhausted
            return point if point is not None else params[int(order[0])]  # exhausted: let the repeat through

        return claim(study, trial, choose)

    def _meta_scores(self, params: list[dict[str, Any]], space: Mapping[str, BaseDistribution]) -> np.ndarray | None:
        if self.surrogate is None or self.meta_features is None:
            return None
        mapping = self._mapping(space)
        inverse = {theirs: ours for ours, theirs in mapping.items()}
        ours = [{inverse[n]: v for n, v in p.items() if n in inverse} for p in params]
        if not any(ours):
            return None
        mean, std = self.surrogate.predict(self.meta_features, ours)
        mean = np.asarray(mean, dtype="float64")
        std = np.zeros_like(mean) if std is None else np.asarray(std, dtype="float64")
        return mean + 0.5 * std

    def sample_independent(self, study: Any, trial: FrozenTrial, param_name: str,
                           param_distribution: BaseDistribution) -> Any:
        value = self._base.sample_independent(study, trial, param_name, param_distribution)
        return self._repeats.independent(study, trial, param_name, param_distribution, value)

    def after_trial(self, study: Any, trial: FrozenTrial, state: TrialState, values: Sequence[float] | None) -> None:
        self._base.after_trial(study, trial, state, values)
