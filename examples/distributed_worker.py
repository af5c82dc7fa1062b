"""One worker of a distributed, warm-started LightGBM study (see distributed_postgres.md).

Start the same command on as many machines (or processes) as you like; they share
one study through the storage URL and the study name.  metaopt's recommended
configurations are enqueued exactly once however many workers start together
(a database lock guards the check-and-enqueue), and Optuna hands every waiting
trial to exactly one worker.

    python examples/distributed_worker.py \
        --storage postgresql+psycopg2://optuna:secret@db-host:5432/optuna \
        --study-name credit-g-lgbm --data examples/data/credit-g.csv --target class \
        --n-trials 25 --seed 1

``--storage`` also takes ``sqlite:///study.db`` (one machine) or
``journal:/shared/nfs/study.log`` (Optuna's JournalStorage on a shared file system).
``--sampler meta`` (default) uses :class:`metaopt.warmstart.MetaSampler`;
``--sampler tpe`` enqueues the warm start with :func:`metaopt.warmstart.warm_start`
and continues with plain TPE.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time

import numpy as np
import optuna
from sklearn.metrics import r2_score, roc_auc_score
from sklearn.model_selection import train_test_split

from metaopt import load_data
from metaopt.learners import get_learner
from metaopt.warmstart import MetaSampler, guard_trial_queue, warm_start


def make_storage(url: str):
    """An Optuna storage for ``url`` (``journal:<path>`` for a JournalStorage on a file)."""
    if url.startswith("journal:"):
        from optuna.storages import JournalStorage
        from optuna.storages.journal import JournalFileBackend

        return JournalStorage(JournalFileBackend(url[len("journal:"):]))
    if url.startswith("sqlite"):
        # several processes on one SQLite file: wait for the write lock instead of failing
        return optuna.storages.RDBStorage(url, engine_kwargs={"connect_args": {"timeout": 60}})
    # pool_pre_ping: survive database restarts / idle connections dropped by a proxy
    return optuna.storages.RDBStorage(url, engine_kwargs={"pool_pre_ping": True}, heartbeat_interval=60,
                                      grace_period=180)


def suggest(trial: optuna.Trial, name: str, dist) -> object:
    """``trial.suggest_*`` for one Optuna distribution (metaopt's learners describe spaces as distributions)."""
    if isinstance(dist, optuna.distributions.CategoricalDistribution):
        return trial.suggest_categorical(name, dist.choices)
    if isinstance(dist, optuna.distributions.IntDistribution):
        return trial.suggest_int(name, dist.low, dist.high, step=dist.step, log=dist.log)
    return trial.suggest_float(name, dist.low, dist.high, step=dist.step, log=dist.log)


def make_objective(data, seed: int = 0):
    """Train on 75% of the rows, score on the other 25% (ROC AUC, macro OvR AUC or R^2)."""
    lgbm = get_learner("lightgbm")
    space = lgbm.search_space(data.kind)
    strat = None if data.kind == "regression" else data.y
    X_tr, X_va, y_tr, y_va = train_test_split(data.X, data.y, test_size=0.25, random_state=seed, stratify=strat)

    def objective(trial: optuna.Trial) -> float:
        params = {name: suggest(trial, name, dist) for name, dist in space.items()}
        model = lgbm.fit(X_tr, y_tr, params, data.kind, random_state=seed)
        trial.set_user_attr("n_estimators", model.n_estimators_used)
        trial.set_user_attr("worker", os.getpid())
        if data.kind == "regression":
            return float(r2_score(y_va, model.predict(X_va)))
        proba = model.predict_proba(X_va)
        if data.kind == "binary":
            return float(roc_auc_score(np.asarray(y_va) == model.classes_[1], proba[:, 1]))
        return float(roc_auc_score(np.asarray(y_va), proba, multi_class="ovr", labels=model.classes_))

    return objective


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--storage", required=True)
    ap.add_argument("--study-name", required=True)
    ap.add_argument("--data", required=True, help="CSV/ARFF/Parquet file")
    ap.add_argument("--target", default=None)
    ap.add_argument("--n-trials", type=int, default=10, help="trials this worker runs")
    ap.add_argument("--k", type=int, default=5, help="recommended configurations to start from")
    ap.add_argument("--seed", type=int, default=None, help="sampler seed (give each worker its own)")
    ap.add_argument("--sampler", choices=("meta", "tpe"), default="meta")
    args = ap.parse_args(argv)

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    data = load_data(args.data, target=args.target)
    if args.sampler == "meta":
        sampler = MetaSampler(data.X, data.y, k=args.k, seed=args.seed)
    else:
        sampler = optuna.samplers.TPESampler(seed=args.seed)
    for attempt in range(5):
        try:  # workers starting together may race to create the schema/study: retry briefly
            study = optuna.create_study(storage=make_storage(args.storage), study_name=args.study_name,
                                        direction="maximize", sampler=sampler, load_if_exists=True)
            break
        except Exception:  # noqa: BLE001 - e.g. "table already exists" from a concurrent creator
            if attempt == 4:
                raise
            time.sleep(0.5 + random.random())
    # SQLite: make popping an enqueued trial atomic across processes (a no-op elsewhere)
    guard_trial_queue(study)
    if args.sampler == "tpe":
        space = get_learner("lightgbm").search_space(data.kind)
        warm_start(study, data.X, data.y, k=args.k, search_space=space)  # idempotent across workers
    study.optimize(make_objective(data), n_trials=args.n_trials)
    done = [t for t in study.trials if t.value is not None]
    if done:
        best = study.best_trial
        print(f"worker {os.getpid()}: study has {len(study.trials)} trials; best #{best.number} = "
              f"{best.value:.4f}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
