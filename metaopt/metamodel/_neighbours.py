"""Nearest KB tasks in the scaled meta-feature space.

:class:`NearestTasks` predicts a configuration's normalised score on a new task
as the distance-weighted mean of its scores on the ``n_neighbours`` nearest KB
tasks, shrunk towards its mean over all KB tasks of the kind (``shrink``).
auto-sklearn's warm start takes the best configuration of each of the nearest
tasks; the weighted mean uses every neighbour's whole row instead, which ranks
the configurations that are good on *several* similar tasks first.

:class:`FlamlNearest` is the FLAML zero-shot baseline: 1-nearest neighbour on
four log-scaled meta-features, recommending the best configuration of the
nearest task, then of the next nearest, and so on.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from metaopt.metamodel._base import MetaModel, Query, candidates
from metaopt.metamodel._feature_space import FLAML_FEATURES, MetaFeatureSpace
from metaopt.metamodel._normalise import ScoreMatrix


class NearestTasks(MetaModel):
    name = "nearest-tasks"

    def __init__(self, n_neighbours: int = 10, same_kind: bool = True, shrink: float = 0.5,
                 eps: float = 0.1, space: MetaFeatureSpace | None = None):
        self.n_neighbours = n_neighbours
        self.same_kind = same_kind
        self.shrink = shrink
        self.eps = eps
        self.space = space

    def fit(self, sm: ScoreMatrix) -> NearestTasks:
        super().fit(sm)
        sp = self.space if self.space is not None else MetaFeatureSpace()
        self.space_ = MetaFeatureSpace(sp.features, sp.min_coverage, sp.log_counts).fit(sm.meta)
        self.x_ = self.space_.transform(sm.meta)
        self.kinds_ = sm.tasks["kind"].to_numpy(dtype=object)
        self.groups_ = sm.tasks["dataset_key"].astype(object).fillna("").to_numpy(dtype=object)
        self.names_ = sm.tasks["name"].astype(object).fillna("").to_numpy(dtype=object)
        self.ids_ = np.asarray(sm.task_ids, dtype=object)
        self.global_mean_ = {k: sm.norm.loc[sm.tasks["kind"] == k].mean() for k in sm.tasks["kind"].unique()}
        # reference: each KB task's distance to its nearest task outside its dataset group
        d = self.space_.distances(self.x_, self.x_)
        d[self.groups_[:, None] == self.groups_[None, :]] = np.inf
        if self.same_kind:
            d[self.kinds_[:, None] != self.kinds_[None, :]] = np.inf
        nn = d.min(axis=1) if len(d) else np.array([])
        self.reference_distances_ = nn[np.isfinite(nn)]
        return self

    # -- distances ---------------------------------------------------------------------
    def distances(self, query: Query) -> np.ndarray:
        q = self.space_.transform(query.meta)
        d = self.space_.distances(q, self.x_)[0]
        if self.same_kind and (self.kinds_ == query.kind).sum() >= 3:
            d = np.where(self.kinds_ == query.kind, d, np.inf)
        return d

    def nearest(self, query: Query, n: int = 3, mask: np.ndarray | None = None) -> list[tuple[str, str, float]]:
        """(task_id, name, distance) of the ``n`` nearest KB tasks (among ``mask``)."""
        d = self.distances(query)
        if mask is not None:
            d = np.where(mask, d, np.inf)
        order = np.argsort(d, kind="stable")[:n]
        return [(str(self.ids_[i]), str(self.names_[i]), float(d[i])) for i in order if np.isfinite(d[i])]

    def task_weights(self, query: Query, mask: np.ndarray | None = None) -> np.ndarray:
        """Kernel weights 1 / (distance + eps) of the ``n_neighbours`` nearest tasks (among ``mask``), else 0."""
        d = self.distances(query)
        if mask is not None:
            d = np.where(mask, d, np.inf)
        w = np.zeros(len(d))
        fin = np.flatnonzero(np.isfinite(d))
        if len(fin) == 0:
            return np.ones(len(d))
        near = fin[np.argsort(d[fin], kind="stable")[: self.n_neighbours]]
        w[near] = 1.0 / (d[near] + self.eps)
        return w

    def predict(self, query: Query) -> tuple[pd.Series, pd.Series | None]:
        cand = candidates(self.sm_, query.kind, query.pool)
        p = self.sm_.norm[cand].to_numpy()
        known = np.isfinite(p)
        # neighbours among the tasks that evaluated these candidates (other pools know none of them)
        w = self.task_weights(query, known.any(axis=1))
        wk = w[:, None] * known
        sw = wk.sum(axis=0)
        num = (wk * np.where(known, p, 0.0)).sum(axis=0)
        gm = self.global_mean_.get(query.kind, self.sm_.norm.mean()).reindex(cand).fillna(0.0).to_numpy()
        lam = self.shrink * max(w.sum(), 1e-12) / max(self.n_neighbours, 1)
        mean = (num + lam * gm) / (sw + lam)
        dev = np.where(known, p - mean[None, :], 0.0)
        var = (wk * dev ** 2).sum(axis=0) / np.maximum(sw, 1e-12)
        return pd.Series(mean, index=cand), pd.Series(np.sqrt(var), index=cand)


class FlamlNearest(MetaModel):
    """FLAML-style zero-shot: best configurations of the nearest tasks on 4 meta-features."""

    name = "flaml-1nn"

    def fit(self, sm: ScoreMatrix) -> FlamlNearest:
        super().fit(sm)
        self.nn_ = NearestTasks(n_neighbours=1, same_kind=True,
                                space=MetaFeatureSpace(features=FLAML_FEATURES)).fit(sm)
        return self

    def predict(self, query: Query) -> tuple[pd.Series, pd.Series | None]:
        return self.nn_.predict(query)

    def rank(self, query: Query, k: int) -> list[str]:
        cand = candidates(self.sm_, query.kind, query.pool)
        d = self.nn_.distances(query)
        order = np.argsort(d, kind="stable")
        out: list[str] = []
        sub = self.sm_.norm[cand]
        for i in order:
            if not np.isfinite(d[i]):
                break
            row = sub.iloc[i].dropna()
            for key in row.sort_values(ascending=False, kind="stable").index:
                if key not in out:
                    out.append(key)
                    break
            if len(out) >= k:
                break
        return out[:k]
