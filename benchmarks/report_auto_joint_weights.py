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

    python benchmarks/report_auto_joint_weights.py [--jobs J] [--split collection|group] [--max-folds N] \
        [--seeds 0,1] [--out rows.csv]
    # collection split: about 6 min a variant on one core
    python benchmarks/report_auto_joint_weights.py --from-csv rows.csv [--split group]   # the tables again

Each variant's per-task change against ``auto as tune`` is printed with a paired-bootstrap 90% interval
(tasks resampled); with several ``--seeds`` a task's regret is the mean over the meta-models' seeds.
"""

from __future__ import annotations

import argparse
import functools
import time

import pandas as pd
from compare_kbs_lodo import paired_change  # run as a script: benchmarks/ is on the path

from metaopt.kb import KnowledgeBase
from metaopt.metamodel import (ADAPTIVE_START, AutoWarmStartModel, build_score_matrix, candidates, lodo, make_folds,
                               next_key, sample_folds, summarise)
from metaopt.metamodel._adaptive import _finite

#: learners ``tune(learner="auto")`` searches at most (``metaopt.tuning._portfolio.MAX_LEARNERS``)
MAX_LEARNERS = 3


#: the last fold's fitted models (the training matrix is kept, so its id cannot be reused): every variant shares the
#: fit of ``tune``'s own model and differs only in its picks, so a fold fits the meta-models once
_FITTED: dict = {}


class _SharedFit(AutoWarmStartModel):
    """``AutoWarmStartModel`` whose fit is shared with the other variants of the same fold and seed."""

    def fit(self, sm):
        if _FITTED.get("train") is not sm or _FITTED.get("seed") != self.random_state:
            _FITTED.update(train=sm, seed=self.random_state, state=vars(AutoWarmStartModel.fit(self, sm)).copy())
        vars(self).update(_FITTED["state"])
        return self


class TuneAsIs(_SharedFit):
    """``tune``'s picks (``AutoWarmStartModel``'s), fitted once for every variant."""
    name = AutoWarmStartModel.name


class JointWeights(_SharedFit):
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


class JointQueue(_SharedFit):
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


def report(res: pd.DataFrame, by_fold: bool) -> None:
    """Mean regrets, then each variant's paired change against ``auto as tune`` per k."""
    print(summarise(res, "regret", "fold" if by_fold else None).round(4).to_string())
    per_task = res.pivot_table(index="task_id", columns=["method", "k"], values="regret")
    names = {JointWeights.name, JointQueue.name}
    for method in [m for m in dict.fromkeys(res["method"]) if m in names]:
        for k in sorted(set(res["k"])):
            d = (per_task[(method, k)] - per_task[(AutoWarmStartModel.name, k)]).dropna().to_numpy()
            print(f"{method} - auto as tune, k={k}: {paired_change(d)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--split", default="collection", choices=("collection", "group"))
    ap.add_argument("--max-folds", type=int, help="a seeded sample of this many folds (the group split's 80)")
    ap.add_argument("--variants", default="joint weights,joint queue")
    ap.add_argument("--seeds", default="0", help="the meta-models' random seeds, comma-separated (default 0)")
    ap.add_argument("--out", help="CSV of the per-task regrets")
    ap.add_argument("--from-csv", help="report an earlier run's --out CSV instead of fitting")
    args = ap.parse_args()
    if args.from_csv:
        res = pd.read_csv(args.from_csv)
        report(res, args.split == "collection")
        return
    sm = build_score_matrix(KnowledgeBase.load(None), None).pooled_tasks()
    variants = {"joint weights": JointWeights, "joint queue": JointQueue}
    t0 = time.time()
    folds = sample_folds(make_folds(sm, args.split), args.max_folds)
    runs = []
    for seed in (int(x) for x in args.seeds.split(",")):
        methods = {TuneAsIs.name: functools.partial(TuneAsIs, random_state=seed),
                   **{variants[v].name: functools.partial(variants[v], random_state=seed)
                      for v in args.variants.split(",") if v}}
        runs.append(lodo(sm, methods, ks=[1, 3, 5], n_jobs=args.jobs, split=folds))
    keys = ["task_id", "method", "k", *(c for c in ("kind", "fold") if c in runs[0].columns)]
    res = runs[0] if len(runs) == 1 else pd.concat(runs).groupby(keys, as_index=False)["regret"].mean()
    if args.out:
        res.to_csv(args.out, index=False)
    report(res, args.split == "collection")
    print(f"{time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
