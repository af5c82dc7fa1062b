"""What-if for issue #13: which learner ``tune(learner="auto")`` searches first (its primary learner).

``tune`` makes the learner of the joint ranking's top pick the primary: its study runs first, from that
learner's own one-learner ranking (``metaopt (auto as tune runs it)``, :class:`AutoWarmStartModel`).  The
issue asks for a first learner chosen for its risk as well as its expected regret.  Two rules that lean on
more evidence than one pick (where the primary is not the top pick's learner, it takes its turns first, as many
as it has in the joint top k, at least one; the other learners' joint picks follow in the joint order):

- ``vote of top N``: the learner with the most configurations among the joint top N (ties: the joint order);
- ``LightGBM first``: LightGBM whenever the joint top k mixes learners (the "safest across the KB" learner).

Collection split (both collections held out in turn), k = 1 / 3 / 5:

    python benchmarks/report_auto_primary.py [--kb DIR] [--seeds 0,1] [--out rows.csv]   # 7-9 min, one core

Each rule's per-task change against ``tune``'s own rule is printed with a paired-bootstrap 90% interval.
"""

from __future__ import annotations

import argparse
import functools
import time

import pandas as pd
from compare_kbs_lodo import paired_change  # run as a script: benchmarks/ is on the path
from report_auto_joint_weights import TuneAsIs, _SharedFit

from metaopt.kb import KnowledgeBase
from metaopt.metamodel import AutoWarmStartModel, build_score_matrix, lodo, make_folds, summarise


class _OtherPrimary(_SharedFit):
    """``tune``'s picks with another rule for the primary learner (:meth:`choose`)."""

    #: how many of the joint ranking's picks the rule reads
    n_read = 5

    def choose(self, top: list[str], learner: pd.Series) -> str:
        raise NotImplementedError

    def primary(self, query, joint):
        return self.choose(self.rank(query, max(len(joint), self.n_read)), self.sm_.configs["learner"])

    def turns(self, joint, primary):
        turns = super().turns(joint, primary)
        if primary is None or turns[0][0] == primary:
            return turns
        n = max(1, sum(lr == primary for lr, _ in turns))  # the primary's turns first
        return ([(primary, None)] * n + [t for t in turns if t[0] != primary])[:len(joint)]


def vote(n: int) -> type:
    class Vote(_OtherPrimary):
        name, n_read = f"auto, primary by vote of top {n}", n

        def choose(self, top, learner):
            counts = pd.Series([learner[c] for c in top[:n]]).value_counts()
            return next(learner[c] for c in top if counts[learner[c]] == counts.max())
    return Vote


class LightGBMFirst(_OtherPrimary):
    name = "auto, LightGBM first"

    def choose(self, top, learner):
        return "lightgbm" if "lightgbm" in {learner[c] for c in top} else learner[top[0]]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kb", help="knowledge-base folder (default: the shipped one)")
    ap.add_argument("--seeds", default="0", help="the meta-models' random seeds, comma-separated (default 0)")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--out", help="CSV of the per-task regrets")
    args = ap.parse_args()
    sm = build_score_matrix(KnowledgeBase.load(args.kb), None).pooled_tasks()
    rules = [vote(5), vote(10), LightGBMFirst]
    t0, runs = time.time(), []
    for seed in (int(x) for x in args.seeds.split(",")):
        methods = {TuneAsIs.name: functools.partial(TuneAsIs, random_state=seed),
                   **{r.name: functools.partial(r, random_state=seed) for r in rules}}
        runs.append(lodo(sm, methods, ks=[1, 3, 5], n_jobs=args.jobs, split=make_folds(sm, "collection")))
    keys = ["task_id", "method", "k", "kind", "fold"]
    res = runs[0] if len(runs) == 1 else pd.concat(runs).groupby(keys, as_index=False)["regret"].mean()
    if args.out:
        res.to_csv(args.out, index=False)
    print(summarise(res, "regret", "fold").round(4).to_string())
    per_task = res.pivot_table(index="task_id", columns=["method", "k"], values="regret")
    for rule in rules:
        for k in (1, 3, 5):
            d = (per_task[(rule.name, k)] - per_task[(AutoWarmStartModel.name, k)]).dropna().to_numpy()
            print(f"{rule.name} - auto as tune, k={k}: {paired_change(d)}")
    print(f"{time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
