"""Greedy best-of-set selection: the one loop behind every portfolio metaopt builds.

A set of configurations is worth, on each KB task, the best normalised score
among its members; the greedy step adds the configuration that most raises the
weighted mean of that best-of-set (Feurer et al. 2020; Pfisterer et al. 2018).
:func:`greedy_portfolio` (static and conditioned portfolios) and
:func:`metaopt.metamodel.MetaoptModel`'s later picks both run :func:`best_of_set`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

#: gains this close to the best count as a tie (resolved by ``tie_break``)
TIE_TOL = 1e-12


def fill_unknown(p: np.ndarray) -> np.ndarray:
    """``p`` (tasks x configs) with NaN/inf replaced by the column's mean over the tasks that know it, then 0."""
    p = np.array(p, dtype="float64")
    finite = np.isfinite(p)
    colmean = np.nanmean(np.where(finite, p, np.nan), axis=0) if finite.any() else np.zeros(p.shape[1])
    return np.where(finite, p, np.nan_to_num(colmean)[None, :])


def unit_weights(weights: np.ndarray | None, n: int) -> np.ndarray:
    """Task weights summing to 1 (even where ``weights`` is None or sums to <= 0)."""
    w = np.ones(n) if weights is None else np.asarray(weights, dtype="float64")
    return w / w.sum() if w.sum() > 0 else np.full(n, 1.0 / n)


def best_of_set(p: np.ndarray, w: np.ndarray, k: int, *, first: int | None = None,
                tie_break: np.ndarray | None = None,
                duplicate: Callable[[int, list[int]], bool] | None = None) -> list[int]:
    """Column indices of ``p`` (complete, tasks x configs) chosen greedily, in order of choice.

    Parameters
    ----------
    p, w
        Normalised scores without gaps (:func:`fill_unknown`) and task weights (:func:`unit_weights`).
    k
        Columns to choose (at most all of them).
    first
        A column chosen up front by another rule; the greedy steps follow it.
    tie_break
        Per-column values deciding between gains within :data:`TIE_TOL` of the best
        (the highest wins); None: the lowest index.
    duplicate
        ``duplicate(j, chosen)`` True: column ``j`` is skipped for good (a near-duplicate).
    """
    n, m = p.shape
    chosen: list[int] = []
    current = np.full(n, -np.inf)
    blocked = np.zeros(m, dtype=bool)
    if first is not None:
        chosen.append(int(first))
        blocked[first] = True
        current = p[:, first].copy()
    while len(chosen) < min(k, m):
        gain = w @ np.maximum(current[:, None], p)
        gain[blocked] = -np.inf
        if not np.isfinite(gain).any():
            break
        if tie_break is None:
            j = int(np.argmax(gain))
        else:
            best = np.flatnonzero(gain >= gain.max() - TIE_TOL)
            j = int(best[np.argmax(tie_break[best])])
        blocked[j] = True
        if duplicate is not None and duplicate(j, chosen):
            continue
        chosen.append(j)
        current = np.maximum(current, p[:, j])
    return chosen


def greedy_portfolio(p: np.ndarray, k: int, weights: np.ndarray | None = None, first: int | None = None) -> list[int]:
    """Greedy set selection: column indices that maximise the weighted mean best-of-set.

    ``p`` is tasks x configs of normalised scores (NaN = unknown, imputed by the
    column's mean over the tasks that know it, then 0). Each step adds the column
    that most increases ``sum_t w_t * max_{c in set} p[t, c]``; ties go to the
    higher weighted mean.  ``first``: a column chosen up front by another rule.
    """
    p = np.array(p, dtype="float64")
    if p.size == 0:
        return []
    p = fill_unknown(p)
    w = unit_weights(weights, p.shape[0])
    return best_of_set(p, w, k, first=first, tie_break=w @ p)
