"""Issue #11's two bars for ``learner="auto"`` on the 30 hold-out tables, with how far they are from noise.

Reads the re-scored rows of the shipped final model (rounds refit, seed bags, candidate pool reserve):
``refit_rounds_auto_holdout{10,25}.csv`` (``report_lgbm_refit.py``; the pool is every trial below 40) and
``candidate_pool_auto_holdout50.csv`` at the shipped quota (``report_candidate_pool.py``).  Prints the
ensemble's mean test score at 10 / 25 / 50 trials, the ensemble against the best single trial at 25
(ties within 0.0001), and paired bootstrap 90% intervals over the tables (resampling tables) of the mean
changes between checkpoints and of the win share:

    python benchmarks/report_ensemble_bars.py [--draws 20000]

``--cache`` reads fresh ``bench_ensemble.py --searchers auto`` studies instead (another train/test split with
``--split-seed``; several caches, one per split): each one's bars, split 0's, then every split averaged per
table, all on the tables every split has.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

RESULTS = Path(__file__).resolve().parent / "results"
TIE = 1e-4


def scores(results: Path, quota: int) -> pd.DataFrame:
    """Per table: the ensemble at 10 / 25 / 50 trials and the best single trial at 25, as shipped."""
    at10 = pd.read_csv(results / "refit_rounds_auto_holdout10.csv").set_index("dataset")
    at25 = pd.read_csv(results / "refit_rounds_auto_holdout25.csv").set_index("dataset")
    at50 = pd.read_csv(results / "candidate_pool_auto_holdout50.csv")
    at50 = at50[at50["quota"] == quota].set_index("dataset")
    return pd.DataFrame({"ens10": at10["ens_cv_bag"], "ens25": at25["ens_cv_bag"], "ens50": at50["ensemble"],
                         "single25": at25["single_cv"]}).dropna()


def cached_scores(cache: Path) -> pd.DataFrame:
    """The same columns from a ``bench_ensemble.py`` cache of ``auto`` studies (the final model as it was run)."""
    rows = {}
    for line in cache.read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        if rec.get("searcher") != "auto" or rec.get("status") != "ok":
            continue
        cp = rec["checkpoints"]
        rows[rec["dataset"]] = {"ens10": cp["10"]["ensemble"]["score"], "ens25": cp["25"]["ensemble"]["score"],
                                "ens50": cp["50"]["ensemble"]["score"], "single25": cp["25"]["single"]["score"]}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("dataset")


def print_bars(s: pd.DataFrame, draws: int) -> None:
    """The mean at each checkpoint, its changes and the win share, with paired bootstrap intervals."""
    print(f"{len(s)} tables; ensemble mean test score at 10 / 25 / 50 trials: "
          + " / ".join(f"{s[c].mean():.4f}" for c in ("ens10", "ens25", "ens50")))
    for a, b in (("ens10", "ens25"), ("ens25", "ens50"), ("ens10", "ens50")):
        d = (s[b] - s[a]).to_numpy()
        lo, hi = interval(d, draws)
        print(f"{a} -> {b}: mean change {d.mean():+.4f} (90% interval {lo:+.4f} .. {hi:+.4f}), "
              f"up / down {(d > TIE).sum()} / {(d < -TIE).sum()}")
    gap = (s["ens25"] - s["single25"]).to_numpy()
    wins = (gap > TIE).astype(float)
    lo, hi = interval(wins, draws)
    print(f"25 trials, ensemble vs best single trial: {int(wins.sum())}/{int((abs(gap) <= TIE).sum())}/"
          f"{int((gap < -TIE).sum())} (w/t/l), win share {wins.mean():.3f} (90% interval {lo:.3f} .. {hi:.3f}; "
          f"bar 0.65)")


def interval(values: np.ndarray, draws: int, seed: int = 0) -> tuple[float, float]:
    """Paired bootstrap 90% interval of the mean of ``values`` (one per table)."""
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), (draws, len(values)))].mean(axis=1)
    lo, hi = np.quantile(means, [0.05, 0.95])
    return float(lo), float(hi)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", type=Path, default=RESULTS)
    ap.add_argument("--quota", type=int, default=5, help="the candidate pool's per-learner reserve (shipped: 5)")
    ap.add_argument("--draws", type=int, default=20000)
    ap.add_argument("--cache", type=Path, nargs="+", help="bench_ensemble.py caches of auto studies on other splits")
    args = ap.parse_args()
    s = scores(args.results, args.quota)
    if not args.cache:
        print_bars(s, args.draws)
        return
    splits = [cached_scores(c) for c in args.cache]
    shared = s.index
    for fresh in splits:
        shared = shared.intersection(fresh.index)
    for path, fresh in zip(args.cache, splits):
        print(f"== {path.name}, the tables every split has")
        print_bars(fresh.loc[shared], args.draws)
    print("== the shipped re-scoring (split 0), the same tables")
    print_bars(s.loc[shared], args.draws)
    print(f"== all {len(splits) + 1} splits, averaged per table")
    print_bars(sum(x.loc[shared] for x in [s, *splits]) / (len(splits) + 1), args.draws)


if __name__ == "__main__":
    main()
