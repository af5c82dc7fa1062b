"""Boosting rounds for LightGBM: early stopping vs. n_estimators as a hyperparameter.

Compares, on real corpus datasets (hold-out datasets excluded) and the same CV folds:

(a) ``es``:   each configuration without ``n_estimators``; fitted with early stopping
              (patience 50, up to 2000 rounds) on an inner split of the training fold
              (AutoGluon's hold-out fraction, stratified), the model is not refitted;
(b) ``tuned``: the same configurations plus ``n_estimators`` drawn log-uniformly from
              [16, 2000], fitted on the whole training fold without early stopping.

Both approaches get the same N random configurations of the other hyperparameters
(paired).  Per dataset the primary metric (binary roc_auc, multiclass log_loss,
regression rmse) is normalised to [0, 1] over all 2N results (1 = best); printed:
mean normalised score of a configuration, normalised score of the best of N, and
the mean fit time per fold.

Usage: python benchmarks/bench_boosting_rounds.py [--datasets 12] [--configs 8] [--folds 3]
       [--max-rows 2000]   (about 5 minutes on one core)
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd


def shared_data() -> Path:
    env = os.environ.get("METAOPT_SHARED_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared" / "data"


def pick_datasets(n: int) -> pd.DataFrame:
    cat = pd.read_csv(shared_data() / "corpus" / "catalog.csv")
    hold = pd.read_csv(Path(__file__).resolve().parent / "holdout_datasets.csv")
    cat = cat[~cat["name"].isin(hold["name"])]
    cat = cat[(cat["n_rows"] >= 150) & (cat["n_rows"] <= 20000) & (cat["n_features"] <= 60)]
    cat = cat[cat["n_classes"].fillna(0) <= 10]  # 26-class letter alone took > 10 minutes
    picks = []
    per_kind = {k: n // 3 + (1 if i < n % 3 else 0) for i, k in enumerate(["binary", "multiclass", "regression"])}
    for kind, k in per_kind.items():
        sub = cat[cat["task"] == kind].sort_values("n_rows").reset_index(drop=True)
        # spread over sizes: quantile positions
        pos = sorted({int(round(q * (len(sub) - 1))) for q in np.linspace(0.15, 1.0, k)})
        picks.append(sub.iloc[pos])
    return pd.concat(picks, ignore_index=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", type=int, default=12)
    ap.add_argument("--configs", type=int, default=8)
    ap.add_argument("--folds", type=int, default=3)
    ap.add_argument("--max-rows", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    from optuna.distributions import IntDistribution

    from metaopt.data import load_data
    from metaopt.kb._pool import from_unit
    from metaopt.core import GREATER_IS_BETTER, PRIMARY, Protocol
    from metaopt.learners import get_learner

    lgbm = get_learner("lightgbm")
    space = lgbm.search_space()
    rng = np.random.default_rng(args.seed)
    base = [{k: from_unit(d, rng.random()) for k, d in sorted(space.items())} for _ in range(args.configs)]
    n_est = IntDistribution(16, 2000, log=True)
    tuned = [{**p, "n_estimators": from_unit(n_est, rng.random())} for p in base]
    protocol = Protocol(n_folds=args.folds, seed=args.seed, max_rows=args.max_rows, time_limit_s=None)

    rows = []
    datasets = pick_datasets(args.datasets)
    t_all = time.perf_counter()
    for _, d in datasets.iterrows():
        ds = load_data(shared_data() / "corpus" / d["file"], d["target"], kind=d["task"], name=d["name"])
        task = protocol.prepare(ds)
        metric = PRIMARY[ds.kind]
        for approach, configs in (("es", base), ("tuned", tuned)):
            for i, p in enumerate(configs):
                r = protocol.evaluate(lgbm, p, task)
                rows.append({"dataset": ds.name, "kind": ds.kind, "n_rows": task.n_rows, "approach": approach,
                             "config": i, "status": r["status"], "score": r[metric],
                             "greater": GREATER_IS_BETTER[metric], "fit_time_s": r["fit_time_s"],
                             "rounds": r["n_estimators_used"]})
        print(f"  {ds.name:<28} {ds.kind:<10} rows={task.n_rows:<6} done ({time.perf_counter() - t_all:.0f} s)",
              file=sys.stderr, flush=True)
    df = pd.DataFrame(rows)

    def normalise(g: pd.DataFrame) -> pd.DataFrame:
        s = g["score"].astype(float)
        s = s if g["greater"].iloc[0] else -s
        lo, hi = s.min(), s.max()
        g = g.copy()
        g["norm"] = (s - lo) / (hi - lo) if hi > lo else 1.0
        g["norm"] = g["norm"].fillna(0.0)  # a failed configuration scores as the worst
        return g

    df = pd.concat([normalise(g) for _, g in df.groupby("dataset", sort=False)], ignore_index=True)
    per_ds = df.groupby(["dataset", "kind", "n_rows", "approach"], sort=False).agg(
        mean_norm=("norm", "mean"), best_norm=("norm", "max"), fit_s=("fit_time_s", "mean"),
        rounds=("rounds", "mean")).unstack("approach")
    pd.set_option("display.width", 200)
    print(per_ds.round(3).to_string())
    summ = df.groupby("approach").agg(mean_norm=("norm", "mean"), fit_s=("fit_time_s", "mean"),
                                      rounds=("rounds", "mean"), failed=("status", lambda s: int((s != "ok").sum())))
    best = df.groupby(["approach", "dataset"])["norm"].max().groupby("approach").mean()
    summ["best_of_n_norm"] = best
    wins = (per_ds["best_norm"]["es"] > per_ds["best_norm"]["tuned"]).sum()
    ties = (per_ds["best_norm"]["es"] == per_ds["best_norm"]["tuned"]).sum()
    print()
    print(f"{len(datasets)} datasets x {args.configs} configurations x {args.folds} folds, max_rows={args.max_rows}")
    print(summ.round(4).to_string())
    print(f"best-of-{args.configs}: es better on {wins}, tied on {ties}, tuned better on "
          f"{len(per_ds) - wins - ties} datasets; total {time.perf_counter() - t_all:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
