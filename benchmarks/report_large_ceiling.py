"""How much room the large tables of ``bench_time.py`` leave above LightGBM's defaults (issue #10).

A table whose rows take few distinct feature values (a lookup table: every distinct row is a "cell"
with many training rows) has a best possible model that can be estimated directly: each cell's class
shares (or mean target) on the training rows, shrunk towards the overall ones by ``alpha`` rows.  Its
test score is an estimate of the ceiling that no tuner can pass by more than noise; tables with too
many cells (``--max-cell-share``) are reported as such.  LightGBM's defaults on all training rows are
fitted here too, on the same split, so the two stand side by side.

    python benchmarks/report_large_ceiling.py [--only military,Fertility] [--split-dir DIR]

Uses ``bench_time``'s tables and splits (made there if missing).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))

import bench_time as bt  # noqa: E402

ALPHAS = (1.0, 10.0, 100.0)


def cell_keys(X: pd.DataFrame) -> pd.Series:
    """One string per row: its feature values (missing values as their own value)."""
    return X.astype(str).agg("|".join, axis=1)


def cell_model_score(sp: dict, alpha: float) -> float:
    """Test score of the per-cell estimate, shrunk towards the overall class shares (or mean) by ``alpha``."""
    ktr, kte = cell_keys(sp["Xtr"]), cell_keys(sp["Xte"])
    if sp["kind"] == "regression":
        y = sp["ytr"].astype(float)
        mean = y.mean()
        g = y.groupby(ktr.to_numpy())
        est = (g.sum() + alpha * mean) / (g.count() + alpha)
        return bt.holdout_score("regression", sp["yte"], pred=est.reindex(kte.to_numpy()).fillna(mean).to_numpy())
    y = sp["ytr"].astype(str)
    classes = sorted(y.unique())
    prior = y.value_counts(normalize=True).reindex(classes).to_numpy()
    counts = pd.crosstab(ktr.to_numpy(), y.to_numpy()).reindex(columns=classes, fill_value=0)
    shares = (counts.to_numpy() + alpha * prior) / (counts.sum(axis=1).to_numpy()[:, None] + alpha)
    table = pd.DataFrame(shares, index=counts.index)
    proba = table.reindex(kte.to_numpy()).to_numpy().copy()
    proba[np.isnan(proba).any(axis=1)] = prior  # a cell never seen in training: the overall shares
    return bt.holdout_score(sp["kind"], sp["yte"], proba=proba, classes=classes)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default=None, help="comma-separated table names (default: the three)")
    ap.add_argument("--split-dir", default=str(Path(tempfile.gettempdir()) / "metaopt_bench_time_splits"))
    ap.add_argument("--max-cell-share", type=float, default=0.05,
                    help="tables with more distinct rows than this share of the training rows are skipped")
    args = ap.parse_args(argv)
    only = args.only.split(",") if args.only else None
    rows = [r for r in bt.dataset_rows(0, only, large=True) if r["group"] == "large"]
    print("| table | training rows | cells | cell model (alpha 1 / 10 / 100) | LightGBM defaults, all rows |")
    print("|---|---|---|---|---|")
    for row in rows:
        sp = pd.read_pickle(bt.split_path(row, Path(args.split_dir)))
        n, cells = len(sp["ytr"]), cell_keys(sp["Xtr"]).nunique()
        t0 = time.perf_counter()
        default = bt.run_lgbm_default(sp, bt.SPLIT_SEED)
        if cells > args.max_cell_share * n:
            ceiling = f"- ({cells:,} cells > {args.max_cell_share:.0%} of the rows: not a lookup table)"
        else:
            ceiling = " / ".join(f"{cell_model_score(sp, a):.4f}" for a in ALPHAS)
        print(f"| {row['name']} | {n:,} | {cells:,} | {ceiling} | {default['score']:.4f} "
              f"({default['wall_s']:.1f} s; {time.perf_counter() - t0:.0f} s in all) |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
