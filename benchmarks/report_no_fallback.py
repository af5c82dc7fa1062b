"""What-if for issue #11: keep the selected blend where it does not beat the best single candidate on CV.

Where no blend of at least the 5 best candidates (``ENSEMBLE_INIT``) beats the best single candidate's CV
score, ``tune`` returns that single configuration (``ensemble.why_not``).  The best single CV score is the
maximum over every trial so far, so the longer the search, the more of it is luck of the folds (the winner's
curse), and the more often the rule falls back to a configuration whose CV score flatters it.  The variant
keeps the blend the selection found (the best prefix of its rounds, at least the 5 best candidates) instead.

Shipped in the fortieth session (``keeps_blend``); "earlier" below is the rule before it.  Re-scores
``bench_ensemble.py``'s ``learner="auto"`` studies (``--searcher lgbm``: its LightGBM studies) at 10 / 25 / 50
trials.  Only where the earlier rule falls back does the variant differ; there both models are refitted as
``tune`` refits (LightGBM for its folds' mean rounds, a bag of ``--seeds`` seeds a member), and the cache's score
must equal one of them (a check of the re-scoring).  Everywhere else both take the cache's scores.

    python benchmarks/report_no_fallback.py --cache benchmarks/results/ens_auto_validation_s41.jsonl \\
        --studies "/tmp/bench-ensval-*/study.db" --rows v.csv           # the validation tables (choose here)
    python benchmarks/report_no_fallback.py --cache benchmarks/results/ens_auto_holdout_split1.jsonl \\
        --studies "DIR/bench-ens-*/study.db" --rows h1.csv              # a hold-out replicate (TMPDIR=DIR)
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report_lgbm_refit import ensemble_scorer  # noqa: E402
from report_seed_bagging import _studies, compare, selection_at, shard_records  # noqa: E402

CHECKPOINTS = (10, 25, 50)


def _rows(rec: dict, studies: list, seeds: int) -> list[dict]:
    """One row per checkpoint: the earlier rule's model, the variant's, the best single trial's."""
    from metaopt.tuning._ensemble import keeps_blend

    out = []
    for n in CHECKPOINTS:
        cached = rec["checkpoints"][str(n)]
        sp, ds, ctx, pool, members, info = selection_at(rec, studies, n)
        gain = info.get("gain")
        falls_back = len(members) >= 2 and not gain > 0  # the earlier rule returns the best single one here
        keeps = keeps_blend(members, info)  # the variant (shipped since): the blend unless it ties
        row = {"dataset": rec["dataset"], "trials": n, "cached": cached["ensemble"]["score"],
               "single": cached["single"]["score"], "falls_back": falls_back, "gain": gain, "members": len(members)}
        row["earlier"] = row["variant"] = row["cached"]  # both rules blend alike where the earlier one blends
        if falls_back:  # the cache may hold either rule's model (caches made after the variant shipped)
            score = ensemble_scorer(sp, ds, ctx, {})
            row["earlier"] = score([(pool[0], 1.0)], seeds)
            row["variant"] = score(members, seeds) if keeps else row["earlier"]
        out.append(row)
    return out


def report(df: pd.DataFrame) -> None:
    """Per checkpoint the variant against the earlier rule and the best single trial; then the mean's path."""
    for n in CHECKPOINTS:
        wide = df[df["trials"] == n].set_index("dataset")
        fb = wide[wide["falls_back"].astype(bool)]
        drift = (pd.concat([(fb["cached"] - fb[c]).abs() for c in ("earlier", "variant")], axis=1).min(axis=1).max()
                 if len(fb) else 0.0)
        print(f"{n} trials, {len(wide)} tables; the earlier rule falls back on {len(fb)} "
              f"(re-scoring reproduces the cache within {drift:.1e})")
        for a, b in (("variant", "earlier"), ("variant", "single"), ("earlier", "single")):
            print("  " + compare(wide, a, b, f"{a} vs {b}"))
    for col in ("earlier", "variant"):
        means = [df.loc[df["trials"] == n, col].mean() for n in CHECKPOINTS]
        print(f"{col}: mean at {' / '.join(map(str, CHECKPOINTS))} trials " + " / ".join(f"{m:.4f}" for m in means))


def main(argv: list[str] | None = None) -> int:
    warnings.filterwarnings("ignore")
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", required=True, help="bench_ensemble.py's cache of the studies")
    ap.add_argument("--searcher", default="auto", choices=("auto", "lgbm"), help="the cache's runs to re-score")
    ap.add_argument("--studies", default="/tmp/bench-ens-*/study.db", help="glob of the studies' databases")
    ap.add_argument("--seeds", type=int, default=3, help="seeds per refit (tune's REFIT_SEEDS)")
    ap.add_argument("--rows", help="append the per-table rows to this CSV; tables already there are read")
    ap.add_argument("--shard", default="0/1", help="i/n: every n-th table from the i-th (one process a core)")
    ap.add_argument("--report-only", action="store_true", help="print the tables of --rows, fit nothing")
    args = ap.parse_args(argv)
    done = pd.read_csv(args.rows) if args.rows and Path(args.rows).is_file() else pd.DataFrame(columns=["dataset"])
    for rec in [] if args.report_only else shard_records(args.cache, args.searcher, args.shard):
        if rec["dataset"] in set(done["dataset"]):
            continue
        rows = next((_rows(rec, st, args.seeds) for st in _studies(rec, args.studies)), None)
        print(f"  {rec['dataset']}: {'not found' if rows is None else 'ok'}", file=sys.stderr, flush=True)
        if rows and args.rows:
            pd.DataFrame(rows).to_csv(args.rows, mode="a", header=not Path(args.rows).is_file(), index=False)
        done = pd.concat([done, pd.DataFrame(rows or [])])
    report(done)
    return 0


if __name__ == "__main__":
    sys.exit(main())
