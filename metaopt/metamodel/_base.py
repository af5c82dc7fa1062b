"""What every meta-model shares: the query, the candidate set and the interface."""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass, field

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


class MetaModel(abc.ABC):
    """Fit on a :class:`ScoreMatrix`; predict and rank candidate configurations for a :class:`Query`.

    A new meta-model implements :meth:`fit` (calling ``super().fit(sm)`` first, which
    keeps the matrix and the task ids LODO checks) and :meth:`predict`; :meth:`rank`
    sorts by the prediction unless the model chooses a set (a portfolio).
    """

    name = "base"

    @abc.abstractmethod
    def fit(self, sm: ScoreMatrix) -> MetaModel:
        """Learn from ``sm``; returns self."""
        self.sm_ = sm
        self.fitted_tasks_ = list(sm.task_ids)
        return self

    @abc.abstractmethod
    def predict(self, query: Query) -> tuple[pd.Series, pd.Series | None]:
        """Predicted normalised score (and its uncertainty, or None) of each candidate."""

    def rank(self, query: Query, k: int) -> list[str]:
        """The ``k`` configurations to try first, best first."""
        mean, _ = self.predict(query)
        return list(mean.sort_values(ascending=False, kind="stable").index[:k])

    def rank_observing(self, query: Query, k: int, observe: Callable[[str], float]) -> list[str]:
        """The ``k`` configurations in the order a sequential warm start tries them, where ``observe(key)``
        is the new task's score of a configuration already picked (higher is better; NaN: unknown).

        Static rankings ignore ``observe``; :class:`~metaopt.metamodel._adaptive.AdaptiveModel` reads it.
        """
        return self.rank(query, k)
