"""LightGBM's ``min_data_per_group`` on small tables: the library's 100 vs metaopt's cap of rows // 4.

Side by side on the same 5-fold CV (the KB's protocol), per corpus dataset (hold-out datasets
excluded) that has a categorical column of more than 4 levels (LightGBM's ``max_cat_to_onehot``;
columns with fewer levels use one-vs-rest splits that ``min_data_per_group`` does not restrict)
and at most ``--max-rows`` rows, for four configurations: LightGBM's defaults (100 rounds),
AutoGluon's default (TabRepo ``LightGBM_c1``), ``LightGBM_c3`` and ``LightGBM_r76`` (early stopping).

``library``: ``min_data_per_group=100`` passed explicitly (what every fit did before);
``metaopt``: no value, so :func:`metaopt.learners._lightgbm.min_data_per_group` decides.
Printed: wins / ties / losses of metaopt's rule per configuration and per task kind
(binary ROC AUC, multiclass log loss, regression R^2; tie: |diff| < 1e-4), the mean and median
difference, and the datasets it changes most.  Results are appended to ``--out`` (JSON lines) and a
rerun skips what is there, so an interrupted run resumes.

Usage: python benchmarks/bench_categorical_groups.py [--max-rows 5000] [--out benchmarks/results/cat_groups.jsonl]
       (about 15 minutes on one core)
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
METRIC = {"binary": ("roc_auc", 1), "multiclass": ("log_loss", -1), "regression": ("r2", 1)}
CONFIGS = ("default", "LightGBM_c1", "LightGBM_c3", "LightGBM_r76")


def shared_data() -> Path:
    env = os.environ.get("METAOPT_SHARED_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data"


def configurations() -> dict[str, dict]:
    from metaopt.learners import get_learner
    from metaopt.learners._lightgbm import TABREPO_KNOWN_GOOD

    lg = get_learner("lightgbm")
    out = {"default": lg.default_params("binary")}
    for name in CONFIGS[1:]:
        out[name] = lg.from_foreign_params("tabrepo", TABREPO_KNOWN_GOOD[name], "binary")
    return out


def many_level_categoricals(X: pd.DataFrame) -> list[str]:
    return [c for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype) and X[c].nunique() > 4]


def measure(max_rows: int, out_path: Path) -> list[dict]:
    from metaopt.core import Protocol
    from metaopt.kb._build_inputs import read_corpus
    from metaopt.learners import get_learner

    done = [json.loads(line) for line in out_path.read_text().splitlines()] if out_path.is_file() else []
    seen = {(r["name"], r["config"]) for r in done}
    hold = set(pd.read_csv(REPO / "benchmarks" / "holdout_datasets.csv")["name"])
    lg, proto, configs = get_learner("lightgbm"), Protocol(time_limit_s=60), configurations()
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with out_path.open("a") as fh:
        for spec in read_corpus(shared_data() / "corpus"):
            if spec.name in hold or all((spec.name, c) in seen for c in CONFIGS):
                continue
            ds = spec.load()
            if len(ds.y) > max_rows or not many_level_categoricals(ds.X):
                continue
            task = proto.prepare(ds)
            metric, _ = METRIC[ds.kind]
            for name, cfg in configs.items():
                if (spec.name, name) in seen:
                    continue
                lib = proto.evaluate(lg, {**cfg, "min_data_per_group": 100}, task)[metric]
                ours = proto.evaluate(lg, cfg, task)[metric]
                rec = {"name": spec.name, "kind": ds.kind, "n_rows": task.n_rows, "config": name,
                       "metric": metric, "library": lib, "metaopt": ours}
                fh.write(json.dumps(rec) + "\n")
                fh.flush()
                done.append(rec)
                print(f"{spec.name:32s} {ds.kind:10s} {task.n_rows:6d} {name:13s} {metric} "
                      f"library {lib:.4f} metaopt {ours:.4f}", flush=True)
    return done


def summarise(records: list[dict]) -> str:
    d = pd.DataFrame(records).dropna(subset=["library", "metaopt"])
    d["gain"] = [(m - lib) * METRIC[k][1] for m, lib, k in zip(d["metaopt"], d["library"], d["kind"])]
    d["outcome"] = np.where(d["gain"] > 1e-4, "win", np.where(d["gain"] < -1e-4, "loss", "tie"))

    def table(by: str) -> pd.DataFrame:
        g = d.groupby(by)
        return pd.DataFrame({"runs": g.size(), "wins": g["outcome"].apply(lambda s: (s == "win").sum()),
                             "ties": g["outcome"].apply(lambda s: (s == "tie").sum()),
                             "losses": g["outcome"].apply(lambda s: (s == "loss").sum()),
                             "mean gain": g["gain"].mean().round(4), "median gain": g["gain"].median().round(4)})

    per_ds = d.groupby("name").agg(kind=("kind", "first"), n_rows=("n_rows", "first"), gain=("gain", "mean"))
    changed = per_ds[per_ds["gain"].abs() > 1e-4].sort_values("gain")
    lines = [f"{d['name'].nunique()} datasets, {len(d)} (dataset, configuration) pairs; gain = metaopt's rule - "
             "library default (log loss: library - metaopt)", "", "per configuration:", table("config").to_string(),
             "", "per task kind:", table("kind").to_string(), "",
             f"datasets changed by > 1e-4 (mean gain over the configurations): {len(changed)} of {len(per_ds)}; "
             f"better {int((changed['gain'] > 0).sum())}, worse {int((changed['gain'] < 0).sum())}",
             "most worse:", changed.head(5).to_string(), "most better:", changed.tail(5).to_string()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--max-rows", type=int, default=5000)
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "cat_groups.jsonl"))
    ap.add_argument("--report-only", action="store_true")
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")
    out = Path(args.out)
    if args.report_only:
        records = [json.loads(line) for line in out.read_text().splitlines()]
    else:
        if not (shared_data() / "corpus").is_dir():
            raise SystemExit(f"no corpus at {shared_data() / 'corpus'} (set METAOPT_SHARED_DATA)")
        records = measure(args.max_rows, out)
    print(summarise(records))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
