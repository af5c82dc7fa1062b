"""Issue #11's bars for the LightGBM study on all 30 hold-out tables with the shipped refit (rounds of the folds,
seed-bagged ensemble): the 14 tables whose studies predate the refit re-scored by ``report_lgbm_refit.py``
(``benchmarks/results/refit_rounds_lgbm_holdout{10,25,50}.csv``: ``single_cv``, ``ens_cv_bag``) and fresh
``bench_ensemble.py --searchers lgbm`` studies of the shipped code for the others (``--caches``).

    python benchmarks/report_lgbm_holdout_rounds.py --caches benchmarks/results/ens_lgbm_rounds.jsonl \
        benchmarks/results/ens_lgbm_rounds_small.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_time import REPO  # noqa: E402
from report_seed_bagging import wtl  # noqa: E402

RESULTS = REPO / "benchmarks" / "results"


def scores(caches: list[str]) -> pd.DataFrame:
    """One row per (table, trials): the best single trial's and the ensemble's test score."""
    rows = []
    for n in (10, 25, 50):
        old = pd.read_csv(RESULTS / f"refit_rounds_lgbm_holdout{n}.csv")
        rows += [{"dataset": r.dataset, "trials": n, "single": r.single_cv, "ensemble": r.ens_cv_bag,
                  "source": "re-scored"} for r in old.itertuples()]
    for cache in caches:
        for rec in (json.loads(line) for line in Path(cache).read_text().splitlines()):
            if rec.get("searcher") == "lgbm" and rec.get("status", "ok") == "ok":
                rows += [{"dataset": rec["dataset"], "trials": int(n), "single": c["single"]["score"],
                          "ensemble": c["ensemble"]["score"], "source": "fresh"} for n, c in rec["checkpoints"].items()]
    return pd.DataFrame(rows).drop_duplicates(["dataset", "trials"])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--caches", nargs="+", required=True, help="bench_ensemble.py caches of fresh LightGBM studies")
    df = scores(ap.parse_args(argv).caches)
    for n, d in df.groupby("trials"):
        print(f"{n} trials, {len(d)} tables ({(d.source == 'fresh').sum()} fresh): ensemble vs best single "
              f"{wtl(d.ensemble - d.single)} (w/t/l), mean {d.ensemble.mean():.4f} vs {d.single.mean():.4f}")
    full = df.groupby("dataset").filter(lambda g: len(g) == 3)
    means = full.groupby("trials")[["single", "ensemble"]].mean()
    print(f"tables with all three checkpoints: {full.dataset.nunique()}; mean test score by trials:")
    print(means.round(4).to_string())
    print(df.pivot(index="dataset", columns="trials", values=["single", "ensemble"]).round(4).to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())
