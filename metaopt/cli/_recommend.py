"""``metaopt recommend DATA --target COL``: the configurations to try first on a dataset."""

from __future__ import annotations

import argparse
import json
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "recommend",
        help="recommend a learner and configurations to try first",
        description="Rank learners and configurations for a dataset from the knowledge base "
                    "(meta-learned; see docs/metamodel.md).",
    )
    p.add_argument("data", help="CSV/TSV/Parquet/ARFF file, openml:<data id> or openml-task:<task id>")
    p.add_argument("--target", "-t", help="target column (default: the file's default target or last column)")
    p.add_argument("-k", type=int, default=5, help="number of configurations (default 5)")
    p.add_argument("--learner", default="auto", help="learner name or 'auto' (default)")
    p.add_argument("--time-budget", type=float, metavar="S", help="seconds one fit may take")
    p.add_argument("--kb", metavar="DIR", help="knowledge-base directory (default: the shipped one)")
    p.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    p.set_defaults(func=run)


def _fmt_time(t) -> str:
    if t is None:
        return "?"
    return f"{t:.2g}s" if t < 10 else f"{t:.0f}s"


def run(args: argparse.Namespace) -> int:
    from metaopt._recommend import recommend
    from metaopt.data import load_data

    ds = load_data(args.data, target=args.target)
    recs = recommend(ds, learner=args.learner, k=args.k, time_budget=args.time_budget, kb=args.kb)
    if args.json:
        json.dump({"dataset": ds.name, "target": ds.target, "kind": ds.kind,
                   "recommendations": [r.to_dict() for r in recs]}, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
        return 0
    print(f"{ds.name}: {ds.n_rows} rows x {ds.n_features} features, target {ds.target!r} ({ds.kind})")
    if recs and recs[0].similar_tasks:
        print("most similar KB tasks: " + ", ".join(f"{s['name']} (d={s['distance']:.2f})"
                                                     for s in recs[0].similar_tasks))
    if recs and recs[0].far_from_kb:
        print("note: " + recs[0].rationale)
    header = f"{'#':>2}  {'learner':<13} {'config':<28} {'score':>12} {'fit':>7}  params"
    print(header)
    print("-" * len(header))
    for r in recs:
        params = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in r.params.items())
        score = f"{r.predicted_score:.2f}±{r.predicted_score_std:.2f}"
        print(f"{r.rank:>2}  {r.learner:<13} {r.config_id[:28]:<28} {score:>12} {_fmt_time(r.predicted_fit_time_s):>7}"
              f"  {params}")
    print("score: predicted normalised score (1 = best configuration of the KB pool on a task, 0 = worst) "
          "± uncertainty; fit: predicted seconds per fit")
    return 0
