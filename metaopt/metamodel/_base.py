"""What every meta-model shares: the query, the candidate set and the interface."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from metaopt.exceptions import KnowledgeBaseError
from metaopt.metamodel._normalise import ScoreMatrix


@dataclass
class Query:
    """A new task as the meta-models see it: kind, raw meta-features and the pool to choose from.

    ``pool`` (a :class:`ScoreMatrix` pool name) is set where the candidates must come
    from one pool, as in LODO, where a held-out task's real scores exist only for the
    pool of its source; None: the kind's preferred pool.
    """

    kind: str
    meta: dict[str, float] = field(default_factory=dict)
    pool: str | None = None

    @classmethod
    def from_task(cls, sm: ScoreMatrix, task_id: str) -> Query:
        row = sm.meta.loc[task_id]
        return cls(str(sm.tasks.at[task_id, "kind"]), {k: float(v) for k, v in row.items() if pd.notna(v)},
                   str(sm.task_pool.get(task_id, "")) or None)


def candidates(sm: ScoreMatrix, kind: str, pool: str | None = None, per_task: int = 3) -> list[str]:
    """Configurations that may be recommended for a task of ``kind``.

    The dense shared pool (``pool``, else the preferred pool of the kind) where
    there is one; otherwise (sparse histories: every run its own configuration)
    the ``per_task`` best configurations of each KB task of that kind, as
    auto-sklearn's warm start does.
    """
    name = sm.pool_for(kind, pool)
    if name is not None:
        return list(sm.pool[name])
    rows = sm.norm.loc[sm.tasks["kind"] == kind]
    if rows.empty:
        raise KnowledgeBaseError(f"the knowledge base has no {kind} tasks for "
                                 f"{', '.join(sm.learners)}")
    keys: list[str] = []
    for _, r in rows.iterrows():
        keys += list(r.dropna().sort_values(ascending=False).index[:per_task])
    return list(dict.fromkeys(keys))


def greedy_portfolio(p: np.ndarray, k: int, weights: np.ndarray | None = None) -> list[int]:
    """Greedy set selection: column indices that maximise the weighted mean best-of-set.

    ``p`` is tasks x configs of normalised scores (NaN = unknown, imputed by the
    column's mean over the tasks that know it, then 0). Each step adds the column
    that most increases ``sum_t w_t * max_{c in set} p[t, c]``; ties go to the
    higher weighted mean (Feurer et al. 2020; Pfisterer et al. 2018).
    """
    p = np.array(p, dtype="float64")
    if p.size == 0:
        return []
    colmean = np.nanmean(np.where(np.isfinite(p), p, np.nan), axis=0) if np.isfinite(p).any() else \
        np.zeros(p.shape[1])
    colmean = np.nan_to_num(colmean)
    p = np.where(np.isfinite(p), p, colmean[None, :])
    w = np.ones(p.shape[0]) if weights is None else np.asarray(weights, dtype="float64")
    w = w / w.sum() if w.sum() > 0 else np.full(p.shape[0], 1.0 / p.shape[0])
    wmean = w @ p
    current = np.full(p.shape[0], -np.inf)
    chosen: list[int] = []
    for _ in range(min(k, p.shape[1])):
        gain = w @ np.maximum(current[:, None], p)
        gain[chosen] = -np.inf
        best = np.flatnonzero(gain >= gain.max() - 1e-12)
        j = int(best[np.argmax(wmean[best])])
        chosen.append(j)
        current = np.maximum(current, p[:, j])
    return chosen


class MetaModel:
    """Fit on a :class:`ScoreMatrix`; predict and rank candidate configurations for a :class:`Query`."""

    name = "base"

    def fit(self, sm: ScoreMatrix) -> MetaModel:
        self.sm_ = sm
        self.fitted_tasks_ = list(sm.task_ids)
        return self

    def predict(self, query: Query) -> tuple[pd.Series, pd.Series | None]:
        """Predicted normalised score (and its uncertainty, or None) of each candidate."""
        raise NotImplementedError

    def rank(self, query: Query, k: int) -> list[str]:
        """The ``k`` configurations to try first, best first."""
        mean, _ = self.predict(query)
        return list(mean.sort_values(ascending=False, kind="stable").index[:k])
