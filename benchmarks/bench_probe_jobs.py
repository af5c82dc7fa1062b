"""Wall time of ``recommend(k=5, probe=10)``: probes one at a time against ``n_jobs`` probes at once (threads).

On the hold-out datasets (``holdout_datasets.csv``, files in the shared corpus), each run times the same call
with ``n_jobs=1`` and with ``n_jobs=J`` side by side (after one untimed call that fits and caches the
meta-model), checks that both return the same configurations in the same order, and prints the seconds and
the speed-up per dataset and their geometric mean.  Results and the machine: ``docs/metamodel.md``.

    python benchmarks/bench_probe_jobs.py [--jobs 2] [--probe 10] [--learner lightgbm] [--limit N]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import metaopt

HERE = Path(__file__).resolve().parent
SHARED = Path(os.environ.get("METAOPT_SHARED_DATA", HERE.parents[1] / "shared" / "data"))


def _timed(ds, args, n_jobs: int) -> tuple[float, list[str]]:
    t0 = time.perf_counter()
    recs = metaopt.recommend(ds, learner=args.learner, k=args.k, probe=args.probe, n_jobs=n_jobs)
    return time.perf_counter() - t0, [r.config_id for r in recs]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=2, help="probes at once in the compared run (default 2)")
    ap.add_argument("--probe", type=int, default=10, help="configurations probed (default 10)")
    ap.add_argument("-k", "--k", type=int, default=5, help="configurations returned (default 5)")
    ap.add_argument("--learner", default="lightgbm", help="learner ranked (default lightgbm)")
    ap.add_argument("--limit", type=int, help="the first N hold-out datasets only")
    args = ap.parse_args(argv)
    listed = pd.read_csv(HERE / "holdout_datasets.csv").head(args.limit)
    warnings.simplefilter("ignore")
    print(f"| dataset | rows | n_jobs=1 (s) | n_jobs={args.jobs} (s) | speed-up | same order |")
    print("|---|---|---|---|---|---|")
    ratios = []
    for row in listed.itertuples():
        path = SHARED / "corpus" / row.file
        if not path.is_file():
            continue
        ds = metaopt.load_data(path, target=row.target)
        metaopt.recommend(ds, learner=args.learner, k=1)  # fits and caches the meta-model: not timed
        one, order_one = _timed(ds, args, 1)
        many, order_many = _timed(ds, args, args.jobs)
        ratios.append(one / many)
        print(f"| {row.name} | {ds.n_rows} | {one:.2f} | {many:.2f} | {one / many:.2f} | {order_one == order_many} |")
    if not ratios:
        print("no hold-out dataset found under", SHARED / "corpus", file=sys.stderr)
        return 1
    print(f"\ngeometric mean speed-up with n_jobs={args.jobs}: {np.exp(np.mean(np.log(ratios))):.2f} "
          f"({len(ratios)} datasets, {os.cpu_count()} CPUs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
