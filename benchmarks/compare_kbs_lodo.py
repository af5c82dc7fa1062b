"""In-distribution LODO of the same held-out tasks with two knowledge bases (does adding tasks hurt?).

Takes a seeded sample of ``--folds`` dataset groups of KB A (group split), holds out exactly those
tasks in both KBs, and fits every ``--quick`` model of ``metaopt benchmark lodo`` once per fold on each
KB's remaining tasks.  Used before merging a build into the shipped KB (issue #13: "in-distribution LODO
does not get worse"):

    python benchmarks/compare_kbs_lodo.py --kb-b /tmp/merged_kb --folds 80      # ~11 min on one core

``--seed-b N`` fits KB B's metaopt model with another random seed (its surrogate's bootstraps and
trees): with ``--kb-b`` the same KB as ``--kb-a`` that is the noise floor, the change a merge must
exceed to count as better or worse. ``--seed-a 0,1,2 --seed-b 0,1,2`` averages each task's regret over
three fits per KB, which shrinks that floor (the table's regrets are then those means).

With ``--learner auto`` the models include ``metaopt (auto as tune runs it)`` (``AutoWarmStartModel``): the
picks ``tune(learner="auto")`` really tries, each learner in its own study; ``--methods`` fits only the
named models (e.g. that one, to halve the time).
"""

from __future__ import annotations

import argparse
import functools
import sys

import numpy as np
import pandas as pd

from metaopt.kb import KnowledgeBase
from metaopt.metamodel import AdaptiveModel, AutoWarmStartModel, MetaoptModel, build_score_matrix, lodo, lodo_methods, make_folds, sample_folds
from metaopt.metamodel._splits import Fold

KS = [1, 3, 5, 10]
#: the models whose paired change B - A is reported (those of them in the run)
COMPARED = ["metaopt", "metaopt (adaptive)", AutoWarmStartModel.name]


def same_folds(sm_a, sm_b, n_folds: int, seed: int = 0) -> tuple[list[Fold], list[Fold]]:
    """The sampled groups' folds in both score matrices, holding out only tasks both of them hold out."""
    folds_a = make_folds(sm_a, "group")
    names = {f.name for f in sample_folds(folds_a, n_folds, seed)}
    folds_b = {f.name: f for f in make_folds(sm_b, "group") if f.name in names}
    out_a, out_b = [], []
    for fa in folds_a:
        fb = folds_b.get(fa.name)
        if fa.name not in names or fb is None:
            continue
        in_b = set(fb.held_out)
        held = tuple(t for t in fa.held_out if t in in_b)
        if held:
            out_a.append(Fold(fa.name, fa.train, held, fa.unscored))
            out_b.append(Fold(fb.name, fb.train, held, fb.unscored))
    return out_a, out_b


def interval(d: np.ndarray, draws: int = 20000, seed: int = 0) -> tuple[float, float]:
    """90% paired-bootstrap interval of the mean of the per-task differences ``d`` (tasks resampled).

    The same as ``report_ensemble_bars.interval``; kept here because tests load this script by its path,
    where a sibling script does not import."""
    rng = np.random.default_rng(seed)
    means = d[rng.integers(0, len(d), size=(draws, len(d)))].mean(axis=1)
    return float(np.quantile(means, 0.05)), float(np.quantile(means, 0.95))


def paired_change(d: np.ndarray, who: str = "") -> str:
    """The mean of the per-task differences ``d`` with its 90% interval and how many tasks ``who`` is better /
    worse on (negative: better, as regrets)."""
    lo, hi = interval(d)
    return (f"{d.mean():+.4f} (90% interval {lo:+.4f} .. {hi:+.4f}); {who}better on {(d < -1e-9).sum()} tasks, "
            f"worse on {(d > 1e-9).sum()} of {len(d)}")


def report(res: pd.DataFrame) -> None:
    """Mean regrets per KB, then per k the paired change B - A of metaopt's and the adaptive picks."""
    main_methods = res[res["method"].isin([*COMPARED, "static portfolio"])]
    print(main_methods.pivot_table(index=["kb", "method"], columns="k", values="regret").round(4).to_string())
    for method in [m for m in COMPARED if m in set(res["method"])]:
        per_task = res[res["method"] == method].pivot_table(index="task_id", columns=["kb", "k"], values="regret")
        for k in KS:
            d = (per_task[("B", k)] - per_task[("A", k)]).dropna().to_numpy()
            print(f"{method}, k={k}: B - A {paired_change(d, 'B ')}")


def seeded_methods(seed: int, auto: bool = False, only: list[str] | None = None) -> dict:
    """``--quick`` LODO models with metaopt's (and its adaptive picks') random seed set to ``seed``; with
    ``auto`` also ``tune``'s picks on a joint pool; ``only``: just those names."""
    methods = lodo_methods(True, None)
    methods["metaopt"] = functools.partial(MetaoptModel, random_state=seed)
    methods["metaopt (adaptive)"] = functools.partial(AdaptiveModel, random_state=seed)
    if auto:
        methods[AutoWarmStartModel.name] = functools.partial(AutoWarmStartModel, random_state=seed)
    if only:
        unknown = set(only) - set(methods)
        if unknown:
            raise SystemExit(f"unknown --methods {sorted(unknown)}; known: {sorted(methods)}")
        methods = {name: methods[name] for name in only}
    return methods


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kb-a", help="first KB (default: the shipped one)")
    ap.add_argument("--kb-b", help="second KB, e.g. the shipped one merged with a new build")
    ap.add_argument("--learner", default="lightgbm")
    ap.add_argument("--folds", type=int, default=80, help="dataset groups sampled (default 80)")
    ap.add_argument("--out", help="CSV of the per-task regrets")
    ap.add_argument("--seed-a", default="0", help="random seed(s) of KB A's metaopt models, comma-separated: "
                    "a task's regret is the mean over them (default 0)")
    ap.add_argument("--seed-b", default="0", help="the same for KB B (default 0)")
    ap.add_argument("--jobs", type=int, default=1, help="folds fitted in parallel")
    ap.add_argument("--from-csv", help="report an earlier run's --out CSV instead of fitting")
    ap.add_argument("--methods", help="fit only these models, comma-separated (names as in the table)")
    args = ap.parse_args(argv)
    if args.from_csv:
        report(pd.read_csv(args.from_csv))
        return 0
    if not args.kb_b:
        ap.error("--kb-b is required (or --from-csv)")
    learner = None if args.learner == "auto" else args.learner
    sms = [build_score_matrix(KnowledgeBase.load(kb), learner).pooled_tasks() for kb in (args.kb_a, args.kb_b)]
    folds = same_folds(*sms, args.folds)
    only = args.methods.split(",") if args.methods else None
    res = []
    for label, sm, fl in zip(("A", "B"), sms, folds):
        seeds = [int(x) for x in (args.seed_a if label == "A" else args.seed_b).split(",")]
        runs = [lodo(sm, seeded_methods(seed, learner is None, only), ks=KS, split=fl, n_jobs=args.jobs)
                for seed in seeds]
        r = runs[0] if len(runs) == 1 else (  # one seed: every column (the first pick's name too)
            pd.concat(runs).groupby(["task_id", "method", "k"], as_index=False)["regret"].mean())
        res.append(r.assign(kb=label))
        print(f"KB {label}: {len(fl)} folds, {r['task_id'].nunique()} tasks, seeds {seeds}", file=sys.stderr, flush=True)
    res = pd.concat(res, ignore_index=True)
    if args.out:
        res.to_csv(args.out, index=False)
    report(res)
    return 0


if __name__ == "__main__":
    sys.exit(main())
