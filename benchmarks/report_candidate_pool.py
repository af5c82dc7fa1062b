"""What-if for issue #11: each learner's best trials reserved in the ensemble's candidate pool.

``tune`` selects the ensemble from the best 40 candidates by CV (``MAX_CANDIDATES``).  With
``learner="auto"`` one learner usually gets most of the trials, and by 50 trials its own trials fill the 40
places: the other learners' few trials drop out of the pool, and the ensembles that mixed learners at 25
trials are single-learner blends at 50.  ``candidate_pool(..., per_learner=k)`` keeps each learner's best k
in the pool in any case.  Below 40 trials the pool holds every trial, so only the 50-trial checkpoint can
change.

Re-scores `bench_ensemble.py`'s ``learner="auto"`` studies at ``--trials`` for each ``--quotas`` value (0: the
pool before the reserve), with the shipped final model: LightGBM refitted on all rows for its folds' mean
rounds, every member a bag of ``--seeds`` fits.  A study is accepted where the best single configuration's
early-stopped refit reproduces the cache's.  Prints, per quota, the mean test score and wins/ties/losses
against quota 0 and against the best single trial (refitted the same way).

    python benchmarks/report_candidate_pool.py --cache benchmarks/results/ens_auto_validation.jsonl \
        --studies "/tmp/bench-ensval-*/study.db" --rows v.csv                      # the validation tables
    python benchmarks/report_candidate_pool.py --cache benchmarks/results/ens_auto_holdout.jsonl --rows h.csv
    # two processes, one a core: --shard 0/2 and --shard 1/2, each with its own --rows
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_ensemble import _score  # noqa: E402
from report_lgbm_refit import ensemble_scorer, refit_on_all_rows  # noqa: E402
from report_seed_bagging import _studies, candidates_at, compare, rescoring_arguments, shard_records  # noqa: E402


def _rows(rec: dict, studies: list, n: int, seeds: int, quotas: list[int]) -> list[dict] | None:
    """One row per quota: the ensemble's and the best single configuration's test scores."""
    from metaopt.tuning._ensemble import candidate_pool, select

    sp, ds, ctx, every = candidates_at(rec, studies, n)
    fits: dict = {}
    score = ensemble_scorer(sp, ds, ctx, fits)

    out = []
    for q in quotas:
        cands = candidate_pool(every, ctx.maximize, q)
        if not out and abs(_score(sp, refit_on_all_rows(fits, ds, ctx, cands[0], 0, False), ds)
                           - rec["checkpoints"][str(n)]["single"]["score"]) > 1e-9:
            return None  # another run's studies of the same table
        members, info = select(cands, ctx.cvx.y_codes, ds.kind, ctx.metric, 25, ctx.cvx.test_folds)
        if len(members) < 2 or not info.get("gain", 0) > 0:  # tune's fallback: the best single one's bag
            members = [(cands[0], 1.0)]
        out.append({"dataset": rec["dataset"], "quota": q, "ensemble": score(members, seeds),
                    "single": score([(cands[0], 1.0)], 1), "members": len(members),
                    "member_learners": ",".join(sorted({c.learner for c, _ in members})),
                    "pool_learners": ",".join(sorted({c.learner for c in cands})), "pool": len(cands),
                    "cv": info.get("cv_score")})
    return out


def main(argv: list[str] | None = None) -> int:
    warnings.filterwarnings("ignore")
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    rescoring_arguments(ap, "auto")
    ap.set_defaults(trials=50)
    ap.add_argument("--quotas", default="0,3,5,10", help="each learner's reserve in the pool, comma-separated")
    ap.add_argument("--rows", help="append the per-table rows to this CSV; tables already there are read")
    ap.add_argument("--shard", default="0/1", help="i/n: every n-th table from the i-th (one process a core)")
    ap.add_argument("--before", help="report_lgbm_refit.py's rows (--rows) of the same studies at an earlier "
                                     "checkpoint: prints each quota's change from there (its ens_cv_bag)")
    args = ap.parse_args(argv)
    quotas = [int(q) for q in args.quotas.split(",")]
    done = pd.read_csv(args.rows) if args.rows and Path(args.rows).is_file() else pd.DataFrame(columns=["dataset"])
    for rec in shard_records(args.cache, args.searcher, args.shard):
        if rec["dataset"] in set(done["dataset"]):
            continue
        rows = next((r for st in _studies(rec, args.studies) if (r := _rows(rec, st, args.trials, args.seeds,
                                                                          quotas))), None)
        print(f"  {rec['dataset']}: {'not found' if rows is None else 'ok'}", file=sys.stderr, flush=True)
        if rows and args.rows:
            pd.DataFrame(rows).to_csv(args.rows, mode="a", header=not Path(args.rows).is_file(), index=False)
        done = pd.concat([done, pd.DataFrame(rows or [])])
    report(done, quotas, args.trials, pd.read_csv(args.before) if args.before else None)
    return 0


def report(df: pd.DataFrame, quotas: list[int], trials: int, before: pd.DataFrame | None = None) -> None:
    """Per quota: its ensemble against quota 0's and against the best single trial, how many blends mix
    learners, and (``before``) the change from the earlier checkpoint's shipped ensemble."""
    df = df.astype({"quota": int, "members": int, "pool": int})
    wide = df.pivot_table(index="dataset", columns="quota", values="ensemble")
    wide["single"] = df[df["quota"] == quotas[0]].set_index("dataset")["single"]
    print(f"{len(wide)} tables, {trials} trials")
    for q in quotas:
        mixed = df[(df["quota"] == q) & df["member_learners"].str.contains(",")]
        print(compare(wide, q, "single", f"quota {q:>2}: ensemble vs single") + f"; blends mixing learners: "
              f"{len(mixed)}")
        if q != quotas[0]:
            print(compare(wide, q, quotas[0], f"quota {q:>2} vs quota {quotas[0]}"))
    if before is not None:
        wide["before"] = before.set_index("dataset")["ens_cv_bag"]
        both = wide.dropna(subset=["before"])
        for q in quotas:
            print(compare(both, q, "before", f"quota {q:>2}: {trials} trials vs {before['trials'].iloc[0]} "
                                             f"({len(both)} tables; up/equal/down)"))
    print(df.round(4).to_string(index=False))


if __name__ == "__main__":
    sys.exit(main())
