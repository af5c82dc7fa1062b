"""Probes: the first recommendations cross-validated on the new task itself, the best of them put first.

Out of distribution the meta-features do not choose among the KB's few best configurations (no re-ranking
of the KB met issue #13's first-pick bar), but two quick folds on the task do: docs/metamodel.md, "A first
pick that reads the new task".  A probe is the evaluation protocol of the KB build with fewer folds.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

from metaopt.core import GREATER_IS_BETTER, PRIMARY, Protocol
from metaopt.learners import get_learner
from metaopt.recommender._recommendation import Recommendation

#: folds of a probe: two folds, each fitted on half the rows, fit a quarter of the rows of one 5-fold evaluation
PROBE_FOLDS = 2


def probe_scores(dataset: Any, candidates: Sequence[tuple[str, dict[str, Any]]], *, n_folds: int = PROBE_FOLDS,
                 max_rows: int | None = Protocol.max_rows, random_state: int = 0) -> list[float]:
    """Each ``(learner, params)``'s mean score over ``n_folds`` folds of ``dataset`` (all configurations on the
    same folds), in the kind's primary metric; NaN where the fit failed or timed out.  ``max_rows``: a
    stratified sample above, as the KB build (the protocol's default)."""
    protocol = Protocol(n_folds=n_folds, seed=random_state, max_rows=max_rows)
    task = protocol.prepare(dataset)
    metric = PRIMARY[dataset.kind]
    out = []
    for learner, params in candidates:
        res = protocol.evaluate(get_learner(learner), params, task)
        value = res.get(metric)
        out.append(float(value) if res["status"] == "ok" and value is not None else math.nan)
    return out


def best_probed(scores: Sequence[float], kind: str) -> int:
    """Position of the best probe score (the earlier one on ties; 0 when every probe failed)."""
    sign = 1.0 if GREATER_IS_BETTER[PRIMARY[kind]] else -1.0
    keyed = [(sign * s if math.isfinite(s) else -math.inf, -i) for i, s in enumerate(scores)]
    return -max(keyed)[1]


def probe_first(dataset: Any, recs: list[Recommendation], n: int, random_state: int = 0) -> list[Recommendation]:
    """``recs`` with the best-probed of the first ``n`` moved to the front (the others keep their order);
    the probed ones carry their ``probe_score``, and ranks are renumbered."""
    probed = recs[:n]
    if len(probed) < 2:
        return recs
    scores = probe_scores(dataset, [(r.learner, r.params) for r in probed], random_state=random_state)
    best = best_probed(scores, dataset.kind)
    probed = [dataclasses.replace(r, probe_score=s) for r, s in zip(probed, scores)]
    order = [probed[best]] + [r for i, r in enumerate(probed) if i != best] + recs[n:]
    metric = PRIMARY[dataset.kind]
    out = []
    for rank, r in enumerate(order, start=1):
        if r is probed[best]:
            r = dataclasses.replace(r, reason=f"best {metric} of the first {len(probed)} on {PROBE_FOLDS} folds here "
                                              f"({r.probe_score:.4g})",
                                    rationale=f"Probed: the best {metric} of the first {len(probed)} recommendations "
                                              f"cross-validated on {PROBE_FOLDS} folds of this dataset. " + r.rationale)
        elif r.probe_score is not None:  # its place came from the ranking; its old reason named another #1
            r = dataclasses.replace(r, reason=f"probed: {metric} {r.probe_score:.4g} on {PROBE_FOLDS} folds here")
        out.append(dataclasses.replace(r, rank=rank))
    return out
