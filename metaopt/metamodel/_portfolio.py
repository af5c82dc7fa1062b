"""Greedy portfolios: static (best on average over the KB) and meta-feature conditioned."""

from __future__ import annotations

import numpy as np
import pandas as pd

from metaopt.metamodel._base import MetaModel, Query, candidates
from metaopt.metamodel._greedy import greedy_portfolio
from metaopt.metamodel._neighbours import NearestTasks
from metaopt.metamodel._normalise import ScoreMatrix


class StaticPortfolio(MetaModel):
    """The configurations that together do best on average over the KB tasks.

    ``per_kind``: build one portfolio per task kind from that kind's tasks only
    (otherwise from every task that evaluated the candidates).
    """

    def __init__(self, per_kind: bool = False):
        self.per_kind = per_kind
        self.name = "static-portfolio" + ("-per-kind" if per_kind else "")

    def fit(self, sm: ScoreMatrix) -> StaticPortfolio:
        super().fit(sm)
        self.order_: dict[str, list[str]] = {}
        self.mean_: dict[str, pd.Series] = {}
        for kind in sm.tasks["kind"].unique():
            for name in sm.pools_of(kind) or [None]:
                cand = candidates(sm, kind, name)
                rows = sm.norm.index[sm.tasks["kind"] == kind] if self.per_kind else sm.norm.index
                p = sm.norm.loc[rows, cand]
                p = p.loc[p.notna().any(axis=1)]
                idx = greedy_portfolio(p.to_numpy(), len(cand))
                key = self._key(kind, name)
                self.order_[key] = [cand[i] for i in idx]
                self.mean_[key] = p.mean().fillna(0.0)
        return self

    @staticmethod
    def _key(kind: str, pool: str | None) -> str:
        return pool or kind

    def _order(self, query: Query) -> list[str]:
        return self.order_[self._key(query.kind, self.sm_.pool_for(query.kind, query.pool))]

    def predict(self, query: Query) -> tuple[pd.Series, pd.Series | None]:
        order = self._order(query)
        n = len(order)
        # a score that sorts in portfolio order; the KB mean is reported as the estimate
        return pd.Series(np.linspace(1, 0, n), index=order), None

    def rank(self, query: Query, k: int) -> list[str]:
        return self._order(query)[:k]


class ConditionedPortfolio(MetaModel):
    """Greedy portfolio over the KB tasks weighted by their similarity to the new task.

    Weights: the nearest-task kernel of :class:`NearestTasks` on the
    ``n_neighbours`` nearest tasks plus ``prior`` (a share of the total weight spread over all
    tasks), so the first pick is the best configuration of similar tasks and later
    picks cover what it misses on them.
    """

    name = "conditioned-portfolio"

    def __init__(self, n_neighbours: int = 15, prior: float = 0.3, same_kind: bool = True, space=None):
        self.nn = NearestTasks(n_neighbours=n_neighbours, same_kind=same_kind, space=space)
        self.prior = prior

    def fit(self, sm: ScoreMatrix) -> ConditionedPortfolio:
        super().fit(sm)
        self.nn.fit(sm)
        return self

    def weights(self, query: Query) -> tuple[np.ndarray, list[str]]:
        w_nn = self.nn.task_weights(query)             # over all fitted tasks
        n = len(w_nn)
        w = (1 - self.prior) * w_nn / max(w_nn.sum(), 1e-12) + self.prior / n
        return w, self.sm_.task_ids

    def predict(self, query: Query) -> tuple[pd.Series, pd.Series | None]:
        return self.nn.predict(query)

    def rank(self, query: Query, k: int) -> list[str]:
        cand = candidates(self.sm_, query.kind, query.pool)
        w, _ = self.weights(query)
        p = self.sm_.norm[cand].to_numpy()
        known = np.isfinite(p).any(axis=1)
        idx = greedy_portfolio(p[known], k, w[known])
        return [cand[i] for i in idx]
