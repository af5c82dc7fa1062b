"""Which greedy-selection rules generalise: candidates kept, rounds, prefix trimming, bagging (issue #11).

Reads the metaopt lightgbm studies that ``bench_ensemble.py`` left in its temporary folders, refits every
trial (and the library default) once on the training rows and keeps its test predictions (cached on disk,
``--pred-cache``, so a second run only re-selects); an ensemble is then a weighted average of those, so
every rule is scored on the same fits.  Rules (``RULES``):

- ``single``: the best single configuration by CV (what ``tune(ensemble=False)`` started from);
- ``topC-rR``: Caruana's forward selection with replacement over the best C candidates, R rounds, the best
  prefix of the rounds kept (``topC-rR-full``: all R rounds kept; ``topC-rR-iN``: starting from the N best
  candidates, Caruana et al.'s "sorted initialization"; ``top40-r25-i5`` is ``tune``'s default; ``-i5or1``: from
  the 5 best, and where that blend does not beat the best single candidate on CV, from the best one);
- ``bagged-B``: Caruana et al. (2004), section 2.3 "bagged ensemble selection": B selections, each over a
  random half of the candidates, their weights averaged; it reduces the selection's overfitting of the
  validation rows, which matters most where there are few of them;
- ``<rule>-first``: on a study of repeated splits, the rule on the first split's out-of-fold predictions
  alone (each candidate refitted on that split's folds here, cached) instead of the predictions averaged
  over the repeats that ``tune`` stores: an averaged prediction is a small bag of fold models, which the
  final model (one refit per member) is not.

Every rule falls back to the single best configuration when its blend does not beat it on CV, as ``tune``
does.  For 10/25/50 trials: mean test score (ROC AUC, one-vs-rest macro for multiclass; R^2), wins against
the best single configuration at 25, and whether the mean grows from 10 to 25 to 50 trials.

    python benchmarks/bench_selection_variants.py [--rules top40-r25,bagged-20]
    python benchmarks/bench_selection_variants.py --studies "/tmp/bench-ensval-*/study.db" \
        --pred-cache benchmarks/results/selection_preds_validation  # bench_ensemble.py --validation's studies
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
from bench_time import REPO, holdout_score  # noqa: E402

RULES = ["top40-r25-i5", "top40-r25", "top40-r25-full", "top40-r25-i3", "top40-r25-i10", "top5-r10", "top20-r50",
         "bagged-20", "bagged-50"]


def _score(sp: dict, ds, values: np.ndarray, classes) -> float:
    if ds.kind == "regression":
        return holdout_score("regression", sp["yte"], pred=values[:, 0])
    return holdout_score(ds.kind, sp["yte"], proba=values, classes=classes)


def _greedy(cands, y, kind, metric, rounds, folds, trim=True, init=1):
    """{candidate index: weight} of metaopt's selection (the best prefix of the rounds, or all of them)."""
    from metaopt.tuning._ensemble._selection import greedy_selection

    return greedy_selection([c.pred for c in cands], y, kind, metric, rounds, folds, best_prefix=trim,
                            init=init).weights


def _bagged(cands, y, kind, metric, bags, folds, seed=0):
    """Bagged ensemble selection: ``bags`` selections (25 rounds, prefix kept) over random halves."""
    rng = np.random.default_rng(seed)
    weights: dict[int, float] = {}
    n = len(cands)
    for _ in range(bags):
        idx = np.sort(rng.choice(n, size=max(2, n // 2), replace=False)) if n > 2 else np.arange(n)
        for j, w in _greedy([cands[i] for i in idx], y, kind, metric, 25, folds).items():
            weights[int(idx[j])] = weights.get(int(idx[j]), 0.0) + w / bags
    return weights


def _rule(name, cands, y, kind, metric, folds):
    if name.endswith("-first"):
        name = name[: -len("-first")]
    if name.startswith("bagged-"):
        return _bagged(cands, y, kind, metric, int(name.split("-")[1]), folds)
    parts = name.split("-")
    top, rounds = int(parts[0][3:]), int(parts[1][1:])
    inits = [int(i) for i in parts[2][1:].split("or")] if len(parts) > 2 and parts[2].startswith("i") else [1]
    for init in inits:  # ``iAorB``: from the A best; where that blend does not beat the best single, from the B best
        weights = _greedy(cands[:top], y, kind, metric, rounds, folds, trim=parts[-1] != "full", init=init)
        if init == inits[-1] or _beats_single(cands, weights, y, kind, metric, folds):
            return weights


def _beats_single(cands, weights, y, kind, metric, folds) -> bool:
    """Whether the blend ``weights`` beats the best single candidate, both scored as the blends are (``tune``'s
    ``gain``; on repeated splits a trial's value, the mean over all folds, is another number than its averaged
    predictions' score)."""
    from metaopt.core import GREATER_IS_BETTER
    from metaopt.tuning._ensemble._scores import fold_mean_scores

    sign = 1.0 if GREATER_IS_BETTER[metric] else -1.0
    P = np.stack([np.asarray(c.pred, float).reshape(len(y), -1) for c in cands])
    best = float(np.nanmax(sign * fold_mean_scores(P, y, kind, metric, folds)))
    return len(weights) > 1 and sign * _cv(cands, weights, y, kind, metric, folds) - best > 0


def _cv(cands, weights, y, kind, metric, folds) -> float:
    from metaopt.tuning._ensemble._scores import fold_mean_scores

    blend = sum(w * np.asarray(cands[i].pred, float).reshape(len(y), -1) for i, w in weights.items())
    return float(fold_mean_scores(blend[None], y, kind, metric, folds)[0])


def evaluate(sp: dict, study, ds, rules: list[str], cache_dir: Path) -> list[dict]:
    from metaopt.core import aligned_proba
    from metaopt.tuning import ColumnSchema
    from metaopt.tuning._ensemble import OofStore, gather_candidates

    ctx = _context(study, ds)
    store = OofStore.for_storage(study._storage)
    labels = None if ds.kind == "regression" else np.asarray(ctx.cvx.task.labels)
    folds = ctx.cvx.test_folds  # the first split's test folds: each row once, as tune selects
    cache_file = cache_dir / f"{sp['name']}.npz"
    cache: dict = dict(np.load(cache_file)) if cache_file.is_file() else {}
    n_cached = len(cache)

    def test_pred(c) -> np.ndarray:
        key = str(c.source)
        if key not in cache:
            fitted = _refit(ctx, ds, c.params)
            X = ColumnSchema.from_dataset(ds).prepare(sp["Xte"])
            cache[key] = (np.asarray(fitted.predict(X), float).reshape(-1, 1) if ds.kind == "regression"
                          else aligned_proba(fitted, X, labels))
        return cache[key]

    def first_split(c):
        """``c`` with the out-of-fold predictions of the first split's fold models (every row once)."""
        from types import SimpleNamespace

        key = f"first:{c.source}"
        if key not in cache:
            task, out = ctx.cvx.task, None
            for i, (tr, te) in enumerate(task.folds[:ctx.cvx.plan.n_folds]):
                fitted = ctx.lrn.fit(task.X.iloc[tr], task.y.iloc[tr], c.params, ds.kind, random_state=ctx.seed + i)
                X = task.X.iloc[te]
                pred = (np.asarray(fitted.predict(X), float).reshape(-1, 1) if ds.kind == "regression"
                        else aligned_proba(fitted, X, labels))
                out = np.zeros((len(task.y), pred.shape[1])) if out is None else out
                out[te] = pred
            cache[key] = out
        return SimpleNamespace(**{**vars(c), "pred": cache[key][c.rows]})

    rows = []
    for n in CHECKPOINTS:
        cands = gather_candidates(_Prefix(study, n), store, ctx.learner, ctx.default, ctx.maximize)
        rows_ = cands[0].rows
        cands = [c for c in cands if np.array_equal(c.rows, rows_)]
        pos = [np.searchsorted(rows_, te) for te in folds]
        y = ctx.cvx.y_codes[rows_]
        rows.append({"dataset": sp["name"], "trials": n, "rule": "single",
                     "score": _score(sp, ds, test_pred(cands[0]), labels), "members": 1})
        for rule in rules:
            pool = cands
            if rule.endswith("-first"):
                if ctx.cvx.plan.repeats < 2:
                    continue
                pool = [first_split(c) for c in cands]
            weights = _rule(rule, pool, y, ds.kind, ctx.metric, pos)
            if not _beats_single(pool, weights, y, ds.kind, ctx.metric, pos):
                weights = {0: 1.0}
            blend = sum(w * test_pred(cands[i]) for i, w in weights.items())
            rows.append({"dataset": sp["name"], "trials": n, "rule": rule,
                         "score": _score(sp, ds, blend, labels), "members": len(weights)})
    if len(cache) > n_cached:
        np.savez_compressed(cache_file, **cache)
    return rows


def report(df: pd.DataFrame) -> str:
    mean = df.pivot_table(index="rule", columns="trials", values="score", aggfunc="mean")
    piv = df.pivot_table(index=["dataset", "trials"], columns="rule", values="score")
    out = mean.copy()
    for s in mean.index:
        d = (piv[s] - piv["single"]).xs(25, level="trials")
        out.loc[s, "W/T/L vs single @25"] = f"{(d >= 1e-4).sum()}/{(d.abs() < 1e-4).sum()}/{(d <= -1e-4).sum()}"
        out.loc[s, "grows 10->25->50"] = "yes" if mean.loc[s, 25] >= mean.loc[s, 10] and \
            mean.loc[s, 50] >= mean.loc[s, 25] else "no"
    return (f"{df['dataset'].nunique()} datasets; mean test score by trials:\n"
            + out.to_string(float_format=lambda v: f"{v:.4f}"))


def main(argv=None) -> int:
    warnings.filterwarnings("ignore")
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    studies_arguments(ap)
    ap.add_argument("--rules", default=",".join(RULES))
    ap.add_argument("--pred-cache", type=Path, default=REPO / "benchmarks" / "results" / "selection_preds")
    ap.add_argument("--csv", help="write the per-dataset scores here")
    a = ap.parse_args(argv)
    a.pred_cache.mkdir(parents=True, exist_ok=True)
    rows, seen = [], set()
    for sp, study, ds in metaopt_studies(a.studies, a.split_dir):
        if sp["name"] in seen:  # a second LightGBM study of the dataset (a one-learner ``auto`` run): the first
            continue            # by path, always the same one, so that the cached predictions stay its own
        seen.add(sp["name"])
        rows += evaluate(sp, study, ds, a.rules.split(","), a.pred_cache)
        print(f"  {sp['name']}", flush=True)
    df = pd.DataFrame(rows)
    if a.csv:
        df.to_csv(a.csv, index=False)
    print(report(df))
    return 0


if __name__ == "__main__":
    sys.exit(main())
