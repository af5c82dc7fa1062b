"""What-if for issue #11: the greedy selection's initial blend holds each competitive learner's best candidate.

The selection starts from the 5 best candidates by CV, each once (``ENSEMBLE_INIT``, Caruana's sorted
initialization).  With ``learner="auto"`` one learner gets most trials, and as the search goes on its near-copies
fill those 5 places (Ozone at 50 trials: five LightGBM trials, where the 25-trial blend held extra trees too):
the start loses the diversity that the candidate pool's reserve (``PER_LEARNER``) keeps.  The variant: every
learner with a candidate among the best ``2 x ENSEMBLE_INIT`` puts its best one into the start, in place of the
lowest-ranked candidate of the learner that holds most places there.

Re-scores `bench_ensemble.py`'s ``learner="auto"`` studies at each of ``--trials-list`` with the shipped final
model (LightGBM refitted for its folds' mean rounds, ``--seeds`` fits a member) and prints, per checkpoint, the
variant's ensemble against the shipped one and against the best single trial, and the change between
checkpoints.  Tables where both starts are the same share their score (no second refit).

    python benchmarks/report_diverse_init.py --cache benchmarks/results/ens_auto_validation.jsonl \\
        --studies "/tmp/bench-ensval-*/study.db" --rows v.csv      # the validation tables; --shard i/2 per core
    python benchmarks/report_diverse_init.py --cache benchmarks/results/ens_auto_holdout.jsonl --rows h.csv \\
        --skip-same                                                # the hold-out tables: refits where it differs
    python benchmarks/report_diverse_init.py --cache benchmarks/results/ens_auto_holdout.jsonl --rows h.csv \\
        --report-only --shipped 25=benchmarks/results/refit_rounds_auto_holdout25.csv \\
        --shipped 50=benchmarks/results/candidate_pool_auto_holdout50.csv           # with the shipped rows' scores
    python benchmarks/report_diverse_init.py --cache benchmarks/results/ens_auto_validation.jsonl --rows v.csv \\
        --report-only                                              # the tables again from the rows
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections import Counter
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_ensemble import _score  # noqa: E402
from report_lgbm_refit import ensemble_scorer, refit_on_all_rows  # noqa: E402
from report_seed_bagging import _studies, candidates_at, compare, rescoring_arguments, shard_records  # noqa: E402


def diverse_start(pool: list, init: int) -> list[int]:
    """Positions (into ``pool``, best first) of the initial blend: the ``init`` best, with the best candidate of
    every learner that has one among the best ``2 * init`` swapped in for the most crowded learner's last."""
    start = list(range(min(init, len(pool))))
    for i, c in enumerate(pool[:2 * init]):
        if c.learner in {pool[j].learner for j in start}:
            continue
        crowded = Counter(pool[j].learner for j in start).most_common(1)[0][0]
        victim = max(j for j in start if pool[j].learner == crowded)
        if Counter(pool[j].learner for j in start)[crowded] < 2:
            break  # every place already holds another learner's best
        start[start.index(victim)] = i
    return sorted(start)


def _selection(pool: list, ctx, ds, diverse: bool):
    """``select``'s members, from the shipped start or (``diverse``) the variant's, and whether the start differs.

    The start is built on the order the selection itself ranks the candidates in (their out-of-fold
    predictions' CV score), which can differ from the trials' values among near-ties."""
    import numpy as np

    from metaopt.tuning._ensemble import ENSEMBLE_INIT, greedy_selection
    from metaopt.tuning._ensemble._build import _fold_positions
    from metaopt.tuning._ensemble._scores import fold_mean_scores

    rows = pool[0].rows
    same = [c for c in pool if len(c.rows) == len(rows) and (c.rows == rows).all()]
    yt, folds = ctx.cvx.y_codes[rows], _fold_positions(rows, ctx.cvx.test_folds)
    P = np.stack([np.asarray(c.pred, dtype="float64").reshape(len(rows), -1) for c in same])
    singles = np.nan_to_num(fold_mean_scores(P, yt, ds.kind, ctx.metric, folds) * (1 if ctx.maximize else -1),
                            nan=-np.inf)
    order = [int(i) for i in np.argsort(-singles, kind="stable")]
    start = [order[j] for j in diverse_start([same[i] for i in order], ENSEMBLE_INIT)]
    changed = sorted(start) != sorted(order[:ENSEMBLE_INIT])
    sel = greedy_selection([c.pred for c in same], yt, ds.kind, ctx.metric, 25, folds, init=ENSEMBLE_INIT,
                           start=start if diverse and changed else None)
    gain = (sel.score - sel.trace[0]) * (1 if ctx.maximize else -1)
    members = sorted(((same[i], w) for i, w in sel.weights.items()), key=lambda m: -m[1])
    if len(members) < 2 or not gain > 0:  # tune's fallback: the best single one's bag
        members = [(pool[0], 1.0)]
    return members, changed


def _rows(rec: dict, studies: list, trials: list[int], seeds: int, skip_same: bool) -> list[dict] | None:
    from metaopt.tuning._ensemble import candidate_pool

    out = []
    for n in trials:
        sp, ds, ctx, every = candidates_at(rec, studies, n)
        fits: dict = {}
        score = ensemble_scorer(sp, ds, ctx, fits)

        pool = candidate_pool(every, ctx.maximize)
        if not out and abs(_score(sp, refit_on_all_rows(fits, ds, ctx, pool[0], 0, False), ds)
                           - rec["checkpoints"][str(n)]["single"]["score"]) > 1e-9:
            return None  # another run's studies of the same table
        (shipped, changed), (diverse, _) = _selection(pool, ctx, ds, False), _selection(pool, ctx, ds, True)
        same = [(c.source, w) for c, w in shipped] == [(c.source, w) for c, w in diverse]
        if same and skip_same:  # the variant changes nothing here: no refits (the shipped rows have the scores)
            ens = single = float("nan")
        else:
            ens, single = score(shipped, seeds), score([(pool[0], 1.0)], 1)
        out.append({"dataset": rec["dataset"], "trials": n, "shipped": ens,
                    "diverse": ens if same else score(diverse, seeds), "single": single,
                    "start_changed": changed, "same": same,
                    "shipped_learners": ",".join(sorted({c.learner for c, _ in shipped})),
                    "diverse_learners": ",".join(sorted({c.learner for c, _ in diverse}))})
    return out


def shipped_scores(spec: str) -> pd.DataFrame:
    """``N=FILE``: the shipped final model's re-scored rows at N trials (``report_lgbm_refit.py --rows``: the
    rounds refit's columns, or ``report_candidate_pool.py --rows``: the shipped reserve, ``PER_LEARNER``) as
    (dataset, trials, shipped, single)."""
    from metaopt.tuning._ensemble import PER_LEARNER

    n, path = spec.split("=", 1)
    df = pd.read_csv(path)
    if "quota" in df.columns:
        df = df[df["quota"] == PER_LEARNER].rename(columns={"ensemble": "shipped"})
    else:
        df = df.drop(columns="single").rename(columns={"ens_cv_bag": "shipped", "single_cv": "single"})
    return df.assign(trials=int(n))[["dataset", "trials", "shipped", "single"]]


def fill_skipped(df: pd.DataFrame, specs: list[str]) -> pd.DataFrame:
    """Rows ``--skip-same`` left empty get the shipped re-scoring's scores (both starts select the same there)."""
    known = pd.concat([shipped_scores(s) for s in specs]).set_index(["dataset", "trials"])
    df = df.set_index(["dataset", "trials"])
    empty = df["shipped"].isna() & df["same"].astype(bool)
    for col in ("shipped", "single"):
        df.loc[empty, col] = known[col].reindex(df.index[empty]).to_numpy()
    df.loc[empty, "diverse"] = df.loc[empty, "shipped"]
    return df.reset_index()


def report(df: pd.DataFrame) -> None:
    """Per checkpoint: the variant against the shipped start and the best single trial; then the change from
    each checkpoint to the next, both starts."""
    df = df.astype({"trials": int})
    trials = sorted(set(df["trials"]))
    for n in trials:
        wide = df[df["trials"] == n].set_index("dataset")
        print(f"{n} trials, {len(wide)} tables; start changed on {int(wide['start_changed'].sum())}, "
              f"ensemble changed on {int((~wide['same'].astype(bool)).sum())}")
        for a, b in (("diverse", "shipped"), ("diverse", "single"), ("shipped", "single")):
            print("  " + compare(wide, a, b, f"{a} vs {b}"))
    for n0, n1 in zip(trials, trials[1:]):
        a, b = (df[df["trials"] == n].set_index("dataset") for n in (n0, n1))
        for col in ("shipped", "diverse"):
            both = pd.DataFrame({"after": b[col], "before": a[col]}).dropna()
            print(compare(both, "after", "before", f"{col}: {n1} vs {n0} trials (up/equal/down)"))


def main(argv: list[str] | None = None) -> int:
    warnings.filterwarnings("ignore")
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    rescoring_arguments(ap, "auto")
    ap.add_argument("--trials-list", default="25,50", help="checkpoints, comma-separated")
    ap.add_argument("--rows", help="append the per-table rows to this CSV; tables already there are read")
    ap.add_argument("--shard", default="0/1", help="i/n: every n-th table from the i-th (one process a core)")
    ap.add_argument("--skip-same", action="store_true", help="refit nothing where both starts select the same "
                    "ensemble (its scores are left empty; the shipped re-scoring rows have them)")
    ap.add_argument("--shipped", action="append", default=[], metavar="N=FILE",
                    help="the shipped re-scoring's rows at N trials, for the rows --skip-same left empty")
    ap.add_argument("--report-only", action="store_true", help="print the tables of --rows, fit nothing")
    args = ap.parse_args(argv)
    trials = [int(t) for t in args.trials_list.split(",")]
    done = pd.read_csv(args.rows) if args.rows and Path(args.rows).is_file() else pd.DataFrame(columns=["dataset"])
    for rec in [] if args.report_only else shard_records(args.cache, args.searcher, args.shard):
        if rec["dataset"] in set(done["dataset"]):
            continue
        rows = next((r for st in _studies(rec, args.studies) if (r := _rows(rec, st, trials, args.seeds,
                                                                                   args.skip_same))), None)
        print(f"  {rec['dataset']}: {'not found' if rows is None else 'ok'}", file=sys.stderr, flush=True)
        if rows and args.rows:
            pd.DataFrame(rows).to_csv(args.rows, mode="a", header=not Path(args.rows).is_file(), index=False)
        done = pd.concat([done, pd.DataFrame(rows or [])])
    report(fill_skipped(done, args.shipped) if args.shipped else done)
    return 0


if __name__ == "__main__":
    sys.exit(main())
