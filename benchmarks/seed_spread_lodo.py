"""How much the meta-model's random seed moves the LODO numbers (issue #13).

The surrogate's bootstraps and LightGBM's row bagging depend on ``MetaoptModel(random_state=...)``;
one benchmark run is one draw.  This fits metaopt once per seed on the same split and prints the
mean normalised regret per held-out collection (or the group split's mean) for each seed, their mean
and spread - the floor any change to the KB or the model has to clear.

    python benchmarks/seed_spread_lodo.py --seeds 0,1,2,3                    # collection split, ~1 min
    python benchmarks/seed_spread_lodo.py --kb TRIAL_KB --seeds 0,1,2,3
    python benchmarks/seed_spread_lodo.py --seeds 0,1,2,3 --n-models 20       # a larger surrogate ensemble
"""

from __future__ import annotations

import argparse
import functools
import sys

import pandas as pd

from metaopt.kb import KnowledgeBase
from metaopt.metamodel import MetaoptModel, build_score_matrix, lodo


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kb", help="knowledge-base directory (default: the shipped one)")
    ap.add_argument("--learner", default="lightgbm", help="lightgbm (default), random_forest or auto")
    ap.add_argument("--split", default="collection", help="collection (default) or group")
    ap.add_argument("--seeds", default="0,1,2,3", help="comma-separated seeds (default 0,1,2,3)")
    ap.add_argument("--n-models", type=int, default=5, help="surrogate ensemble size (default 5, as shipped)")
    ap.add_argument("--shrink-novel", choices=["yes", "no"], default="yes",
                    help="even shares grown to the novelty (yes, as shipped) or fixed (no)")
    ap.add_argument("--jobs", type=int, default=2, help="folds fitted in parallel (default 2)")
    args = ap.parse_args(argv)
    sm = build_score_matrix(KnowledgeBase.load(args.kb), None if args.learner == "auto" else args.learner)
    sm = sm.pooled_tasks()
    rows = []
    for seed in (int(s) for s in args.seeds.split(",")):
        model = functools.partial(MetaoptModel, random_state=seed, n_models=args.n_models,
                                  shrink_novel=args.shrink_novel == "yes")
        r = lodo(sm, {"metaopt": model}, ks=(1, 5), split=args.split, n_jobs=args.jobs)
        r = r[r["method"] == "metaopt"]
        if args.split != "collection":
            r = r.assign(fold="all")
        t = r.groupby(["fold", "k"])["regret"].mean()
        rows += [{"seed": seed, "fold": f, "k": k, "regret": v} for (f, k), v in t.items()]
        print(f"seed {seed}: " + ", ".join(f"{f} k={k} {v:.4f}" for (f, k), v in t.items()),
              file=sys.stderr, flush=True)
    res = pd.DataFrame(rows).pivot_table(index="seed", columns=["fold", "k"], values="regret")
    summary = pd.concat([res, res.agg(["mean", "std"])])
    print(summary.round(4).to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())
