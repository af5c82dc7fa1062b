"""The meta-model metaopt uses: similar KB tasks and a surrogate for the first pick, a greedy portfolio after.

:class:`MetaoptModel` weights the KB tasks by similarity to the new one (a kernel on
the nearest tasks plus an even prior), picks first the configuration with the best
blend of its weighted score and the surrogate's prediction, then adds configurations
greedily where the chosen ones are weak (skipping near-duplicates).  On a one-learner
pool, the further the new task lies from the KB, the more of the weight goes evenly to
all KB tasks (:meth:`MetaoptModel.even_shares`: neighbours from another field are poor
guides to a configuration); a task far beyond the KB falls back to the static
portfolio.  The settings (the constants below and the ``__init__`` defaults) were
chosen by nested LODO (``benchmarks/select_metamodel.py``); ``docs/metamodel.md``
gives the numbers.

``learner="auto"``: the score matrix spans every learner with a dense pool,
normalised jointly per task, so the same model ranks (learner, configuration)
pairs - algorithm selection and configuration in one step.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from metaopt.metamodel._base import MetaModel, Query, candidates
from metaopt.metamodel._greedy import best_of_set, fill_unknown, unit_weights
from metaopt.metamodel._neighbours import NearestTasks
from metaopt.metamodel._normalise import ScoreMatrix
from metaopt.metamodel._portfolio import StaticPortfolio
from metaopt.metamodel._surrogate import Surrogate

FAR_QUANTILE = 0.95
FAR_FACTOR = 1.25
DUPLICATE_CORR = 0.995


class MetaoptModel(MetaModel):
    """The meta-model ``recommend`` runs (module docstring)."""

    name = "metaopt"

    def __init__(self, n_neighbours: int = 10, prior: float = 0.3, alpha: float = 0.6,
                 prior_rest: float | None = 0.3, n_models: int = 5, fallback: bool = True, random_state: int = 0,
                 shrink_novel: bool = True):
        self.n_neighbours = n_neighbours
        self.prior = prior
        self.alpha = alpha
        self.prior_rest = prior_rest
        self.shrink_novel = shrink_novel
        self.n_models = n_models
        self.fallback = fallback
        self.random_state = random_state

    def fit(self, sm: ScoreMatrix) -> MetaoptModel:
        super().fit(sm)
        self.nn_ = NearestTasks(n_neighbours=self.n_neighbours, same_kind=True).fit(sm)
        self.static_ = StaticPortfolio().fit(sm)
        self.surrogate_ = Surrogate(n_models=self.n_models, n_estimators=150,
                                    random_state=self.random_state).fit(sm) if self.alpha > 0 else None
        ref = self.nn_.reference_distances_
        self.far_threshold_ = float(np.quantile(ref, FAR_QUANTILE) * FAR_FACTOR) if len(ref) else np.inf
        cand = sorted({c for kind in sm.tasks["kind"].unique() for name in sm.pools_of(kind) or [None]
                       for c in candidates(sm, kind, name)})
        norm = sm.norm[cand]
        norm = norm.fillna(norm.mean())
        # score correlation across KB tasks; only meaningful (and affordable) for a dense pool
        self.corr_ = norm.corr().fillna(0.0) if len(norm) > 2 and sm.pool and len(cand) <= 3000 \
            else pd.DataFrame()
        return self

    # -- pieces the recommendation reports ------------------------------------------------
    def nearest_distance(self, query: Query) -> float:
        d = self.nn_.distances(query)
        return float(np.min(d)) if len(d) else np.inf

    def is_far(self, query: Query) -> bool:
        return bool(self.fallback and self.nearest_distance(query) > self.far_threshold_)

    def novelty(self, query: Query) -> float:
        """Share of the KB's tasks lying closer to their nearest other task than this task lies to the KB.

        0 in the KB's densest region, 1 beyond every KB task.  Only tasks that scored a candidate of the
        query's pool count (as the weights of :meth:`rank`).
        """
        ref = self.nn_.reference_distances_
        known = np.isfinite(self.sm_.norm[candidates(self.sm_, query.kind, query.pool)].to_numpy()).any(axis=1)
        d = self.nn_.distances(query)[known]
        if not len(ref) or not len(d):
            return 0.0
        return float(np.mean(ref < np.min(d)))

    def even_shares(self, query: Query) -> tuple[float, float]:
        """The even share of the task weights for the first pick and for picks 2..k on this task.

        At least ``prior`` / ``prior_rest``, and at least :meth:`novelty` (``shrink_novel``) where the pool
        holds one learner: out of distribution the nearest tasks' best configuration of a learner
        transfers worse than the KB-wide best, while their choice of learner still helps (measured on the
        collection split, ``docs/metamodel.md``).
        """
        rest = self.prior if self.prior_rest is None else self.prior_rest
        if not self.shrink_novel or len(self._learners(query)) != 1:
            return self.prior, rest
        share = self.novelty(query)
        return max(self.prior, share), max(rest, share)

    def _learners(self, query: Query) -> set[str]:
        return set(self.sm_.configs.loc[candidates(self.sm_, query.kind, query.pool), "learner"])

    def predict(self, query: Query) -> tuple[pd.Series, pd.Series | None]:
        """Blend of the similarity-weighted KB mean and the surrogate; uncertainty from both."""
        cand = candidates(self.sm_, query.kind, query.pool)
        nn_mean, nn_std = self.nn_.predict(query)
        if self.surrogate_ is None:
            return nn_mean.reindex(cand), nn_std.reindex(cand)
        s_mean, s_std = self.surrogate_.predict(query)
        mean = (1 - self.alpha) * nn_mean.reindex(cand) + self.alpha * s_mean.reindex(cand)
        # spread of the neighbours' scores plus the ensemble's disagreement
        std = np.sqrt(((1 - self.alpha) * nn_std.reindex(cand)) ** 2 + (self.alpha * s_std.reindex(cand)) ** 2
                      + (nn_mean.reindex(cand) - s_mean.reindex(cand)) ** 2 * self.alpha * (1 - self.alpha))
        return mean, std

    def _duplicate(self, key: str, chosen: list[str]) -> bool:
        params = self.sm_.configs.at[key, "params"]
        for c in chosen:
            if self.sm_.configs.at[c, "params"] == params:
                return True
            if key in self.corr_.index and c in self.corr_.index and self.corr_.at[key, c] >= DUPLICATE_CORR:
                return True
        return False

    def rank(self, query: Query, k: int) -> list[str]:
        if self.is_far(query):
            out: list[str] = []
            for key in self.static_.rank(query, len(candidates(self.sm_, query.kind, query.pool))):
                if not self._duplicate(key, out):
                    out.append(key)
                if len(out) >= k:
                    break
            return out
        cand = candidates(self.sm_, query.kind, query.pool)
        p = self.sm_.norm[cand].to_numpy()
        known = np.isfinite(p).any(axis=1)
        w_nn = self.nn_.task_weights(query, known)[known]
        s_mean = None
        if self.surrogate_ is not None:
            s_mean = self.surrogate_.predict(query)[0].reindex(cand).to_numpy()
        prior, prior_rest = self.even_shares(query)
        idx = blend_rank(p[known], w_nn, s_mean, k, prior, self.alpha, prior_rest,
                         duplicate=lambda j, chosen: self._duplicate(cand[j], [cand[i] for i in chosen]))
        return [cand[i] for i in idx]

    def portfolio_values(self, query: Query, keys: list[str], k: int) -> tuple[list[str], np.ndarray, float]:
        """What the KB says a set of ``keys`` (e.g. one learner's configurations) reaches on this task.

        Returns the greedy order of up to ``k`` of ``keys`` (first the best blend, as :meth:`rank`; then
        best-of-set); after each pick, the weighted mean over the KB tasks of the best normalised score
        among the picks so far (the score expected from trying the first n of them; weights as
        :meth:`rank`'s later picks, even ones for a task far from the KB); and the first pick's blend
        (what :meth:`rank` ranks first picks by).  Normalised jointly over the pool, so the values of
        two learners of one pool compare.
        """
        cand = candidates(self.sm_, query.kind, query.pool)
        pool = set(cand)
        cols = [c for c in keys if c in pool]
        if not cols or k < 1:
            return [], np.zeros(0), -np.inf
        known = np.isfinite(self.sm_.norm[cand].to_numpy()).any(axis=1)
        p = fill_unknown(self.sm_.norm[cols].to_numpy()[known])
        n = p.shape[0]
        if n == 0:
            return cols[:k], np.zeros(min(k, len(cols))), 0.0
        if self.is_far(query):
            w = first = np.full(n, 1.0 / n)
            s_mean = None
        else:
            w_nn = unit_weights(self.nn_.task_weights(query, known)[known], n)
            prior, prior_rest = self.even_shares(query)
            first = _mix(w_nn, prior)
            w = _mix(w_nn, prior_rest)
            s_mean = None if self.surrogate_ is None else \
                self.surrogate_.predict(query)[0].reindex(cols).to_numpy()
        lead = first @ p
        if s_mean is not None and self.alpha > 0:
            lead = (1 - self.alpha) * lead + self.alpha * np.nan_to_num(np.asarray(s_mean, dtype="float64"))
        order = best_of_set(p, w, k, first=int(np.argmax(lead)),
                            duplicate=lambda j, chosen: self._duplicate(cols[j], [cols[i] for i in chosen]))
        values = w @ np.maximum.accumulate(p[:, order], axis=1)
        return [cols[j] for j in order], values, float(lead[order[0]])


def _mix(w_nn: np.ndarray, share: float) -> np.ndarray:
    """Task weights: ``1 - share`` on the nearest tasks (``w_nn``), ``share`` spread evenly (as :func:`blend_rank`)."""
    w = (1 - share) * w_nn + share / len(w_nn)
    return w / w.sum()


def blend_rank(p: np.ndarray, w_nn: np.ndarray, s_mean: np.ndarray | None, k: int, prior: float, alpha: float,
               prior_rest: float | None = None,
               duplicate: Callable[[int, list[int]], bool] | None = None) -> list[int]:
    """:class:`MetaoptModel`'s choice: column indices of ``p`` (KB tasks x candidates) to try, best first.

    Task weights: ``(1 - prior)`` of the weight on the nearest tasks (kernel weights
    ``w_nn``, normalised), ``prior`` spread evenly over all tasks.  The first pick
    maximises ``(1 - alpha)`` x the weighted mean score + ``alpha`` x the surrogate's
    prediction ``s_mean``; later picks greedily maximise the weighted mean
    best-of-set, with ``prior_rest`` (default ``prior``) as the even share: later
    picks hedge, so a larger even share makes them closer to the static portfolio.
    ``duplicate(j, chosen)`` rejects near-duplicates.
    """
    n, m = p.shape
    if n == 0 or m == 0:
        return list(range(min(k, m)))
    p = fill_unknown(p)
    w_nn = unit_weights(w_nn, n)

    def mix(share: float) -> np.ndarray:
        w = (1 - share) * w_nn + share / n
        return w / w.sum()

    first = mix(prior) @ p
    if s_mean is not None and alpha > 0:
        first = (1 - alpha) * first + alpha * np.nan_to_num(np.asarray(s_mean, dtype="float64"))
    w = mix(prior if prior_rest is None else prior_rest)
    return best_of_set(p, w, k, first=int(np.argmax(first)), duplicate=duplicate)
