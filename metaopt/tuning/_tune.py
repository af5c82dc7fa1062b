"""``tune``: a warm-started, cross-validated Optuna search, as a sequence of named steps.

Each step has its module: arguments and data (``_checks``), the study (``_study``), the folds
(``_cv``), the trials (``_objective``), recommendations and sampler (``_warm``), pruning
(``_pruner``), summary and model (``_result``).  The procedure is described in ``docs/tuning.md``.
"""

from __future__ import annotations

import sys
import time
import warnings
from typing import Any

from metaopt.exceptions import ConfigError
from metaopt.tuning._checks import check_arguments, check_data, load_task
from metaopt.tuning._cv import FoldCV, better
from metaopt.tuning._objective import Objective, TrialFailed, jsonable, score_default
from metaopt.tuning._pruner import make_pruner
from metaopt.tuning._result import TuneResult, TuneRun, finish
from metaopt.tuning._resume import retry_interrupted
from metaopt.tuning._storage import open_storage
from metaopt.tuning._study import check_setup, data_fingerprint, open_study, quiet_optuna
from metaopt.tuning._warm import enqueue, make_sampler, recommendations

__all__ = ["tune", "check_data"]  # check_data: also called by ``metaopt tune`` before it prints anything


def tune(data_or_X: Any, y: Any = None, *, target: Any = None, learner: str = "auto", n_trials: int | None = 50,
         timeout: float | None = None, cv: int = 5, metric: str | None = None, storage: Any = None,
         study_name: str | None = None, random_state: int = 0, warm_start: bool = True, sampler: Any = "meta",
         progress: bool = True, n_jobs: int = 1, k: int = 5, kb: Any = None, pruner: Any = "auto",
         kind: str | None = None) -> TuneResult:
    """Tune a learner's hyperparameters with a warm-started, cross-validated Optuna search.

    Every step (folds, metric, warm start, sampler, library default, pruning, failures, workers)
    is described in ``docs/tuning.md``.

    Parameters
    ----------
    data_or_X, y, target, kind
        A file path, a DataFrame (with ``target``), features (with ``y``) or a
        :class:`~metaopt.data.Dataset` (see :func:`metaopt.load_data`); the task kind (inferred by default).
    learner
        ``"auto"`` (the learner of the top recommendation; LightGBM without a knowledge base) or a
        registered learner name (``"lightgbm"``, ``"random_forest"``, ...).
    n_trials, timeout
        Budget of this call: number of trials and/or seconds (at least one of them).
    cv
        Number of cross-validation folds (>= 2, at most the rows; classification: of the largest class).
    metric
        ``roc_auc``/``log_loss``/``accuracy`` (classification), ``rmse``/``r2`` (regression); default
        ``roc_auc`` (binary), ``log_loss`` (multiclass), ``rmse`` (regression).
    storage, study_name
        Optuna storage (a URL, a SQLite or journal file, a storage object;
        :mod:`metaopt.tuning._storage`) and study name; an existing study is resumed.  With a storage
        and no name, the name is derived from dataset, learner, metric, folds and seed.
    random_state
        Seed of the folds, the sampler and the fits (a worker joining a study keeps the study's folds).
    warm_start, k
        Enqueue the ``k`` recommended configurations first.
    sampler, pruner
        ``"meta"``, ``"tpe"``, ``"random"`` or an Optuna sampler; ``"auto"``, ``None`` or an Optuna pruner.
    progress, n_jobs
        A tqdm progress bar on stderr; parallel trials (threads; every fit uses one thread).
    kb
        Knowledge base for the recommendations (default: the shipped one).

    Returns
    -------
    TuneResult
        ``.model`` (refitted on all rows), ``.summary``, ``.study``.

    Raises
    ------
    ConfigError
        Bad arguments, ``cv`` above the rows, or a study created with another setup or other data.
    DataError
        Unusable data, e.g. numeric values beyond +-3.4e38 (:data:`metaopt.tuning._model.MAX_FEATURE_MAGNITUDE`).
    StorageError
        A storage that cannot be used, before any work.
    MetaoptError
        No configuration at all (trials and the library default) could be evaluated.
    """
    t_start = time.monotonic()
    args = check_arguments(n_trials=n_trials, timeout=timeout, cv=cv, n_jobs=n_jobs, k=k,
                           random_state=random_state, learner=learner, kb=kb)
    ds, metric, notes = load_task(data_or_X, y, target, kind, metric, args.cv)
    storage_obj = open_storage(storage, heartbeat=True)  # before the slow part: a bad storage fails at once
    run = TuneRun(ds=ds, metric=metric, args=args, notes=notes, storage=storage_obj,
                  warm_start=bool(warm_start), t_start=t_start)
    _choose_learner(run, learner, kb)
    _open_tuning_study(run, study_name, sampler, pruner, kb)
    deadline = (time.monotonic() + args.timeout) if args.timeout is not None else None
    cvx = FoldCV(ds, run.lrn, metric, args.cv, run.fold_seed, deadline)
    run.n_folds = cvx.n_folds
    run.default = score_default(run.study, cvx, jsonable(run.lrn.default_params(ds.kind)), metric)
    if warm_start:
        run.n_warm = enqueue(run.study, ds, run.learner, run.recs, run.space, args.k, kb, notes)
    _search(run, Objective(cvx, run.space, metric), progress)
    return finish(run)


def _choose_learner(run: TuneRun, learner: str, kb: Any) -> None:
    """The learner to search ('auto': the top recommendation's), its recommendations and search space."""
    from metaopt.learners import get_learner

    chosen = learner
    if learner == "auto" or run.warm_start:
        auto_choice, run.recs, run.meta_features = recommendations(run.ds, learner, run.args.k, kb, run.notes)
        if learner == "auto":
            chosen = auto_choice or "lightgbm"
            if auto_choice is None:
                run.notes.append("learner 'auto' fell back to lightgbm")
    run.lrn = get_learner(chosen)
    if run.ds.kind not in run.lrn.kinds:
        raise ConfigError(f"learner {chosen!r} does not support {run.ds.kind} tasks")
    run.learner = chosen
    run.recs = [r for r in run.recs if getattr(r, "learner", chosen) == chosen]
    run.space = dict(run.lrn.search_space(run.ds.kind))


def _open_tuning_study(run: TuneRun, study_name: str | None, sampler: Any, pruner: Any, kb: Any) -> None:
    """Open or resume the study with its sampler and pruner; record or check its setup and fold seed."""
    ds, args = run.ds, run.args
    if study_name is None and run.storage is not None:
        study_name = f"metaopt-{ds.name}-{run.learner}-{run.metric}-cv{args.cv}-s{args.seed}"
    pruner_obj, run.pruner_label = make_pruner(pruner, args.cv)
    # the sampler gets this worker's seed; folds and fits get the study's (fold_seed)
    sampler_obj, run.sampler_label = make_sampler(sampler, ds, run.learner, args.k, kb, args.seed,
                                                  run.meta_features, run.recs, run.space, run.warm_start, run.notes)
    run.study = open_study(run.storage, study_name, sampler_obj, pruner_obj, run.direction, run.metric)
    run.fold_seed = check_setup(run.study, {
        "learner": run.learner, "metric": run.metric, "cv": args.cv, "seed": args.seed, "kind": ds.kind,
        "n_rows": ds.n_rows, "n_features": ds.n_features, "data": data_fingerprint(ds)})


def _search(run: TuneRun, objective: Objective, progress: bool) -> None:
    """Run the trials of this call (with a progress bar); failed trials are recorded, not raised."""
    from tqdm.auto import tqdm

    from metaopt.warmstart import guard_trial_queue

    bar = tqdm(total=run.args.n_trials, disable=not progress, file=sys.stderr, unit="trial", dynamic_ncols=True,
               desc=f"tuning {run.learner}")
    state: dict[str, Any] = {"best": None}
    default_score, maximize = run.default.score, run.maximize

    def callback(study_: Any, frozen: Any) -> None:
        run.n_trials_run += 1
        if frozen.state.name == "COMPLETE" and better(frozen.value, state["best"], maximize):
            state["best"] = frozen.value
        post = {"best": f"{state['best']:.4f}" if state["best"] is not None else "-"}
        if default_score is not None:
            post["default"] = f"{default_score:.4f}"
        bar.set_postfix(post, refresh=False)
        bar.update(1)

    guard_trial_queue(run.study)  # SQLite: two processes must not pop the same enqueued trial
    retry_interrupted(run.study)  # Ctrl-C'd trials; dead workers' ones are retried by Optuna's heartbeat (_storage)
    t0 = time.monotonic()
    try:
        # failed trials are recorded in the study and the summary; Optuna's log lines would break the bar
        with quiet_optuna(), warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*Fixed parameter.*out of range.*")
            run.study.optimize(objective, n_trials=run.args.n_trials, timeout=run.args.timeout,
                               n_jobs=run.args.n_jobs, catch=(TrialFailed,), callbacks=[callback],
                               gc_after_trial=False)
    finally:
        bar.close()
        run.search_time_s = time.monotonic() - t0
