"""Later picks that read the scores of the earlier ones: the warm start's picks 3..k.

The meta-features say little about a task from a field the KB does not cover; the scores of the
configurations already tried on it say more.  After the first :data:`ADAPTIVE_START` picks (the
meta-model's ranking), every KB task is weighted by how well its order of the configurations tried so
far agrees with the new task's observed order - ``exp(-beta x D)``, D the number of discordant pairs
(a tie in the KB counts one half), as Feurer et al.'s RGPE (2018) weights its base models - and the
next pick is the greedy best-of-set step under those weights (:mod:`._greedy`).  The prior over tasks
is even: the meta-model's task weights are what fails to transfer across fields.  Measured on the
collection split in ``docs/metamodel.md``, "Picks that read the scores of the earlier picks".

:func:`next_pick` is the one rule; ``tune``'s warm start (:class:`metaopt.warmstart.AdaptiveWarmStart`
via :meth:`metaopt.recommender.Recommender.next_recommendation`) and LODO's ``metaopt (adaptive)``
(:class:`AdaptiveModel`) both call it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from metaopt.metamodel._base import Query, candidates
from metaopt.metamodel._greedy import fill_unknown
from metaopt.metamodel._metaopt_model import MetaoptModel
from metaopt.metamodel._normalise import ScoreMatrix

#: picks made from the ranking alone, before any observed score is read
ADAPTIVE_START = 2
#: how fast a KB task's weight falls per discordant pair; chosen on the collection split over the four
#: learners' pools, the pools ``tune``'s later picks come from (docs/metamodel.md, "One beta per pool")
ADAPTIVE_BETA = 2.0


def pool_scores(sm: ScoreMatrix, keys: Sequence[str]) -> np.ndarray:
    """Normalised scores (KB tasks that know any of ``keys`` x ``keys``), gaps filled (:func:`fill_unknown`)."""
    p = sm.norm[list(keys)].to_numpy(dtype="float64")
    known = np.isfinite(p).any(axis=1)
    return fill_unknown(p[known]) if known.any() else np.zeros((0, len(keys)))


def agreement_weights(p: np.ndarray, picked: Sequence[int], observed: Sequence[float],
                      beta: float = ADAPTIVE_BETA, prior: np.ndarray | None = None) -> np.ndarray:
    """Task weights (sum 1): ``prior`` (default even) x ``exp(-beta x discordant pairs)`` between each row's
    order of the ``picked`` columns and the ``observed`` scores (higher is better; NaN: not observed)."""
    disc = np.zeros(p.shape[0])
    obs = np.asarray(observed, dtype="float64")
    for a in range(len(picked)):
        for b in range(a + 1, len(picked)):
            if not (np.isfinite(obs[a]) and np.isfinite(obs[b])) or obs[a] == obs[b]:
                continue  # not observed (failed, pruned, running) or a tie: no order to agree with
            d_new = np.sign(obs[a] - obs[b])
            d_kb = np.sign(p[:, picked[a]] - p[:, picked[b]])
            disc += np.where(d_kb == 0, 0.5, (d_kb != d_new).astype(float))
    w = np.exp(-beta * (disc - disc.min()))  # shifted: the same weights, no underflow to all zeros
    if prior is not None:
        w = w * np.asarray(prior, dtype="float64")
    return w / w.sum() if w.sum() > 0 else np.full(len(w), 1.0 / max(len(w), 1))


def next_pick(p: np.ndarray, picked: Sequence[int], observed: Sequence[float], *, beta: float = ADAPTIVE_BETA,
              prior: np.ndarray | None = None, allowed: np.ndarray | None = None) -> int | None:
    """The column to try next: the greedy best-of-set step after ``picked`` under :func:`agreement_weights`.

    ``picked``: columns tried or running (``observed`` their scores, NaN where unknown); ``allowed``: a
    boolean mask of columns that may be picked (e.g. those predicted to finish in the time left);
    ``prior``: task weights before any score (default even).  None when no column is left.
    """
    n, m = p.shape
    if n == 0 or m == 0:
        return None
    w = agreement_weights(p, picked, observed, beta, prior)
    current = p[:, list(picked)].max(axis=1) if len(picked) else np.full(n, -np.inf)
    gain = w @ np.maximum(current[:, None], p)
    blocked = np.zeros(m, dtype=bool)
    blocked[list(picked)] = True
    if allowed is not None:
        blocked |= ~np.asarray(allowed, dtype=bool)
    gain[blocked] = -np.inf
    return int(np.argmax(gain)) if np.isfinite(gain).any() else None


def next_key(sm: ScoreMatrix, keys: Sequence[str], tried: Mapping[str, float], *, beta: float = ADAPTIVE_BETA,
             allowed: Callable[[str], bool] | None = None) -> str | None:
    """:func:`next_pick` over the configurations ``keys`` of ``sm``, ``tried`` = {key: observed score};
    tried keys that are not among ``keys`` are ignored."""
    keys = list(keys)
    index = {key: j for j, key in enumerate(keys)}
    picked = [index[key] for key in tried if key in index]
    observed = [float(tried[keys[j]]) for j in picked]
    mask = None if allowed is None else np.array([bool(allowed(key)) for key in keys])
    j = next_pick(pool_scores(sm, keys), picked, observed, beta=beta, allowed=mask)
    return None if j is None else keys[j]


class AdaptiveModel(MetaoptModel):
    """:class:`MetaoptModel`'s first :data:`ADAPTIVE_START` picks, then :func:`next_pick` after each observed score.

    What ``tune``'s warm start does; LODO scores it with the held-out task's real scores of the
    configurations already picked (:meth:`rank_observing`).  Without observations (:meth:`rank`) it is
    :class:`MetaoptModel`.
    """

    name = "metaopt (adaptive)"

    def rank_observing(self, query: Query, k: int, observe: Callable[[str], float]) -> list[str]:
        chosen = self.rank(query, min(k, ADAPTIVE_START))
        cand = candidates(self.sm_, query.kind, query.pool)
        tried = {key: _finite(observe(key)) for key in chosen}
        while len(chosen) < k:
            key = next_key(self.sm_, cand, tried)
            if key is None:
                break
            chosen.append(key)
            tried[key] = _finite(observe(key))
        return chosen


def _finite(value: float | None) -> float:
    return float(value) if value is not None and pd.notna(value) else float("nan")
