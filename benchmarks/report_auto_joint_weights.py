"""What-if for issue #13: ``tune(learner="auto")``'s later warm-start picks with task weights read from every
learner's study at once.

``tune`` runs each learner in a study of its own, and each study's picks after the first two re-weight the KB
tasks by that study's own scores (``metaopt (auto as tune runs it)``, :class:`AutoWarmStartModel`).  The
variant keeps the learners, their shares and their first picks, and re-weights on the joint matrix with the
scores of every study so far (each learner still picks among its own configurations).  Collection split,
the shipped KB, k = 1 / 3 / 5:

    python benchmarks/report_auto_joint_weights.py [JOBS]        # about 6 min on one core
"""

from __future__ import annotations

import sys
import time

from metaopt.kb import KnowledgeBase
from metaopt.metamodel import (ADAPTIVE_START, AutoWarmStartModel, build_score_matrix, candidates, lodo, make_folds,
                               next_key, summarise)
from metaopt.metamodel._adaptive import _finite


class JointWeights(AutoWarmStartModel):
    """A learner's later picks: among its own configurations, under weights from every study's scores."""
    name = "auto, joint weights"

    def rank_observing(self, query, k, observe):
        joint = self.rank(query, k)
        learner = self.sm_.configs["learner"]
        mixed = len({learner[key] for key in joint}) > 1
        primary = learner[joint[0]] if joint and mixed else None
        tried_by: dict[str, dict[str, float]] = {}
        every: dict[str, float] = {}  # every study's picks so far and their scores
        out: list[str] = []
        cand = candidates(self.sm_, query.kind, query.pool)
        for key in joint:
            lr = learner[key]
            mine = tried_by.setdefault(lr, {})
            if len(mine) < ADAPTIVE_START:
                pick = self._pick(lr, lr == primary, key, query, mine)
            else:
                pick = next_key(self.sm_, cand, every, allowed=lambda c, lr=lr: learner[c] == lr and c not in every)
            if pick is None or pick in out:
                pick = next((c for c in joint if c not in out), None)
            if pick is None:
                break
            out.append(pick)
            mine[pick] = every[pick] = _finite(observe(pick))
        return out


def main() -> None:
    sm = build_score_matrix(KnowledgeBase.load(None), None).pooled_tasks()
    methods = {"auto as tune": AutoWarmStartModel, "joint weights": JointWeights}
    t0 = time.time()
    res = lodo(sm, methods, ks=[1, 3, 5], n_jobs=int(sys.argv[1]) if len(sys.argv) > 1 else 1,
               split=make_folds(sm, "collection"))
    print(summarise(res, "regret", "fold").round(4).to_string())
    print(f"{time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
