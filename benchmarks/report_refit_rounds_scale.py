"""What-if for issue #11: should the final refit of a LightGBM configuration grow its rounds with the rows?

``tune`` refits a LightGBM configuration on all rows for the mean best iteration of the search's folds
(``docs/tuning.md``, "Refit rounds").  Those folds' fits trained on a training fold less its early-stopping
split (about 64 % of the rows with 5 folds on a small table), and more rows usually want more rounds before
the validation loss turns.  This script re-scores `bench_ensemble.py`'s studies at a checkpoint with the
rounds multiplied by ``(rows of the refit / rows of a fold's fit) ** p`` for each ``--powers`` p (0: the
shipped rule; 1: proportional to the rows), for the best single configuration (one seed) and the shipped
ensemble (seed bags of ``--seeds``), and prints wins/ties/losses against p = 0 and the means.  A study is
accepted where its selection reproduces the cache's (the ensemble's and the best single candidate's CV).

    python benchmarks/report_refit_rounds_scale.py --trials 25 --searcher lgbm \
        --cache benchmarks/results/ens_lgbm_validation.jsonl --studies "/tmp/bench-ensval-*/study.db"
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_ensemble import _score  # noqa: E402
from report_lgbm_refit import _cv_rounds  # noqa: E402
from report_seed_bagging import (_studies, compare, rescoring_arguments, selection_at,  # noqa: E402
                                 shard_records, wtl)


def fit_rows(n_rows: int, cv: int) -> int:
    """Rows a fold's early-stopped fit trained on: the largest training fold less its early-stopping split."""
    from metaopt.learners._base import holdout_fraction, training_rows

    n_fit = training_rows(n_rows, cv)
    return n_fit - max(1, int(round(holdout_fraction(n_fit) * n_fit)))


def _row(rec: dict, studies: list, n: int, seeds: int, powers: list[float]) -> dict | None:
    from metaopt.learners import get_learner
    from metaopt.tuning._ensemble import EnsembleFit, Member

    sp, ds, ctx, cands, members, info = selection_at(rec, studies, n)
    cached = rec["checkpoints"][str(n)]["ensemble"]
    if abs(info["cv_score"] - cached["cv"]) > 1e-9 or abs(info["best_single_score"] - cached["best_single_cv"]) > 1e-9:
        return None  # another run's studies of the same table
    if len(members) < 2 or not info.get("gain", 0) > 0:
        members = [(cands[0], 1.0)]
    ratio = ds.n_rows / fit_rows(ds.n_rows, ctx.cvx.n_folds)
    rounds: dict = {}
    fits: dict = {}

    def refit(c, s: int, p: float):  # the other learners' refits do not depend on p (one fit, cached)
        lrn, params = get_learner(c.learner), dict(c.params)
        if c.learner == "lightgbm" and "n_estimators" not in params:
            if c.source not in rounds:
                rounds[c.source] = _cv_rounds(lrn, ctx, ds, c.params)
            params["n_estimators"] = max(1, int(round(rounds[c.source] * ratio ** p)))
        key = (c.learner, str(c.source), s, params.get("n_estimators"))
        if key not in fits:
            fits[key] = lrn.fit(ds.X, ds.y, params, ds.kind, random_state=ctx.seed + s)
        return fits[key]

    classes = None if ds.kind == "regression" else ctx.cvx.task.labels

    def score(mem, k: int, p: float) -> float:
        return _score(sp, EnsembleFit(kind=ds.kind, classes_=classes, mode="refit", members=[
            Member([refit(c, s, p) for s in range(k)], w, c.source, c.learner, c.params, c.cv_score)
            for c, w in mem]), ds)

    row = {"dataset": rec["dataset"], "rows": ds.n_rows, "ratio": round(ratio, 3), "members": len(members)}
    for p in powers:
        row[f"single_p{p:g}"] = score([(cands[0], 1.0)], 1, p)
        row[f"ens_p{p:g}"] = score(members, seeds, p)
    return row


def main(argv: list[str] | None = None) -> int:
    warnings.filterwarnings("ignore")
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    rescoring_arguments(ap, "lgbm")
    ap.add_argument("--powers", default="0,0.5,1", help="exponents p of the rows ratio; the first is the baseline")
    ap.add_argument("--shard", default="0/1", help="i/n: every n-th table from the i-th (one process a core)")
    ap.add_argument("--rows", help="write the per-table scores to this CSV")
    args = ap.parse_args(argv)
    powers = [float(p) for p in args.powers.split(",")]
    rows = []
    for rec in shard_records(args.cache, args.searcher, args.shard):
        row = next((r for st in _studies(rec, args.studies) if (r := _row(rec, st, args.trials, args.seeds, powers))),
                   None)
        print(f"  {rec['dataset']}: {'not found' if row is None else 'ok'}", file=sys.stderr, flush=True)
        rows += [row] if row else []
    df = pd.DataFrame(rows)
    if args.rows:
        df.assign(trials=args.trials, seeds=args.seeds).to_csv(args.rows, index=False)
    report(df, powers, args.trials)
    return 0


def report(df: pd.DataFrame, powers: list[float], trials: int) -> None:
    print(f"{len(df)} tables, {trials} trials")
    base = f"{powers[0]:g}"
    for p in (f"{q:g}" for q in powers):
        for model in ("single", "ens"):
            print(compare(df, f"{model}_p{p}", f"{model}_p{base}", f"p={p:>4} {model:>6} vs p={base}"))
        print(f"p={p:>4} ensemble vs single: {wtl(df[f'ens_p{p}'] - df[f'single_p{p}'])}")
    print(df.round(4).to_string(index=False))


if __name__ == "__main__":
    sys.exit(main())
