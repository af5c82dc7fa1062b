"""What-if for issue #11: each refit of the final model averaged over several seeds (a seed bag).

The selection scores each trial on out-of-fold predictions averaged over the repeats of the split (on
small data), i.e. on a small bag of models, while the final model refits each member once.  This script
re-scores the `learner="auto"` studies of `bench_ensemble.py` (the 30 hold-out tables; the cache
`benchmarks/results/ens_auto_all_b5dc022.jsonl` names each table's run) at a checkpoint with every refit
(ensemble members and the best single configuration) averaged over `--seeds` seeds, and prints the
wins/ties/losses against the best single trial.  Each table's study folder (`/tmp/bench-ens-*`) is found
by its learners' studies and accepted only where the one-seed scores reproduce the cache's exactly (the single's
alone where the candidate pool's per-learner reserve, shipped after the caches, changed the pool).
The row ``bag at fallback`` is the shipped ensemble where the selection blends, and a seed bag of the best
configuration where no blend beats it on CV (the selection falls back to one configuration).

    python benchmarks/report_seed_bagging.py [--trials 25] [--seeds 3]      # about 12 min on one core
    python benchmarks/report_seed_bagging.py --cache benchmarks/results/ens_auto_validation.jsonl \
        --studies "/tmp/bench-ensval-*/study.db"                            # the validation datasets, 2 min
    python benchmarks/report_seed_bagging.py --searcher lgbm --cache ...    # bench_ensemble's LightGBM studies

``ensemble_bag`` is what ``tune`` ships since the twenty-eighth session (``REFIT_SEEDS`` = 3, no time budget).
"""

from __future__ import annotations

import argparse
import glob
import json
import sys
import tempfile
import warnings
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_ensemble import _context, _first_trials, _score, _Subset  # noqa: E402
from bench_time import REPO  # noqa: E402

CACHE = REPO / "benchmarks" / "results" / "ens_auto_all_b5dc022.jsonl"
SPLITS = Path(tempfile.gettempdir()) / "metaopt_bench_time_splits"  # bench_ensemble.py's default --split-dir


def _studies(rec: dict, pattern: str):
    """Candidate study sets of the run ``rec`` among the benchmark's temporary folders."""
    import optuna

    want = {e["study"]: e["n_trials"] for e in rec["learners"]} if rec["learners"] else {"bench": rec["n_trials"]}
    for db in sorted(glob.glob(pattern)):
        if Path(db).with_name("dataset.txt").read_text().strip() != rec["dataset"]:
            continue
        url = f"sqlite:///{db}"
        if set(optuna.get_all_study_names(url)) != set(want):
            continue
        studies = [optuna.load_study(study_name=s, storage=url) for s in ["bench"] + [s for s in want if s != "bench"]]
        if all(abs(len(st.trials) - want[st.study_name]) <= 1 for st in studies):
            yield studies


def rescoring_arguments(ap: argparse.ArgumentParser, searcher: str, cache: str | None = None) -> None:
    """The arguments the re-scoring reports share: checkpoint, seeds, the benchmark's cache (required where
    ``cache`` is None) and studies, which searcher's runs."""
    ap.add_argument("--trials", type=int, default=25, help="the checkpoint (10, 25 or 50)")
    ap.add_argument("--seeds", type=int, default=3, help="seeds per refit in a seed bag (tune's REFIT_SEEDS)")
    ap.add_argument("--cache", default=cache, required=cache is None, help="bench_ensemble.py's cache of the studies")
    ap.add_argument("--studies", default="/tmp/bench-ens-*/study.db", help="glob of the studies' databases")
    ap.add_argument("--searcher", default=searcher, choices=("auto", "lgbm"), help="the cache's runs to re-score")


def shard_records(cache: str, searcher: str, shard: str = "0/1") -> list[dict]:
    """The cache's runs of ``searcher``; ``shard`` "i/n": every n-th from the i-th (one process a core)."""
    i, n = (int(x) for x in shard.split("/"))
    recs = [json.loads(line) for line in Path(cache).read_text().splitlines()]
    return [r for r in recs if r.get("searcher", "auto") == searcher][i::n]


def compare(df: pd.DataFrame, a: str, b: str, label: str | None = None) -> str:
    """One report line: column ``a`` against column ``b`` of the per-table rows, wins/ties/losses and means."""
    return (f"{label or f'{a} vs {b}'}: {wtl(df[a] - df[b])} (w/t/l), "
            f"mean {df[a].mean():.4f} vs {df[b].mean():.4f}")


def wtl(d: pd.Series) -> str:
    """Wins/ties/losses of score differences ``d`` (ties within 0.0001)."""
    return f"{(d >= 1e-4).sum()}/{(d.abs() < 1e-4).sum()}/{(d <= -1e-4).sum()}"


def candidates_at(rec: dict, studies: list, n: int):
    """(split, training Dataset, study context, every candidate) of the first ``n`` trials of ``studies`` (the
    primary first), before the pool is cut."""
    from metaopt import load_data
    from metaopt.tuning._ensemble import OofStore, gather_candidates

    sp = pd.read_pickle(SPLITS / f"{rec['dataset']}-s{rec.get('split_seed', 0)}.pkl")
    train = sp["Xtr"].copy()
    train[sp["target"]] = sp["ytr"].to_numpy()
    ds = load_data(train, target=sp["target"], kind=sp["kind"], name=rec["dataset"])
    ctx = _context(studies[0], ds)
    store = OofStore.for_storage(studies[0]._storage)
    cands = []
    for i, (st, numbers) in enumerate(zip(studies, _first_trials(studies, n))):
        learner = st.user_attrs["metaopt:tune"]["learner"]
        cands += gather_candidates(_Subset(st, numbers), store, learner, ctx.default if i == 0 else None,
                                   ctx.maximize, label=(lambda k, lr=learner, j=i: k if j == 0 else f"{lr}:{k}"))
    return sp, ds, ctx, cands


def selection_at(rec: dict, studies: list, n: int):
    """(split, training Dataset, study context, candidates best first, selected members, selection info) of the
    ensemble ``tune`` builds from the first ``n`` trials of ``studies`` (the primary first)."""
    from metaopt.tuning._ensemble import candidate_pool, select

    sp, ds, ctx, cands = candidates_at(rec, studies, n)
    pool = candidate_pool(cands, ctx.maximize)
    members, info = select(pool, ctx.cvx.y_codes, ds.kind, ctx.metric, 25, ctx.cvx.test_folds)
    # caches from before the pool's reserve (thirty-first session) hold ensembles of the pool without it
    before = candidate_pool(cands, ctx.maximize, 0)
    info["reserve_changed_pool"] = [c.source for c in pool] != [c.source for c in before]
    return sp, ds, ctx, pool, members, info


def _row(rec: dict, studies: list, n: int, seeds: int) -> dict | None:
    from metaopt.learners import get_learner
    from metaopt.tuning._ensemble import EnsembleFit, Member

    sp, ds, ctx, cands, members, info = selection_at(rec, studies, n)
    fallback = len(members) < 2 or not info.get("gain", 0) > 0
    if fallback:
        members = [(cands[0], 1.0)]
    fits: dict = {}

    def refit(c, s: int):
        key = (c.learner, str(c.source), s)
        if key not in fits:
            fits[key] = get_learner(c.learner).fit(ds.X, ds.y, c.params, ds.kind, random_state=ctx.seed + s)
        return fits[key]

    classes = None if ds.kind == "regression" else ctx.cvx.task.labels

    def model(mem, k: int):
        return EnsembleFit(kind=ds.kind, classes_=classes, mode="refit", members=[
            Member([refit(c, s) for s in range(k)], w, c.source, c.learner, c.params, c.cv_score) for c, w in mem])

    cached = rec["checkpoints"][str(n)]
    single, ensemble = _score(sp, refit(cands[0], 0), ds), _score(sp, model(members, 1), ds)
    if abs(single - cached["single"]["score"]) > 1e-9 or (not info["reserve_changed_pool"]
                                                          and abs(ensemble - cached["ensemble"]["score"]) > 1e-9):
        return None  # another run's studies of the same table
    single_bag = _score(sp, model([(cands[0], 1.0)], seeds), ds)
    return {"dataset": rec["dataset"], "members": len(members), "fallback": fallback, "single": single,
            "ensemble": ensemble, "single_bag": single_bag, "ensemble_bag": _score(sp, model(members, seeds), ds),
            "bag_at_fallback": single_bag if fallback else ensemble}


def main(argv: list[str] | None = None) -> int:
    warnings.filterwarnings("ignore")
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    rescoring_arguments(ap, "auto", str(CACHE))
    ap.add_argument("--rows", help="a CSV of per-table rows: tables already there (same --trials and --seeds) "
                                   "are read instead of re-scored, new ones appended (a run can be resumed)")
    args = ap.parse_args(argv)
    saved = pd.read_csv(args.rows) if args.rows and Path(args.rows).is_file() else pd.DataFrame()
    if len(saved):
        saved = saved[(saved["trials"] == args.trials) & (saved["seeds"] == args.seeds)]
    rows = []
    for rec in (json.loads(line) for line in Path(args.cache).read_text().splitlines()):
        if rec.get("searcher", "auto") != args.searcher:
            continue
        if len(saved) and rec["dataset"] in set(saved["dataset"]):
            rows.append(saved[saved["dataset"] == rec["dataset"]].iloc[0].to_dict())
            continue
        row = next((r for st in _studies(rec, args.studies) if (r := _row(rec, st, args.trials, args.seeds))), None)
        print(f"  {rec['dataset']}: {'not found' if row is None else 'ok'}", file=sys.stderr, flush=True)
        if row and args.rows:
            line = pd.DataFrame([dict(row, trials=args.trials, seeds=args.seeds)])
            line.to_csv(args.rows, mode="a", header=not Path(args.rows).is_file(), index=False)
        rows += [row] if row else []
    df = pd.DataFrame(rows).drop(columns=["trials", "seeds"], errors="ignore")
    df["fallback"] = df["fallback"].astype(bool)
    print(f"{len(df)} tables, {args.trials} trials, {args.seeds} seeds per refit")
    for a, b in [("ensemble", "single"), ("ensemble_bag", "single"), ("ensemble_bag", "single_bag"),
                 ("single_bag", "single"), ("ensemble_bag", "ensemble"), ("bag_at_fallback", "single"),
                 ("bag_at_fallback", "ensemble")]:
        print(compare(df, a, b))
    fb = df[df["fallback"]]
    d = fb["single_bag"] - fb["single"]
    print(f"where the selection falls back ({len(fb)} tables): seed bag vs single "
          f"{wtl(d)} (w/t/l)")
    print(df.round(4).to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
