"""What-if for issue #11: keep the selected blend where it does not beat the best single candidate on CV?

Where no blend of at least the 5 best candidates (``ENSEMBLE_INIT``) beats the best single candidate's CV
score, the rule before the fortieth session ("earlier") returned that single configuration.  The best single CV
score is the maximum over every trial so far, so the longer the search, the more of it is luck of the folds (the
winner's curse), and the more often that rule falls back to a configuration whose CV score flatters it.  "keep"
keeps the blend the selection found (the best prefix of its rounds, at least the 5 best candidates) instead,
unless it ties to rounding: the rule of the fortieth session.  "shipped" is ``keeps_blend`` now: keep, unless
the blend is worse by more than ``MAX_BLEND_SHORTFALL`` of the best single CV score (forty-fourth session).

Re-scores ``bench_ensemble.py``'s ``learner="auto"`` studies (``--searcher lgbm``: its LightGBM studies) after
the first n trials (``--checkpoints``; 10 / 25 / 50 by default, 3 .. 9: a short time budget's few candidates).
Only where the blend is not better on CV do the rules differ; there both models are refitted as ``tune`` refits
(LightGBM for its folds' mean rounds, a bag of ``--seeds`` seeds a member) and scored on the test rows.
Everywhere else both take the cache's scores (NaN at a checkpoint the cache lacks).  The report compares the
rules per checkpoint and sweeps the threshold over all checkpoints (``docs/bench_ensemble.md``, "Blends of a
short search's few candidates").

    python benchmarks/report_no_fallback.py --cache benchmarks/results/ens_auto_validation_s41.jsonl \\
        --studies "/tmp/bench-ensval-*/study.db" --rows v.csv           # the validation tables (choose here)
    python benchmarks/report_no_fallback.py --cache benchmarks/results/ens_auto_holdout_split1.jsonl \\
        --studies "DIR/bench-ens-*/study.db" --rows h1.csv              # a hold-out replicate (TMPDIR=DIR)
    python benchmarks/report_no_fallback.py --report-only --cache - --rows v.csv --checkpoints 3 4 5 10
"""

from __future__ import annotations

import argparse
import math
import sys
import warnings
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report_lgbm_refit import ensemble_scorer  # noqa: E402
from report_seed_bagging import _studies, compare, selection_at, shard_records, wtl  # noqa: E402

CHECKPOINTS = (10, 25, 50)


def _rows(rec: dict, studies: list, seeds: int, checkpoints: tuple[int, ...] = CHECKPOINTS) -> list[dict]:
    """One row per checkpoint: the test score of the best single candidate ("earlier": the rule before the
    fortieth session) and of the selected blend ("keep": unless it ties to rounding), where they differ.

    Elsewhere both take the cache's ensemble score; a checkpoint the cache has no scores of (``--checkpoints``
    3 .. 9: a short time budget's few candidates) has NaN there."""
    from metaopt.tuning._ensemble import blend_shortfall

    out = []
    for n in checkpoints:
        cached = rec["checkpoints"].get(str(n)) or {"ensemble": {"score": math.nan}, "single": {"score": math.nan}}
        sp, ds, ctx, pool, members, info = selection_at(rec, studies, n)
        gain = info.get("gain")
        falls_back = len(members) >= 2 and not gain > 0  # the earlier rule returns the best single one here
        row = {"dataset": rec["dataset"], "trials": n, "cached": cached["ensemble"]["score"],
               "single": cached["single"]["score"], "falls_back": falls_back, "gain": gain, "members": len(members),
               "candidates": info.get("n_candidates"), "single_cv": info.get("best_single_score"),
               "shortfall": blend_shortfall(info), "fold_gain": math.nan, "fold_se": math.nan}
        row["earlier"] = row["keep"] = row["cached"]  # both rules blend alike where the earlier one blends
        if falls_back:  # the cache may hold either rule's model (caches made after the variant shipped)
            row["fold_gain"], row["fold_se"] = _fold_gain(members, pool[0], ctx, ds.kind)
            score = ensemble_scorer(sp, ds, ctx, {})
            row["earlier"] = score([(pool[0], 1.0)], seeds)
            ties = math.isclose(info["cv_score"], info["best_single_score"], rel_tol=1e-9, abs_tol=1e-12)
            row["keep"] = row["earlier"] if ties else score(members, seeds)
        out.append(row)
    return out


def _fold_gain(members: list, single, ctx, kind: str) -> tuple[float, float]:
    """The blend's gain over the best single candidate fold by fold (in the metric's better direction): mean and
    standard error of the per-fold differences (a blend consistently worse on every fold, or a noisy shortfall)."""
    import numpy as np

    from metaopt.core import GREATER_IS_BETTER
    from metaopt.tuning._ensemble._build import _fold_positions
    from metaopt.tuning._ensemble._scores import fold_mean_scores

    rows = single.rows
    total = sum(w for _, w in members)
    blend = sum(w * np.asarray(c.pred, dtype="float64").reshape(len(rows), -1) for c, w in members) / total
    one = np.asarray(single.pred, dtype="float64").reshape(len(rows), -1)
    y = ctx.cvx.y_codes[rows]
    sign = 1 if GREATER_IS_BETTER[ctx.metric] else -1
    d = np.array([sign * np.subtract(*fold_mean_scores(np.stack([blend, one]), y, kind, ctx.metric, [pos]))
                  for pos in _fold_positions(rows, ctx.cvx.test_folds)])
    return float(d.mean()), float(d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else math.nan


def _read_rows(path: str) -> pd.DataFrame:
    """``--rows`` written by any version of this script (before the forty-fourth session: ``variant`` was
    ``keep``; rows without a fallback had no fold statistics)."""
    import csv

    with open(path, newline="") as fh:
        reader = csv.reader(fh)
        head = next(reader)
        recs = [dict(zip(head if len(line) == len(head) else head + ["fold_gain", "fold_se"], line))
                for line in reader]
    df = pd.DataFrame(recs).rename(columns={"variant": "keep"})
    for c in df.columns.difference(["dataset", "falls_back"]):
        df[c] = pd.to_numeric(df[c], errors="coerce")
    df["falls_back"] = df["falls_back"].astype(str) == "True"
    if "shortfall" not in df:
        df["shortfall"] = (-df["gain"]).clip(lower=0) / df["single_cv"].abs().clip(lower=1e-12)
    return df


def with_rule(df: pd.DataFrame, shortfall: float) -> pd.Series:
    """The test score of the rule "keep the blend unless it is worse than the best single candidate on CV by more
    than ``shortfall`` (a share)" (``keeps_blend`` with ``MAX_BLEND_SHORTFALL = shortfall``)."""
    return df["keep"].where(~(df["falls_back"] & (df["shortfall"] > shortfall)), df["earlier"])


def report(df: pd.DataFrame, checkpoints: tuple[int, ...] = CHECKPOINTS) -> None:
    """Per checkpoint, where the rules differ: keep vs earlier, shipped vs keep; then each rule's thresholds over
    the checkpoints, split at 10 trials (short searches) and per table."""
    from metaopt.tuning._ensemble import MAX_BLEND_SHORTFALL

    df = df.assign(shipped=with_rule(df, MAX_BLEND_SHORTFALL))
    for n in checkpoints:
        fb = df[(df["trials"] == n) & df["falls_back"]].set_index("dataset")
        print(f"{n} trials, {int((df['trials'] == n).sum())} tables; the blend is not better than the best single "
              f"candidate on CV on {len(fb)}, shortfall {fb['shortfall'].round(3).tolist()}")
        for a, b in (("keep", "earlier"), ("shipped", "keep")):
            print("  " + compare(fb, a, b, f"{a} vs {b}"))
    fb = df[df["falls_back"]]
    print(f"\nover the checkpoints, {len(fb)} (table, checkpoint) rows on {fb['dataset'].nunique()} tables where the "
          "blend is not better on CV; each rule against keep (the rule of the fortieth session):")
    z = -fb["fold_gain"] / fb["fold_se"]
    rules = [(f"shortfall > {t:g}", fb["shortfall"] > t) for t in (0.01, 0.02, 0.03, 0.05, 0.1)]
    rules += [(f"fold z > {t:g}", z > t) for t in (0.5, 1, 2)] + [("always (earlier)", fb["shortfall"] >= 0)]
    for name, falls in rules:
        d = (fb["earlier"] - fb["keep"]).where(falls, 0.0)
        per = d.groupby(fb["dataset"]).sum()
        short = fb["trials"] < 10
        print(f"  falls back where {name:<17} {int(falls.sum()):3d} rows: {wtl(d)} (w/t/l) sum {d.sum():+.4f}; "
              f"< 10 trials {wtl(d[short])} {d[short].sum():+.4f}, >= 10 {wtl(d[~short])} {d[~short].sum():+.4f}; "
              f"tables {(per >= 1e-4).sum()}/{(per <= -1e-4).sum()} (w/l)")


def main(argv: list[str] | None = None) -> int:
    warnings.filterwarnings("ignore")
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", required=True, help="bench_ensemble.py's cache of the studies (- with --report-only)")
    ap.add_argument("--searcher", default="auto", choices=("auto", "lgbm"), help="the cache's runs to re-score")
    ap.add_argument("--studies", default="/tmp/bench-ens-*/study.db", help="glob of the studies' databases")
    ap.add_argument("--seeds", type=int, default=3, help="seeds per refit (tune's REFIT_SEEDS)")
    ap.add_argument("--rows", help="append the per-table rows to this CSV; tables already there are read")
    ap.add_argument("--shard", default="0/1", help="i/n: every n-th table from the i-th (one process a core)")
    ap.add_argument("--report-only", action="store_true", help="print the tables of --rows, fit nothing")
    ap.add_argument("--checkpoints", type=int, nargs="+", default=list(CHECKPOINTS),
                    help="trial counts to re-score (those the cache lacks: only where the rules differ)")
    args = ap.parse_args(argv)
    checkpoints = tuple(args.checkpoints)
    done = _read_rows(args.rows) if args.rows and Path(args.rows).is_file() else pd.DataFrame(columns=["dataset"])
    for rec in [] if args.report_only else shard_records(args.cache, args.searcher, args.shard):
        if rec["dataset"] in set(done["dataset"]):
            continue
        rows = next((_rows(rec, st, args.seeds, checkpoints) for st in _studies(rec, args.studies)), None)
        print(f"  {rec['dataset']}: {'not found' if rows is None else 'ok'}", file=sys.stderr, flush=True)
        if rows and args.rows:
            pd.DataFrame(rows).to_csv(args.rows, mode="a", header=not Path(args.rows).is_file(), index=False)
            rows = _read_rows(args.rows).query("dataset == @rec['dataset']").to_dict("records")
        done = pd.concat([done, pd.DataFrame(rows or [])])
    report(done, checkpoints)
    return 0


if __name__ == "__main__":
    sys.exit(main())
