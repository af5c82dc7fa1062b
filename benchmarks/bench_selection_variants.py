"""Which greedy-selection settings generalise: candidates kept and rounds (issue #11, ``_ensemble/_build.py``).

Reads the metaopt lightgbm studies that ``bench_ensemble.py`` left in its temporary folders, refits every
trial (and the library default) once on the training rows and keeps its test predictions; an ensemble
is then a weighted average of those, so every setting is scored on the same fits.  For each setting
(``MAX_CANDIDATES`` x ``ENSEMBLE_SIZE``) and 10/25/50 trials: mean test score (ROC AUC, one-vs-rest macro
for multiclass; R^2), wins against the best single configuration, and whether the mean grows with trials.

    python benchmarks/bench_selection_variants.py
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_ensemble import (CHECKPOINTS, _context, _Prefix, _refit, metaopt_studies,  # noqa: E402
                            studies_arguments)
from bench_time import holdout_score  # noqa: E402

SETTINGS = [(c, s) for c in (5, 10, 20, 40) for s in (10, 25, 50)]


def _score(sp: dict, ds, values: np.ndarray, classes) -> float:
    if ds.kind == "regression":
        return holdout_score("regression", sp["yte"], pred=values[:, 0])
    return holdout_score(ds.kind, sp["yte"], proba=values, classes=classes)


def evaluate(sp: dict, study, ds) -> list[dict]:
    from metaopt.tuning._ensemble import OofStore, gather_candidates, select
    from metaopt.tuning._ensemble import _build as build

    ctx = _context(study, ds)
    store = OofStore.for_storage(study._storage)
    labels = None if ds.kind == "regression" else np.asarray(ctx.cvx.task.labels)
    folds = [np.sort(te) for _, te in ctx.cvx.task.folds[:ctx.cvx.n_folds]]
    cache: dict = {}

    def test_pred(c) -> np.ndarray:
        if c.source not in cache:
            fitted = _refit(ctx, ds, c.params)
            from metaopt.core import aligned_proba
            from metaopt.tuning import ColumnSchema

            X = ColumnSchema.from_dataset(ds).prepare(sp["Xte"])
            cache[c.source] = (np.asarray(fitted.predict(X), float).reshape(-1, 1) if ds.kind == "regression"
                               else aligned_proba(fitted, X, labels))
        return cache[c.source]

    rows = []
    for n in CHECKPOINTS:
        view = _Prefix(study, n)
        for max_c, size in SETTINGS:
            build.MAX_CANDIDATES = max_c
            cands = gather_candidates(view, store, ctx.learner, ctx.default, ctx.maximize)
            members, info = select(cands, ctx.cvx.y_codes, ds.kind, ctx.metric, size, folds)
            if len(members) < 2 or not info.get("gain", 0) > 0:
                members = [(cands[0], 1.0)]
            blend = sum(w * test_pred(c) for c, w in members)
            rows.append({"dataset": sp["name"], "trials": n, "setting": f"top{max_c}-r{size}",
                         "score": _score(sp, ds, blend, labels), "members": len(members)})
        rows.append({"dataset": sp["name"], "trials": n, "setting": "single",
                     "score": _score(sp, ds, test_pred(cands[0]), labels), "members": 1})
    build.MAX_CANDIDATES = 40
    return rows


def main(argv=None) -> int:
    warnings.filterwarnings("ignore")
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    studies_arguments(ap)
    a = ap.parse_args(argv)
    rows = []
    for sp, study, ds in metaopt_studies(a.studies, a.split_dir):
        rows += evaluate(sp, study, ds)
        print(f"  {sp['name']}", flush=True)
    df = pd.DataFrame(rows)
    print(f"{df['dataset'].nunique()} datasets; mean test score:")
    mean = df.pivot_table(index="setting", columns="trials", values="score", aggfunc="mean")
    piv = df.pivot_table(index=["dataset", "trials"], columns="setting", values="score")
    for s in mean.index:
        d = (piv[s] - piv["single"]).xs(25, level="trials")
        mean.loc[s, "W/T/L vs single @25"] = f"{(d >= 1e-4).sum()}/{(d.abs() < 1e-4).sum()}/{(d <= -1e-4).sum()}"
    print(mean.to_string(float_format=lambda v: f"{v:.4f}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
