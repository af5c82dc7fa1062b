"""What-if for issue #11: how should the final model refit a LightGBM configuration that the search fitted
with early stopping?

``tune`` refits each ensemble member (and the single best configuration) on all rows with early stopping on
an inner split of those rows, and since the twenty-eighth session averages 3 such fits with different seeds.
For LightGBM every seed redraws the inner split, so a "seed bag" is also a bag over 80-90 % subsamples, and
each fit trains on fewer rows than the table has.  The alternative measured here is AutoGluon's ``refit_full``
rule: fit on *all* rows for the mean number of rounds that early stopping chose on the search's folds
(``cv rounds``), with 1 or 3 seeds.

Re-scores `bench_ensemble.py`'s LightGBM-only studies (``--searcher lgbm`` rows of ``--cache``), or its
``learner="auto"`` studies (``--searcher auto``: only the LightGBM members change) at a checkpoint; a study is
accepted where the single refit and the ensemble (seed-bagged, or one refit per member in caches from before
the seed bags) reproduce the cache's; the single alone where the candidate pool's per-learner reserve (shipped
after the caches) changed the pool.  Prints wins/ties/losses of each variant against the best single trial and
against the shipped ensemble, and the mean test scores.

    python benchmarks/report_lgbm_refit.py --trials 25 --cache benchmarks/results/ens_lgbm_validation.jsonl \
        --studies "/tmp/bench-ensval-*/study.db"
    python benchmarks/report_lgbm_refit.py --trials 25 --cache benchmarks/results/ens_lgbm_seedbag.jsonl
    python benchmarks/report_lgbm_refit.py --trials 25 --cache benchmarks/results/ens_auto_holdout.jsonl --searcher auto
    # two processes, one a core, each writing its tables' rows:
    python benchmarks/report_lgbm_refit.py --trials 50 --searcher auto --cache ... --shard 0/2 --rows s0.csv &
    python benchmarks/report_lgbm_refit.py --trials 50 --searcher auto --cache ... --shard 1/2 --rows s1.csv
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
from report_seed_bagging import _studies, compare, rescoring_arguments, selection_at, shard_records  # noqa: E402

VARIANTS = ("single", "single_cv", "ens_1", "ens_bag", "ens_cv_1", "ens_cv_bag")


def _cv_rounds(lrn, ctx, ds, params: dict) -> int:
    """The mean best iteration of early stopping over the search's folds (AutoGluon's refit_full)."""
    task = ctx.cvx.task
    used = [lrn.fit(task.X.iloc[tr], task.y.iloc[tr], params, ds.kind, random_state=ctx.seed + i).n_estimators_used
            for i, (tr, _) in enumerate(task.folds[:ctx.cvx.n_folds])]
    return max(1, int(round(float(np.mean(used)))))


def refit_on_all_rows(fits: dict, ds, ctx, c, s: int, cv: bool):
    """Candidate ``c`` fitted on all rows with seed ``ctx.seed + s``, kept in ``fits``; ``cv``: LightGBM for its
    folds' mean rounds (the shipped refit), else early-stopped as before (the other learners' refits do not
    change)."""
    from metaopt.learners import get_learner

    cv = cv and c.learner == "lightgbm"
    key = (c.learner, str(c.source), s, cv)
    if key not in fits:
        lrn, params = get_learner(c.learner), dict(c.params)
        if cv and "n_estimators" not in params:
            params["n_estimators"] = _cv_rounds(lrn, ctx, ds, c.params)
        fits[key] = lrn.fit(ds.X, ds.y, params, ds.kind, random_state=ctx.seed + s)
    return fits[key]


def ensemble_scorer(sp, ds, ctx, fits: dict):
    """``score(members, k, cv=True)``: the test score of ``[(candidate, weight)]`` with every member refitted on
    all rows as a bag of ``k`` seeds (``cv``: the shipped refit, see :func:`refit_on_all_rows`; fits kept in
    ``fits``)."""
    from metaopt.tuning._ensemble import EnsembleFit, Member

    classes = None if ds.kind == "regression" else ctx.cvx.task.labels

    def score(mem, k: int, cv: bool = True) -> float:
        return _score(sp, EnsembleFit(kind=ds.kind, classes_=classes, mode="refit", members=[
            Member([refit_on_all_rows(fits, ds, ctx, c, s, cv) for s in range(k)], w, c.source, c.learner,
                   c.params, c.cv_score) for c, w in mem]), ds)

    return score


def _row(rec: dict, studies: list, n: int, seeds: int) -> dict | None:
    sp, ds, ctx, cands, members, info = selection_at(rec, studies, n)
    if len(members) < 2 or not info.get("gain", 0) > 0:
        members = [(cands[0], 1.0)]
    fits: dict = {}
    score = ensemble_scorer(sp, ds, ctx, fits)
    cached = rec["checkpoints"][str(n)]
    row = {"dataset": rec["dataset"], "members": len(members),
           "single": _score(sp, refit_on_all_rows(fits, ds, ctx, cands[0], 0, False), ds),
           "ens_bag": score(members, seeds, False), "ens_1": score(members, 1, False)}
    if abs(row["single"] - cached["single"]["score"]) > 1e-9 or not info["reserve_changed_pool"] and min(
            abs(row[k] - cached["ensemble"]["score"]) for k in ("ens_bag", "ens_1")) > 1e-9:
        return None  # another run's studies of the same table
    return dict(row, single_cv=score([(cands[0], 1.0)], 1), ens_cv_1=score(members, 1),
                ens_cv_bag=score(members, seeds))


def main(argv: list[str] | None = None) -> int:
    warnings.filterwarnings("ignore")
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    rescoring_arguments(ap, "lgbm")
    ap.add_argument("--rows", help="write the per-table scores to this CSV")
    ap.add_argument("--shard", default="0/1", help="i/n: every n-th table from the i-th (one process a core)")
    args = ap.parse_args(argv)
    rows = []
    for rec in shard_records(args.cache, args.searcher, args.shard):
        row = next((r for st in _studies(rec, args.studies) if (r := _row(rec, st, args.trials, args.seeds))), None)
        print(f"  {rec['dataset']}: {'not found' if row is None else 'ok'}", file=sys.stderr, flush=True)
        rows += [row] if row else []
    df = pd.DataFrame(rows)
    if args.rows:
        df.assign(trials=args.trials, seeds=args.seeds).to_csv(args.rows, index=False)
    print(f"{len(df)} tables, {args.trials} trials, {args.seeds} seeds per bag")
    pairs = [(a, base) for base in ("single", "ens_bag") for a in VARIANTS if a != base]
    pairs += [("ens_cv_bag", "single_cv"), ("ens_cv_1", "single_cv"), ("ens_cv_bag", "ens_cv_1")]
    for a, base in pairs:
        print(compare(df, a, base, f"{a:>11} vs {base:<9}"))
    print(df.round(4).to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
