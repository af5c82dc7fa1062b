"""A fitted meta-model for one KB and learner set, and its ranking of configurations for a new task.

The ranking itself is the meta-model's (:class:`metaopt.metamodel.MetaoptModel`);
this class turns it into :class:`Recommendation` objects made ready for the dataset.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

from metaopt.exceptions import ConfigError, KnowledgeBaseError
from metaopt.learners import get_learner
from metaopt.metamodel import (FitTimeModel, MetaoptModel, Query, build_score_matrix, candidates, canonical,
                               next_key)
from metaopt.recommender._recommendation import Recommendation
from metaopt.recommender._why import Why


class Recommender:
    """A fitted meta-model for one KB and learner choice (see :func:`recommend`).

    ``quick=True`` leaves out the surrogate: a few times faster to fit, for a time budget too short for the
    full fit; its first pick is worse, its first five as good (docs/metamodel.md, "Speed").
    """

    def __init__(self, kb, learner: str = "auto", quick: bool = False):
        learners = kb.learners
        if not learners:
            raise KnowledgeBaseError("the knowledge base holds no configurations")
        if learner != "auto" and learner not in learners:
            raise ConfigError(f"the knowledge base has no configurations of learner {learner!r} "
                              f"(has: {', '.join(learners)}; or use learner='auto')")
        if learner == "auto":
            dense = [lr for lr in learners if _has_dense_pool(kb, lr)]
            learners = dense or learners
        else:
            learners = [learner]
        # what the pools rank: where every kind is recommended from a pool, the sparse per-task
        # histories (openml-pimp's 47,000 one-task configurations), which no pool ranks, are left out
        sm = build_score_matrix(kb, learners, pooled_only=True)
        self.learner = learner
        self.learners = learners
        self.sm = sm
        self.model = (MetaoptModel(alpha=0.0) if quick else MetaoptModel()).fit(sm)
        self.fit_time = FitTimeModel().fit(sm)
        self._encoded = self._canonicalise()

    @property
    def quick(self) -> bool:
        """Fitted without the surrogate (``quick=True``)."""
        return getattr(self.model, "surrogate_", None) is None

    # -- the on-disk cache (metaopt.metamodel.canonical; stored by metaopt.recommender._cache) ------------
    _STATE = ("learner", "learners", "sm", "model", "fit_time")

    def _state(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._STATE}

    def _canonicalise(self) -> tuple | None:
        """Switch to the state as the disk cache stores it (so cached and fresh results are identical).

        Returns the (tree, arrays) encoding for :func:`get_recommender` to store, or
        None where the state cannot be encoded (then nothing is cached).
        """
        try:
            state, tree, arrays = canonical(self._state())
        except Exception:  # noqa: BLE001 - not storable: keep the fitted state, cache nothing
            return None
        for name in self._STATE:
            setattr(self, name, state[name])
        return tree, arrays

    @classmethod
    def _from_state(cls, state: Any) -> Recommender | None:
        if not isinstance(state, dict) or set(state) != set(cls._STATE):
            return None
        rec = cls.__new__(cls)
        for name in cls._STATE:
            setattr(rec, name, state[name])
        return rec

    def recommend(self, kind: str, meta: dict[str, float], n_rows: int, n_features: int, n_classes: int,
                  k: int = 5, time_budget: float | None = None, *, features: Any = None,
                  blind_reason: str | None = None, portfolio_first: int = 0) -> list[Recommendation]:
        """The ``k`` configurations to try first, in portfolio order, each made ready for this dataset.

        ``features``: the feature table, for learners whose parameters count model columns
        (a forest's ``max_features``; else ``n_features``).  Meta-features that are all NaN
        (``blind_reason`` says why) give the data-blind static portfolio, with a warning.
        ``portfolio_first``: the first this many come from the KB's static portfolio, the rest from the
        ranking (what probes choose among: docs/metamodel.md, "Which configurations to probe").
        """
        query = Query(kind, meta, self.sm.pool_for(kind))
        try:
            cand = candidates(self.sm, kind, query.pool)
        except KnowledgeBaseError:
            raise KnowledgeBaseError(f"the knowledge base has no {kind} tasks for "
                                     f"{', '.join(self.learners)}; cannot recommend") from None
        blind = not any(isinstance(v, numbers.Real) and np.isfinite(v) for v in meta.values())
        if blind:
            blind_reason = blind_reason or "all meta-features are NaN"
            warnings.warn(f"{blind_reason}, so metaopt's recommendations fall back to the data-blind "
                          "portfolio of the knowledge base", UserWarning, stacklevel=3)
        far = blind or self.model.is_far(query)
        n = len(cand) if time_budget is not None else k
        ranked = self.model.static_.rank(query, n) if blind and not self.model.is_far(query) \
            else self.model.rank(query, n)
        head = self.model.static_.rank(query, n if time_budget is not None else portfolio_first) \
            if portfolio_first else []
        times = self.fit_time.predict(list(dict.fromkeys(head + ranked)), n_rows, n_features, n_classes)
        ranked, note = _within_budget(ranked, times, time_budget)
        head = _within_budget(head, times, time_budget)[0][:portfolio_first]
        place = {key: j for j, key in enumerate(ranked)}  # in the ranking: what its reason says
        ranked = (head + [key for key in ranked if key not in head])[:k]
        mean, std = self.model.predict(query)
        # the similar tasks reported are those whose scores on these candidates inform the ranking
        informed = self.sm.norm[cand].notna().any(axis=1).to_numpy()
        similar = [] if blind else [{"task_id": t, "name": nm, "distance": round(d, 4)}
                                    for t, nm, d in self.model.nn_.nearest(query, 3, informed)]
        why = Why(blind_reason if blind else None, far, self.model, query, similar, note)
        widths: dict[str, int] = {}
        out = []
        for i, key in enumerate(ranked):
            cfg = self.sm.configs.loc[key]
            learner = str(cfg["learner"])
            if learner not in widths:
                widths[learner] = _model_width(learner, features, n_features)
            params, adapted = _ready_params(learner, dict(cfg["params"]), kind, n_rows, widths[learner])
            t = times.get(key, np.nan)
            in_head, j = i < len(head), (i if i < len(head) else place[key])
            out.append(Recommendation(
                rank=i + 1, learner=learner, config_id=str(cfg["config_id"]), params=params,
                predicted_score=float(mean.get(key, np.nan)), predicted_score_std=float(std.get(key, np.nan)),
                predicted_fit_time_s=None if not np.isfinite(t) else float(t), similar_tasks=similar,
                rationale=why.rationale(j, adapted, n_rows, portfolio=in_head), far_from_kb=far,
                reason=why.reason(j, bool(note), portfolio=in_head), adapted=adapted))
        return out

    def next_recommendation(self, kind: str, learner: str, tried: Mapping[str, float], n_rows: int,
                            n_features: int, n_classes: int, *, features: Any = None, width: int | None = None,
                            max_fit_seconds: float | None = None) -> Recommendation | None:
        """The configuration of ``learner`` to try next, given the new task's scores of those tried so far.

        ``tried``: ``{config_id: score}`` (higher is better; NaN: running, failed or pruned), the KB
        configurations already in the search.  The rule (:func:`metaopt.metamodel.next_pick`): KB tasks
        that order the tried configurations as the new task does weigh more; then the greedy best-of-set
        step.  ``max_fit_seconds``: configurations predicted to need longer for one fit are not chosen.
        ``width``: the learner's model columns when the feature table is not at hand (a ``MetaSampler``
        keeps no data). None when every configuration of the pool has been tried (or none fits the time).
        """
        query = Query(kind, {}, self.sm.pool_for(kind))
        try:
            cand = candidates(self.sm, kind, query.pool)
        except KnowledgeBaseError:
            return None
        cfg = self.sm.configs
        keys = [key for key in cand if cfg.at[key, "learner"] == learner]
        by_id = {str(cfg.at[key, "config_id"]): key for key in keys}
        observed = {by_id[c]: float(v) for c, v in tried.items() if c in by_id}
        times = {} if max_fit_seconds is None else self.fit_time.predict(keys, n_rows, n_features, n_classes)

        def fits(key: str) -> bool:
            t = times.get(key, np.nan)
            return not np.isfinite(t) or t <= max_fit_seconds
        key = next_key(self.sm, keys, observed, allowed=None if max_fit_seconds is None else fits)
        if key is None:
            return None
        width = int(width) if width is not None else _model_width(learner, features, n_features)
        params, adapted = _ready_params(learner, dict(cfg.at[key, "params"]), kind, n_rows, width)
        t = times[key] if key in times else self.fit_time.predict([key], n_rows, n_features, n_classes).get(key, np.nan)
        scored = sum(np.isfinite(v) for v in observed.values())
        return Recommendation(
            rank=len(observed) + 1, learner=learner, config_id=str(cfg.at[key, "config_id"]), params=params,
            predicted_score=float("nan"), predicted_score_std=float("nan"),
            predicted_fit_time_s=None if not np.isfinite(t) else float(t),
            rationale=(f"Chosen after the scores of the {scored} configuration(s) tried so far: KB tasks that order "
                       "them as this task does weigh more, then the configuration that best covers where those "
                       "tried are weak."), reason="reads the scores so far", adapted=adapted)

    # -- what a time budget needs: fit times, one learner's portfolio and what it reaches -----------------
    def config_fit_seconds(self, learner: str, config_id: str | None, n_rows: int, n_features: int,
                    n_classes: int = 0) -> float:
        """Predicted seconds of one fit on ``n_rows`` rows (:meth:`FitTimeModel.predict_config`; NaN: no timings).

        ``config_id`` None or not in the KB (a sampled configuration): the learner's typical time.
        """
        return self.fit_time.predict_config(learner, config_id, n_rows, n_features, n_classes)

    def portfolio_values(self, kind: str, meta: dict[str, float], learner: str, k: int
                         ) -> tuple[list[str], np.ndarray, float]:
        """``learner``'s first ``k`` configurations (config ids, in this model's order), the KB's expected
        best normalised score after trying the first 1, 2, ... of them, and its first pick's blended score
        (:meth:`MetaoptModel.portfolio_values`; jointly normalised, so learners of one pool compare)."""
        query = Query(kind, meta, self.sm.pool_for(kind))
        keys = [key for key in self.sm.configs.index if self.sm.configs.at[key, "learner"] == learner]
        order, values, lead = self.model.portfolio_values(query, keys, k)
        return [str(self.sm.configs.at[key, "config_id"]) for key in order], values, lead

    def default_score(self, kind: str, meta: dict[str, float], learner: str) -> float | None:
        """Predicted normalised score of ``learner``'s library default (None where the pool lacks it)."""
        query = Query(kind, meta, self.sm.pool_for(kind))
        mean, _ = self.model.predict(query)
        cfg = self.sm.configs
        keys = [key for key in mean.index if cfg.at[key, "learner"] == learner and cfg.at[key, "origin"] == "default"]
        values = mean.reindex(keys).dropna()
        return float(values.max()) if len(values) else None


def _within_budget(keys: list[str], times: Any, time_budget: float | None) -> tuple[list[str], str]:
    """``keys`` predicted to fit within ``time_budget`` seconds (all of them without a budget, the fastest where
    none fits), and the note that says so."""
    if time_budget is None:
        return keys, ""
    fits = [key for key in keys if not np.isfinite(times[key]) or times[key] <= time_budget]
    if fits:
        return fits, ""
    return (sorted(keys, key=lambda key: times[key]),
            f" No configuration is predicted to fit within {time_budget:g} s; these are the fastest ones.")


def _model_width(learner: str, features: Any, n_features: int) -> int:
    """Columns the learner's estimator sees (``n_features`` without the feature table)."""
    if features is None:
        return int(n_features)
    try:
        return get_learner(learner).model_width(features)
    except ConfigError:  # not a registered learner: its parameters are left as they are
        return int(n_features)


def _has_dense_pool(kb, learner: str, min_coverage: float = 0.5, min_pool: int = 5) -> bool:
    """Cheap check (no pivot) that some (kind, source) has >= ``min_pool`` configs on >= ``min_coverage`` of its tasks.

    The same rule as :func:`metaopt.metamodel.build_score_matrix`'s pools.
    """
    e = kb.evaluations
    e = e[(e["learner"] == learner) & (e["status"] == "ok")]
    if e.empty:
        return False
    tasks = kb.tasks.set_index("task_id")
    kind = e["task_id"].map(tasks["kind"])
    source = e["task_id"].map(tasks["source"]).fillna("")
    for _, sub in e.groupby([kind, source]):
        n_tasks = sub["task_id"].nunique()
        cov = sub.groupby("config_id")["task_id"].nunique() / n_tasks
        if (cov >= min_coverage).sum() >= min_pool:
            return True
    return False


def _ready_params(learner: str, params: dict, kind: str, n_rows: int | None = None,
                  n_features: int | None = None) -> tuple[dict, dict]:
    """(params ready for this dataset, ``{name: (KB value, value here)}``); see :meth:`Learner.ready_params`."""
    try:
        return get_learner(learner).ready_params(params, kind, n_rows, n_features)
    except ConfigError:  # an unknown learner or a foreign history's parameters: shown as stored
        return params, {}
