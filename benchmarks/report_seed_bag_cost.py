"""What a seed-bagged final model costs (issue #11): size on disk and prediction time against the same
ensemble with one fit per member, on credit-g (``examples/data``) after a 25-trial ``learner="auto"`` search.

    python benchmarks/report_seed_bag_cost.py        # about 1 min
"""

from __future__ import annotations

import copy
import os
import tempfile
import time
import warnings
from pathlib import Path

import pandas as pd

from metaopt.tuning import tune

DATA = Path(__file__).resolve().parents[1] / "examples" / "data" / "credit-g.csv"


def _predict_s(model, X: pd.DataFrame, repeats: int = 3) -> float:
    t0 = time.perf_counter()
    for _ in range(repeats):
        model.predict_proba(X)
    return (time.perf_counter() - t0) / repeats


def main() -> None:
    warnings.filterwarnings("ignore")
    df = pd.read_csv(DATA)
    res = tune(df, target="class", n_trials=25, progress=False, random_state=0)
    one = copy.deepcopy(res.model)
    for member in getattr(one.fitted, "members", []):
        member.models = member.models[:1]
    X = df.drop(columns="class")
    with tempfile.TemporaryDirectory() as tmp:
        sizes = [os.path.getsize(m.save(Path(tmp) / f"{i}.joblib")) / 1e6 for i, m in enumerate((res.model, one))]
    print(f"fits per member: {[len(m.models) for m in getattr(res.model.fitted, 'members', [])]}; "
          f"search {res.summary.time['search']:.1f} s, final refit {res.summary.time['refit']:.1f} s")
    print(f"size: {sizes[0]:.2f} MB seed-bagged, {sizes[1]:.2f} MB one fit per member")
    print(f"predict_proba on {len(X)} rows: {_predict_s(res.model, X):.3f} s seed-bagged, {_predict_s(one, X):.3f} s")


if __name__ == "__main__":
    main()
