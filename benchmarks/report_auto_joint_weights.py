"""What-ifs for issue #13: ``tune(learner="auto")``'s later warm-start picks read every learner's study at once.

``tune`` runs each learner in a study of its own, and each study's picks after the first two re-weight the KB
tasks by that study's own scores (``metaopt (auto as tune runs it)``, :class:`AutoWarmStartModel`).  Two
variants keep the learners searched and the first picks:

- ``joint weights``: each learner keeps its share of the picks and picks among its own configurations,
  under task weights read from the scores of every study so far (on the joint matrix);
- ``joint queue``: every pick after the first :data:`ADAPTIVE_START` is the adaptive rule's on the joint
  matrix among the configurations of all the learners searched, so the scores so far also decide which
  learner gets the next pick (what the joint pool's ``metaopt (adaptive)`` does, restricted to ``tune``'s
  learners and first picks).

k = 1 / 3 / 5 on the shipped KB:

    python benchmarks/report_auto_joint_weights.py [--jobs J] [--split collection|group] [--max-folds N]
    # collection split: about 6 min a variant on one core
"""

from __future__ import annotations

import argparse
import time

from metaopt.kb import KnowledgeBase
from metaopt.metamodel import (ADAPTIVE_START, AutoWarmStartModel, build_score_matrix, candidates, lodo, make_folds,
                               next_key, sample_folds, summarise)
from metaopt.metamodel._adaptive import _finite

#: learners ``tune(learner="auto")`` searches at most (``metaopt.tuning._portfolio.MAX_LEARNERS``)
MAX_LEARNERS = 3


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


class JointQueue(AutoWarmStartModel):
    """The first picks as ``tune`` makes them; every later pick the adaptive rule's among all searched learners."""
    name = "auto, joint queue"

    def rank_observing(self, query, k, observe):
        joint = self.rank(query, k)
        learner = self.sm_.configs["learner"]
        searched = list(dict.fromkeys(learner[key] for key in joint))[:MAX_LEARNERS]
        primary = learner[joint[0]] if len(searched) > 1 else None
        tried_by: dict[str, dict[str, float]] = {}
        every: dict[str, float] = {}
        out: list[str] = []
        cand = candidates(self.sm_, query.kind, query.pool)
        for i, key in enumerate(joint):
            if i < ADAPTIVE_START:
                lr = learner[key]
                pick = self._pick(lr, lr == primary, key, query, tried_by.setdefault(lr, {}))
            else:
                pick = next_key(self.sm_, cand, every, allowed=lambda c: learner[c] in searched and c not in every)
            if pick is None or pick in out:
                pick = next((c for c in joint if c not in out), None)
            if pick is None:
                break
            out.append(pick)
            tried_by.setdefault(learner[pick], {})[pick] = every[pick] = _finite(observe(pick))
        return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--split", default="collection", choices=("collection", "group"))
    ap.add_argument("--max-folds", type=int, help="a seeded sample of this many folds (the group split's 80)")
    ap.add_argument("--variants", default="joint weights,joint queue")
    args = ap.parse_args()
    sm = build_score_matrix(KnowledgeBase.load(None), None).pooled_tasks()
    variants = {"joint weights": JointWeights, "joint queue": JointQueue}
    methods = {"auto as tune": AutoWarmStartModel,
               **{v: variants[v] for v in args.variants.split(",") if v}}
    t0 = time.time()
    folds = sample_folds(make_folds(sm, args.split), args.max_folds)
    res = lodo(sm, methods, ks=[1, 3, 5], n_jobs=args.jobs, split=folds)
    print(summarise(res, "regret", "fold" if args.split == "collection" else None).round(4).to_string())
    print(f"{time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
