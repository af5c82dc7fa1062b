"""What-if for issue #11: keep the ensemble only where a cross-validated selection says that blending helps.

``tune`` keeps the greedy blend wherever its score on the out-of-fold predictions beats the best single
candidate's, but the blend was *fitted* to those rows (25 rounds of selection), so its gain there is biased
upwards, most on small tables.  The guard measured here estimates the gain out of sample: for each test fold,
the shipped selection (``select``: 25 rounds from the 5 best, falling back to the best candidate where no
blend beats it) and the best single candidate are chosen on the *other* folds' rows and both are scored on
this fold; the mean paired difference over the folds is the cross-validated gain of blending.  Where it is
not positive the guarded model is the best single configuration, seed-bagged as ``tune``'s fallback is.

Reads the per-table rows of ``report_lgbm_refit.py --rows`` (the shipped model: ``ens_cv_bag``; the best
single trial: ``single_cv``, both refitted the shipped way) and re-selects on the same studies; only the
guarded fallbacks are refitted (3 seeds, the folds' mean rounds for LightGBM).

    python benchmarks/report_ensemble_cv_guard.py --trials 25 --searcher lgbm \
        --cache benchmarks/results/ens_lgbm_validation.jsonl --studies "/tmp/bench-ensval-*/study.db" \
        --rows benchmarks/results/refit_rounds_lgbm_validation25.csv
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_ensemble import _score  # noqa: E402
from report_lgbm_refit import _cv_rounds  # noqa: E402
from report_seed_bagging import _studies, compare, rescoring_arguments, selection_at, shard_records  # noqa: E402


def cv_gain(cands: list, y_codes: np.ndarray, kind: str, metric: str, folds: list[np.ndarray]) -> float:
    """Mean over the test folds of (blend - best single) on that fold, both chosen on the other folds."""
    from metaopt.core import GREATER_IS_BETTER
    from metaopt.tuning._ensemble import ENSEMBLE_INIT
    from metaopt.tuning._ensemble._build import _fold_positions
    from metaopt.tuning._ensemble._scores import fold_mean_scores
    from metaopt.tuning._ensemble._selection import greedy_selection

    rows = cands[0].rows
    same = [c for c in cands if len(c.rows) == len(rows) and np.array_equal(c.rows, rows)]
    yt, pos = y_codes[rows], _fold_positions(rows, folds)
    P = np.stack([np.asarray(c.pred, dtype="float64").reshape(len(yt), -1) for c in same])
    sign = 1.0 if GREATER_IS_BETTER[metric] else -1.0
    gains = []
    for k in range(len(pos)):
        inner = [p for j, p in enumerate(pos) if j != k]
        singles = np.nan_to_num(sign * fold_mean_scores(P, yt, kind, metric, inner), nan=-np.inf)
        best = int(np.argmax(singles))
        sel = greedy_selection(list(P), yt, kind, metric, 25, inner, init=ENSEMBLE_INIT)
        blend = P[best] if len(sel.counts) < 2 or sign * sel.score <= singles[best] else \
            sum(w * P[i] for i, w in sel.weights.items())
        on_k = fold_mean_scores(np.stack([blend, P[best]]), yt, kind, metric, [pos[k]])
        if np.all(np.isfinite(on_k)):
            gains.append(sign * (on_k[0] - on_k[1]))
    return float(np.mean(gains)) if gains else float("nan")


def _guard(rec: dict, studies: list, n: int, seeds: int, blended: bool) -> tuple[float, float, float] | None:
    """(cross-validated gain, the shipped selection's in-sample gain, the best single configuration's seed bag
    refitted the shipped way: only where the guard changes the model, else NaN) on one table; None where the
    selection does not reproduce the cache's (another run's studies of the same table)."""
    from metaopt.learners import get_learner
    from metaopt.tuning._ensemble import EnsembleFit, Member

    sp, ds, ctx, cands, members, info = selection_at(rec, studies, n)
    cached = rec["checkpoints"][str(n)]["ensemble"]
    if abs(info["cv_score"] - cached["cv"]) > 1e-9 or abs(info["best_single_score"] - cached["best_single_cv"]) > 1e-9:
        return None
    gain = cv_gain(cands, ctx.cvx.y_codes, ds.kind, ctx.metric, ctx.cvx.test_folds)
    if gain > 0 or not blended:
        return gain, float(info.get("gain", 0.0)), float("nan")
    best, lrn = cands[0], get_learner(cands[0].learner)
    params = dict(best.params)
    if best.learner == "lightgbm" and "n_estimators" not in params:
        params["n_estimators"] = _cv_rounds(lrn, ctx, ds, best.params)
    fits = [lrn.fit(ds.X, ds.y, params, ds.kind, random_state=ctx.seed + s) for s in range(seeds if lrn.seeded else 1)]
    classes = None if ds.kind == "regression" else ctx.cvx.task.labels
    bag = EnsembleFit(kind=ds.kind, classes_=classes, mode="refit",
                      members=[Member(fits, 1.0, best.source, best.learner, best.params, best.cv_score)])
    return gain, float(info.get("gain", 0.0)), _score(sp, bag, ds)


def main(argv: list[str] | None = None) -> int:
    warnings.filterwarnings("ignore")
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    rescoring_arguments(ap, "auto")
    ap.add_argument("--rows", required=True, help="report_lgbm_refit.py's per-table rows at the same --trials")
    ap.add_argument("--out", help="write the per-table rows with the guard's columns to this CSV")
    args = ap.parse_args(argv)
    scored = pd.read_csv(args.rows).set_index("dataset")
    out = []
    for rec in shard_records(args.cache, args.searcher):
        if rec["dataset"] not in scored.index:
            continue
        row = scored.loc[rec["dataset"]].to_dict()
        blended = row["members"] >= 2
        res = next((r for st in _studies(rec, args.studies)
                    if (r := _guard(rec, st, args.trials, args.seeds, blended))), None)
        if res is None:
            print(f"  {rec['dataset']}: not found", file=sys.stderr, flush=True)
            continue
        gain, in_sample, fallback = res
        guarded = row["ens_cv_bag"] if gain > 0 or not blended else fallback
        out.append(dict(row, dataset=rec["dataset"], in_sample_gain=in_sample, cv_gain=gain, single_bag=fallback,
                        guarded=guarded))
        print(f"  {rec['dataset']}: cv gain {gain:+.5f} (in sample {in_sample:+.5f})", file=sys.stderr, flush=True)
    df = pd.DataFrame(out)
    if args.out:
        df.to_csv(args.out, index=False)
    print(f"{len(df)} tables, {args.trials} trials; the guard falls back on "
          f"{int(((df['cv_gain'] <= 0) & (df['members'] >= 2)).sum())} where the shipped rule blends")
    for a, base in (("ens_cv_bag", "single_cv"), ("guarded", "single_cv"), ("guarded", "ens_cv_bag")):
        print(compare(df, a, base, f"{a:>10} vs {base:<10}"))
    cols = ["dataset", "members", "in_sample_gain", "cv_gain", "single_cv", "single_bag", "ens_cv_bag", "guarded"]
    print(df[cols].round(5).to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
