"""Probes: the first recommendations cross-validated on the new task itself, and ordered by those scores.

Out of distribution the meta-features do not choose among the KB's few best configurations (no re-ranking
of the KB met issue #13's first-pick bar), but two quick folds on the task do: docs/metamodel.md, "A first
pick that reads the new task".  A probe is the evaluation protocol of the KB build with fewer folds.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Sequence
from typing import Any

from metaopt.core import GREATER_IS_BETTER, PRIMARY, Protocol
from metaopt.learners import get_learner
from metaopt.recommender._recommendation import Recommendation

#: folds of a probe: two folds, each fitted on half the rows, fit a quarter of the rows of one 5-fold evaluation
PROBE_FOLDS = 2


def probes_portfolio(k: int, probe: int) -> bool:
    """Whether ``recommend(k=k, probe=probe)`` probes the KB's static portfolio: where the probes choose the ``k``
    returned (``probe >= k``); where ``probe < k`` they only order the ranking's first ``probe`` and its set stays
    (docs/metamodel.md, "Which configurations to probe")."""
    return probe >= max(k, 2)


def probe_scores(dataset: Any, candidates: Sequence[tuple[str, dict[str, Any]]], *, n_folds: int = PROBE_FOLDS,
                 max_rows: int | None = Protocol.max_rows, random_state: int = 0, n_jobs: int = 1) -> list[float]:
    """Each ``(learner, params)``'s mean score over ``n_folds`` folds of ``dataset`` (all configurations on the
    same folds), in the kind's primary metric; NaN where the fit failed or timed out.  ``max_rows``: a
    stratified sample above, as the KB build (the protocol's default).  ``n_jobs``: configurations probed at
    once, in threads (each fit uses one thread, and LightGBM and scikit-learn's trees release the GIL)."""
    from joblib import Parallel, delayed

    protocol = Protocol(n_folds=n_folds, seed=random_state, max_rows=max_rows)
    task = protocol.prepare(dataset)
    metric = PRIMARY[dataset.kind]
    # the fits and metrics use ``warnings.catch_warnings``, which is not thread-safe: interleaved in threads it
    # can leave a filter ("ignore") behind; one block around all of them restores the caller's filters
    with warnings.catch_warnings():
        results = Parallel(n_jobs=n_jobs, prefer="threads")(
            delayed(protocol.evaluate)(get_learner(learner), params, task) for learner, params in candidates)
    return [float(res[metric]) if res["status"] == "ok" and res.get(metric) is not None else math.nan
            for res in results]


def probe_order(scores: Sequence[float], kind: str) -> list[int]:
    """Positions of ``scores`` best first in the metric's direction; ties keep their order, failed probes last."""
    sign = 1.0 if GREATER_IS_BETTER[PRIMARY[kind]] else -1.0
    return sorted(range(len(scores)), key=lambda i: (-sign * scores[i] if math.isfinite(scores[i]) else math.inf, i))


def probe_first(dataset: Any, recs: list[Recommendation], n: int, random_state: int = 0,
                n_jobs: int = 1) -> list[Recommendation]:
    """``recs`` with the first ``n`` reordered by their probe scores, best first (the rest keep their order);
    the probed ones carry their ``probe_score``, and ranks are renumbered."""
    probed = recs[:n]
    if len(probed) < 2:
        return recs
    scores = probe_scores(dataset, [(r.learner, r.params) for r in probed], random_state=random_state, n_jobs=n_jobs)
    probed = [dataclasses.replace(r, probe_score=s) for r, s in zip(probed, scores)]
    metric = PRIMARY[dataset.kind]
    order = [_probed_reason(probed[i], place, len(probed), metric)
             for place, i in enumerate(probe_order(scores, dataset.kind))]
    return [dataclasses.replace(r, rank=rank) for rank, r in enumerate(order + recs[n:], start=1)]


def _probed_reason(r: Recommendation, place: int, n: int, metric: str) -> Recommendation:
    """Why a probed recommendation sits where it does: its place came from the probe, not the ranking."""
    if not math.isfinite(r.probe_score):
        return dataclasses.replace(r, reason=f"probed: its fit failed on {PROBE_FOLDS} folds here")
    if place == 0:
        return dataclasses.replace(
            r, reason=f"best {metric} of the first {n} on {PROBE_FOLDS} folds here ({r.probe_score:.4g})",
            rationale=f"Probed: the best {metric} of the first {n} recommendations cross-validated on "
                      f"{PROBE_FOLDS} folds of this dataset. " + r.rationale)
    return dataclasses.replace(r, reason=f"probed: {metric} {r.probe_score:.4g} on {PROBE_FOLDS} folds here "
                                         f"(#{place + 1} of {n})")
