"""Re-tuning a refreshed table: the user's own earlier study first, against the meta-model alone.

A user tunes a table, adds the study to their knowledge base (``metaopt kb add-study``) and, a month
later, tunes the table's new rows. metaopt recognises the table by its schema and recommends the best
trials of the earlier study first (``metaopt.recommender._own``). This measures what that buys.

Per dataset of ``benchmarks/holdout_datasets.csv`` (kept out of the KB; at least ``--min-rows`` rows),
the rows are shuffled (seed 0) and cut in two versions of the table: ``A`` (half) and ``B`` (the other
half, of which 25% is kept as a test set). Then, each with LightGBM and without the ensemble:

1. ``tune(A, n_trials=--trials-a)`` into a SQLite study, added to the shipped KB in memory
   (``import_optuna_study(..., save=False)``);
2. ``tune(B_train, n_trials=--trials-b)`` twice, same seed and folds: ``meta`` with the shipped KB,
   ``own`` with the KB that holds A's study.

Printed per budget (trials 1, 3, ``--trials-b`` of B's study): own's wins / ties / losses against meta
on the CV score (tune's metric: ROC AUC, log loss, RMSE) and the mean of their difference relative to
meta's, signed so that > 0 favours own; then the same, absolute, for the final models' test scores
(ROC AUC one-vs-rest, R^2). ``--own-share N`` runs a variant (N of the k from the earlier study);
``--work DIR`` keeps the studies on A for the next variant.
Resumable: finished datasets are read back from ``--cache`` (JSON lines)::

    python benchmarks/bench_own_history.py --jobs 2 --cache /tmp/own_history.jsonl
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
HEAVY = ("pendigits", "satimage", "waveform-5000")  # multiclass tables whose 40 trials take most of an hour


def shared_data() -> Path:
    env = os.environ.get("METAOPT_SHARED_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data"


def versions(row: dict, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, str, str]:
    """(A, B_train, B_test, target, kind): two versions of one table and B's test rows."""
    from metaopt import load_data

    ds = load_data(str(shared_data() / "corpus" / row["file"]), target=row["target"])
    frame = ds.X.copy()
    frame[ds.target] = ds.y.to_numpy()
    frame = frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    half = len(frame) // 2
    b = frame.iloc[half:]
    cut = half + int(round(0.75 * len(b)))
    return frame.iloc[:half], frame.iloc[half:cut], frame.iloc[cut:], str(ds.target), ds.kind


def test_score(kind: str, model, X: pd.DataFrame, y: pd.Series) -> float:
    """ROC AUC (one-vs-rest macro for multiclass) or R^2 of a tuned model on test rows."""
    from sklearn.metrics import r2_score, roc_auc_score

    if kind == "regression":
        return float(r2_score(y.astype(float), model.predict(X)))
    proba = np.asarray(model.predict_proba(X))
    classes = list(model.classes_)
    keep = y.isin(classes).to_numpy()
    if kind == "binary":
        return float(roc_auc_score(y[keep] == classes[1], proba[keep][:, 1]))
    present = sorted(set(y[keep]))
    if len(present) < 2:
        return math.nan
    cols = [classes.index(c) for c in present]
    p = proba[keep][:, cols]
    p = p / np.clip(p.sum(axis=1, keepdims=True), 1e-12, None)
    codes = y[keep].map({c: i for i, c in enumerate(present)}).to_numpy()
    if len(present) == 2:
        return float(roc_auc_score(codes, p[:, 1]))
    return float(roc_auc_score(codes, p, multi_class="ovr", labels=np.arange(len(present))))


def best_so_far(study, budgets: list[int]) -> dict[int, float]:
    """The study's best completed value among its first ``b`` trials, per budget (sign: higher is better)."""
    import optuna

    sign = 1.0 if study.direction == optuna.study.StudyDirection.MAXIMIZE else -1.0
    trials = sorted(study.get_trials(deepcopy=False), key=lambda t: t.number)
    out = {}
    for b in budgets:
        done = [sign * t.value for t in trials[:b]
                if t.state == optuna.trial.TrialState.COMPLETE and t.value is not None]
        out[b] = max(done) if done else math.nan
    return out


def run_dataset(row: dict, trials_a: int, trials_b: int, share: int | None = None, work: Path | None = None) -> dict:
    import metaopt
    from metaopt.kb import import_optuna_study

    if share is not None:  # a variant: how many of the k recommendations the earlier study may fill
        import metaopt.recommender._recommend as recommend_module

        recommend_module.own_share = lambda k: min(share, k)

    warnings.filterwarnings("ignore")
    a, b_train, b_test, target, kind = versions(row)
    budgets = sorted({1, 3, trials_b})
    out = {"name": row["name"], "kind": kind, "rows_a": len(a), "rows_b": len(b_train)}
    with tempfile.TemporaryDirectory() as tmp:
        storage = f"sqlite:///{work or tmp}/{row['name'] if work else 'a'}-{trials_a}.db"
        if not (work and (work / f"{row['name']}-{trials_a}.db").exists()):  # else: the study of an earlier run
            metaopt.tune(a, target=target, learner="lightgbm", n_trials=trials_a, storage=storage,
                         study_name="monthly", progress=False, ensemble=False)
        own_kb = import_optuna_study(storage, "monthly", a, target=target, save=False)["kb"]
        for arm, kb in (("meta", None), ("own", own_kb)):
            res = metaopt.tune(b_train, target=target, learner="lightgbm", n_trials=trials_b, progress=False,
                               ensemble=False, kb=kb)
            out[arm] = {"cv": best_so_far(res.study, budgets), "metric": res.metric,
                        "test": test_score(kind, res.model, b_test.drop(columns=[target]), b_test[target]),
                        "first": res.study.trials[0].user_attrs.get("metaopt:config_id", "default")
                        if res.study.trials else None}
    return out


def summarise(results: list[dict], trials_b: int) -> None:
    print(f"\n{len(results)} datasets; own = the earlier study's best trials first, meta = the meta-model alone")
    for b in sorted({1, 3, trials_b}):  # relative: RMSE's units differ between tables
        diff = np.array([(r["own"]["cv"][str(b)] - r["meta"]["cv"][str(b)]) / max(abs(r["meta"]["cv"][str(b)]), 1e-12)
                         for r in results])
        _line(f"CV score after {b} trial(s), relative", diff)
    _line("test score of the final model", np.array([r["own"]["test"] - r["meta"]["test"] for r in results]))


def _line(label: str, diff: np.ndarray) -> None:
    diff = diff[np.isfinite(diff)]
    tol = 1e-9
    wins, ties, losses = int((diff > tol).sum()), int((np.abs(diff) <= tol).sum()), int((diff < -tol).sum())
    rate = (wins + 0.5 * ties) / max(len(diff), 1)
    print(f"{label:<44} own wins {wins:>2} / ties {ties:>2} / losses {losses:>2}  win rate {rate:.2f}  "
          f"mean difference {diff.mean():+.4f}  median {np.median(diff):+.4f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--trials-a", type=int, default=30)
    ap.add_argument("--trials-b", type=int, default=5)
    ap.add_argument("--min-rows", type=int, default=600)
    ap.add_argument("--datasets", type=int, default=0, help="the first N eligible datasets (0: all)")
    ap.add_argument("--own-share", type=int, default=None,
                    help="trials of the earlier study among the k recommendations (default: metaopt's rule)")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--cache", type=Path, default=None)
    ap.add_argument("--work", type=Path, default=None,
                    help="keep the studies on A here, and reuse them (variants of --own-share share them)")
    args = ap.parse_args(argv)
    rows = pd.read_csv(REPO / "benchmarks" / "holdout_datasets.csv").to_dict("records")
    rows = [r for r in rows if r["n_rows"] >= args.min_rows and r["name"] not in HEAVY]
    rows = rows[:args.datasets] if args.datasets else rows
    if not (shared_data() / "corpus").is_dir():
        print(f"no corpus under {shared_data()}; set METAOPT_SHARED_DATA")
        return 1
    done = {}
    if args.cache and args.cache.exists():
        done = {r["name"]: r for r in map(json.loads, args.cache.read_text().splitlines()) if r}
    todo = [r for r in rows if r["name"] not in done]
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = [pool.submit(run_dataset, r, args.trials_a, args.trials_b, args.own_share, args.work) for r in todo]
        for fut in futures:
            res = json.loads(json.dumps(fut.result()))  # budgets become strings, as when read back
            done[res["name"]] = res
            cv = {arm: res[arm]["cv"][str(args.trials_b)] for arm in ("own", "meta")}
            print(f"{res['name']:<30} {res['kind']:<10} cv@{args.trials_b} own {cv['own']:.4f} meta {cv['meta']:.4f}"
                  f"  test own {res['own']['test']:.4f} "
                  f"meta {res['meta']['test']:.4f}  first own {res['own']['first']}", flush=True)
            if args.cache:
                with args.cache.open("a") as fh:
                    fh.write(json.dumps(res) + "\n")
    summarise([done[r["name"]] for r in rows if r["name"] in done], args.trials_b)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
