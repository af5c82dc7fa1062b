"""``tune``: a warm-started, cross-validated Optuna search within a time budget, as a sequence of named steps.

Each step has its module: arguments and data (``_checks``), the time budget (``_budget``), the
evaluation plan (``_fidelity``), the study (``_study``), the folds (``_cv``), the trials
(``_objective``), recommendations and sampler (``_warm``), pruning (``_pruner``), summary and model
(``_result``).  The procedure is described in ``docs/tuning.md``.
"""

from __future__ import annotations

import sys
import time
import warnings
from dataclasses import replace
from typing import Any

from metaopt.exceptions import ConfigError
from metaopt.tuning._budget import DEFAULT_SHARE, TimeBudget
from metaopt.tuning._checks import check_arguments, check_data, largest_class, load_task, most_folds, n_groups
from metaopt.tuning._cv import FoldCV, better
from metaopt.tuning._ensemble import OofStore
from metaopt.tuning._fidelity import (
    MIN_TRIALS,
    REPEAT_MIN_TRIALS,
    EvalPlan,
    auto_splits,
    kfold_plan,
    plan_by_budget,
    plan_by_rows,
    query_meta_features,
)
from metaopt.tuning._objective import (
    FIT_S_ATTR,
    TRAIN_ROWS_ATTR,
    Objective,
    TrialFailed,
    error_text,
    jsonable,
    score_default,
)
from metaopt.tuning._auto import choose_auto, default_study_name
from metaopt.tuning._earlier import earlier_studies
from metaopt.tuning._portfolio import Leg, WarmPlan, WarmTurn, search_portfolio
from metaopt.tuning._pruner import make_pruner
from metaopt.tuning._result import TuneResult, TuneRun, finish
from metaopt.tuning._resume import ReportedTrials, retry_interrupted
from metaopt.tuning._storage import open_storage, storage_failures, storage_label, through_outages
from metaopt.tuning._study import SETUP_ATTR, check_setup, data_fingerprint, open_study, quiet_optuna
from metaopt.tuning._parallel import SearchInterrupted, after_ctrl_c, processes_available, search_in_processes
from metaopt.tuning._warm import (SearchBudget, adaptive_warm_start, enqueue, fit_time_predictor, make_sampler,
                                  meta_model_notes, note_fit_time_error, note_own_ran_before, predicted_trial_seconds,
                                  recommendations)

#: with ``ensemble=True`` the refit's reserve covers the best this many trials (most of an ensemble's weight)
ENSEMBLE_RESERVE_MEMBERS = 3

__all__ = ["tune", "check_data"]  # check_data: also called by ``metaopt tune`` before it prints anything


def tune(data_or_X: Any, y: Any = None, *, target: Any = None, learner: str = "auto",
         n_trials: int | str | None = "auto", timeout: float | None = None, cv: int | str = "auto",
         metric: str | None = None, storage: Any = None, study_name: str | None = None, random_state: int = 0,
         warm_start: bool = True, sampler: Any = "meta", progress: bool = True, n_jobs: int = 1, k: int = 5,
         kb: Any = None, pruner: Any = "auto", kind: str | None = None, started_at: float | None = None,
         ensemble: bool = True, ensemble_size: int = 25, groups: Any = None, time_column: str | None = None,
         on_interrupt: str = "raise") -> TuneResult:
    """Tune a learner's hyperparameters with a warm-started, cross-validated Optuna search.

    Every step (time budget, evaluation plan, folds, metric, warm start, sampler, library default,
    pruning, failures, workers) is described in ``docs/tuning.md``.

    Parameters
    ----------
    data_or_X, y, target, kind, groups, time_column
        Data (a file path, a DataFrame with ``target``, features with ``y``, a ``Dataset``) and task kind, as
        for :func:`metaopt.load_data`; ``groups``/``time_column``: folds keep groups apart / test later rows.
    learner
        ``"auto"`` (the learners of the top ``k`` recommendations, each in a study of its own, the top one's
        first; LightGBM without a knowledge base; ``docs/tuning.md``, "Learners side by side") or a
        registered learner name (``"lightgbm"``, ``"random_forest"``, ...).
    n_trials, timeout
        Trials and/or seconds of this call (``"auto"``: 50 trials, or with a ``timeout`` as many as it
        allows); ``timeout`` covers the whole call, refit included, and holds within about 10%.
    cv
        ``"auto"`` (5 folds on small data; fewer, a holdout or row-subsample rungs as the rows grow or the
        budget shrinks) or folds (>= 2, at most the rows, largest class, groups, or distinct times less one).
    metric
        One of ``metaopt.core.TUNE_METRICS[kind]``; default ``roc_auc``, ``log_loss`` (multiclass), ``rmse``.
    storage, study_name
        Optuna storage (URL, SQLite or journal file, storage object; :mod:`metaopt.tuning._storage`) and
        study name (default: from dataset, learner, metric, ``cv`` and seed); a study is resumed; the best trial
        of the storage's other studies on a table with these columns and target goes first (``_earlier``).
    random_state
        Seed of the folds, the sampler and the fits (a worker joining a study keeps the study's folds).
    warm_start, k, sampler, pruner
        Enqueue the ``k`` recommended configurations first; ``"meta"``, ``"tpe"``, ``"random"`` or an Optuna
        sampler; ``"auto"``, ``None`` or an Optuna pruner.
    progress, n_jobs, on_interrupt
        A tqdm progress bar on stderr; parallel trials (every fit uses one thread); Ctrl-C during the search
        ``"raise"``s, or with ``"finish"`` ends it with the model of the finished trials (as ``metaopt tune``).
    ensemble, ensemble_size
        Return the greedy ensemble (Caruana) of the study's trials and the library default, selected on
        their out-of-fold predictions in ``ensemble_size`` rounds; ``False``: one configuration, chosen
        by the best CV mean minus one standard error.
    kb, started_at
        Knowledge base for the recommendations (default: the shipped one); ``time.monotonic()`` when the
        caller began, from which ``timeout`` counts (default: the start of this call).

    Returns
    -------
    TuneResult
        ``.model`` (refitted on all rows; an ensemble or one configuration), ``.summary`` (with the
        ensemble's members and where the time went), ``.study``.

    Raises
    ------
    ConfigError
        Bad arguments, ``cv`` above the rows, or a study created with another setup or other data.
    DataError, StorageError
        Unusable data (e.g. values beyond +-3.4e38) or storage, before any work; a storage failing mid-run.
    MetaoptError
        No configuration at all (trials and the library default) could be evaluated.
    """
    t_start = time.monotonic() if started_at is None else float(started_at)
    args = check_arguments(n_trials=n_trials, timeout=timeout, cv=cv, n_jobs=n_jobs, k=k,
                           random_state=random_state, learner=learner, kb=kb, ensemble=ensemble,
                           ensemble_size=ensemble_size, on_interrupt=on_interrupt)
    ds, metric, notes = load_task(data_or_X, y, target, kind, metric, args.cv, groups, time_column)
    storage_obj = open_storage(storage, heartbeat=True)  # before the slow part: a bad storage fails at once
    run = TuneRun(ds=ds, metric=metric, args=args, notes=notes, storage=storage_obj,
                  warm_start=bool(warm_start), t_start=t_start, budget=TimeBudget(args.timeout, t_start),
                  plan=_first_plan(ds, args.cv), oof=OofStore.for_storage(storage_obj))
    from metaopt.recommender import fit_allowance
    try:
        with fit_allowance(run.budget.fit_allowance), storage_failures(run):  # fit: a quick one if too long
            _steps(run, learner, kb, study_name, sampler, pruner, progress)
        return finish(run)
    finally:
        run.oof.close()  # a temporary folder of out-of-fold predictions (in-memory study) goes


def _steps(run: TuneRun, learner: str, kb: Any, study_name: str | None, sampler: Any, pruner: Any,
           progress: bool) -> None:
    """From the loaded data to the end of the search, each step's time booked to the budget."""
    run.budget.lap("load")
    _choose_learner(run, learner, kb, study_name)  # books its time to "recommend"
    _open_tuning_study(run, study_name, sampler, pruner, kb)
    run.budget.lap("study")
    cvx = _score_default(run, pruner)
    run.budget.lap("default")
    if run.warm_start:
        run.n_warm = enqueue(run.study, run.ds, run.learner, run.recs, run.space, run.args.k, kb, run.notes,
                             adaptive=True)
        note_own_ran_before(run.study, run.recs, run.notes)
    run.legs = [Leg(run.learner, run.study, _objective(run, cvx, run.space, kb), primary=True,
                    n_warm=run.n_warm, adaptive=_adaptive(run, run.study, run.learner, run.space, kb))]
    run.legs += [_open_leg(run, name, sampler, pruner, kb) for name in run.other_learners]
    run.budget.lap("warm_start")
    _search(run, progress, kb)
    run.budget.lap("search")


def _objective(run: TuneRun, cvx: FoldCV, space: dict[str, Any], kb: Any) -> Objective:
    return Objective(cvx, space, run.metric, deadline=run.budget.search_deadline,
                     predict_fit_s=fit_time_predictor(kb, cvx.learner.name, run.ds), oof=run.oof)


def _open_leg(run: TuneRun, learner: str, sampler: Any, pruner: Any, kb: Any) -> Leg:
    """Another learner's study (``learner="auto"``, ``_portfolio``): named after the run's study, on the same
    folds and plan, warm-started with that learner's configurations of the joint ranking."""
    from metaopt.learners import get_learner

    ds, args = run.ds, run.args
    lrn = get_learner(learner)
    space = dict(lrn.search_space(ds.kind))
    recs = [r for r in run.joint if r.learner == learner]
    name = None if run.study_name is None else f"{run.study_name}+{learner}"
    sampler_obj, _ = make_sampler(sampler, ds, learner, len(recs) or args.k, kb, args.seed, run.meta_features,
                                  recs, space, run.warm_start, run.notes)
    pruner_obj, _ = make_pruner(pruner, run.plan)
    study = open_study(run.storage, name, sampler_obj, pruner_obj, run.direction, run.metric)
    seed = check_setup(study, _setup(run, learner, seed=run.fold_seed))  # the run's folds, whoever created it
    cvx = FoldCV(ds, lrn, run.metric, run.plan, seed)
    n_warm = enqueue(study, ds, learner, recs, space, len(recs), kb, run.notes, adaptive=True) \
        if run.warm_start and recs else 0
    return Leg(learner, study, _objective(run, cvx, space, kb), n_warm=n_warm,
               adaptive=_adaptive(run, study, learner, space, kb))


def _adaptive(run: TuneRun, study: Any, learner: str, space: dict[str, Any], kb: Any) -> Any:
    """The callback choosing the study's later warm-start picks from the scores so far (None: none planned)."""
    if not run.warm_start:
        return None
    return adaptive_warm_start(study, run.ds, learner, space, kb, run.plan.total_folds, run.budget.search_left,
                               run.notes)


def _first_plan(ds: Any, cv: int | str) -> EvalPlan:
    """The plan from the data size (``cv="auto"``) or ``cv`` folds; the budget and a resumed study may change it."""
    if cv != "auto":
        return kfold_plan(int(cv))
    groups = n_groups(ds)
    plan = plan_by_rows(ds.n_rows, auto_splits(ds.n_rows, largest_class(ds), most_folds(ds)))
    # time order, or a group per fold: every repeat would be the same split
    same = ds.time_order is not None or (groups or plan.n_splits + 1) <= plan.n_splits
    return replace(plan, repeats=1) if same else plan


def _choose_learner(run: TuneRun, learner: str, kb: Any, study_name: str | None) -> None:
    """The learner to search ('auto': the top recommendation's; the other learners of the joint top k are
    searched beside it), its recommendations and search space."""
    from metaopt.learners import get_learner
    from metaopt.recommender import QUERY_GROUPS, meta_model_fits

    chosen = learner
    fits_before = len(meta_model_fits())
    if learner == "auto" or run.warm_start:
        # large data: meta-features of a row sample, so that they do not eat the budget (_fidelity)
        meta = query_meta_features(run.ds, QUERY_GROUPS, run.notes)
        end = run.budget.search_deadline()  # with a time budget: learner and warm-start order by value per second
        # one split's folds: repeats are kept only where they leave every learner many trials (_fidelity)
        budget = None if end is None else SearchBudget(end, run.plan.n_folds, run.plan.n_splits, run.args.n_trials)
        run.earlier = earlier_studies(run, study_name) if run.warm_start else []
        if learner == "auto":  # with the other learners to search, agreed with the study's other runs
            chosen = choose_auto(run, kb, study_name, meta, budget)
        else:
            _, run.recs, run.meta_features, run.joint = recommendations(
                run.ds, learner, run.args.k, kb, run.notes, meta_features=meta, budget=budget, earlier=run.earlier)
    run.lrn = get_learner(chosen)
    if run.ds.kind not in run.lrn.kinds:
        raise ConfigError(f"learner {chosen!r} does not support {run.ds.kind} tasks")
    run.learner = chosen
    for name in (chosen, *run.other_learners):
        run.notes.extend(get_learner(name).data_notes(run.ds.X, run.ds.y, run.ds.kind))
    run.recs = [r for r in run.recs if getattr(r, "learner", chosen) == chosen]
    run.space = dict(run.lrn.search_space(run.ds.kind))
    run.notes.extend(meta_model_notes(meta_model_fits()[fits_before:], run.budget.timeout is not None))
    run.budget.lap("recommend")


def _open_tuning_study(run: TuneRun, study_name: str | None, sampler: Any, pruner: Any, kb: Any) -> None:
    """Open or resume the study with its sampler and pruner; take a resumed study's plan (``cv="auto"``) and
    record or check the setup, unless the time budget still has to choose the plan (``_score_default``)."""
    ds, args = run.ds, run.args
    if study_name is None and run.storage is not None:
        study_name = default_study_name(ds.name, run.learner, run.metric, args.cv, args.seed)
    pruner_obj, run.pruner_label = make_pruner(pruner, run.plan)  # a bad pruner fails before the study exists
    # the sampler gets this worker's seed; folds and fits get the study's (fold_seed)
    sampler_obj, run.sampler_label = make_sampler(sampler, ds, run.learner, args.k, kb, args.seed,
                                                  run.meta_features, run.recs, run.space, run.warm_start, run.notes)
    run.study = open_study(run.storage, study_name, sampler_obj, pruner_obj, run.direction, run.metric)
    run.study_name = study_name
    stored = run.study.user_attrs.get(SETUP_ATTR)
    if args.cv == "auto" and isinstance(stored, dict) and stored.get("cv") is not None:
        run.plan = EvalPlan.from_setup(stored)  # a resumed study keeps its plan
    run.fold_seed = args.seed
    # a new study with cv="auto" and a budget: the library default's first fold decides the folds first
    run.plan_pending = args.cv == "auto" and stored is None and args.timeout is not None and run.plan.n_folds > 1
    if not run.plan_pending:
        _record_setup(run, pruner)


def _record_setup(run: TuneRun, pruner: Any) -> None:
    """Record the setup in a new study or check a resumed one's; the pruner that fits the plan."""
    args = run.args
    try:
        run.fold_seed = check_setup(run.study, _setup(run, run.learner))
    except ConfigError:  # workers started together with cv="auto": the first one's plan holds
        stored = run.study.user_attrs.get(SETUP_ATTR) if args.cv == "auto" else None
        if not isinstance(stored, dict) or stored.get("cv") == run.plan.label:
            raise
        run.plan = EvalPlan.from_setup(stored)
        run.fold_seed = check_setup(run.study, _setup(run, run.learner))
    run.study.pruner, run.pruner_label = make_pruner(pruner, run.plan)


def _setup(run: TuneRun, learner: str, seed: int | None = None) -> dict[str, Any]:
    """What a study records, and a resumed one must match: learner, metric, plan, seed, data."""
    ds = run.ds
    return {"learner": learner, "metric": run.metric, "cv": run.plan.label,
            "seed": run.args.seed if seed is None else seed,
            "kind": ds.kind, "n_rows": ds.n_rows, "n_features": ds.n_features, "data": data_fingerprint(ds),
            "evaluation": run.plan.to_setup()}


def _score_default(run: TuneRun, pruner: Any) -> FoldCV:
    """Score the library default within its share of the budget (with a pending plan, its first fold
    chooses the plan first); set the refit's reserve from its fit time; returns the folds of the trials."""
    budget, ds = run.budget, run.ds
    until = budget.share_deadline(DEFAULT_SHARE)
    params = jsonable(run.lrn.default_params(ds.kind))
    cvx = FoldCV(ds, run.lrn, run.metric, run.plan, run.fold_seed)
    first = _choose_plan(run, cvx, params, until, pruner) if run.plan_pending else None
    other_folds = run.fold_seed != cvx.seed or run.plan.n_splits != cvx.plan.n_splits
    if other_folds or run.plan.repeats > cvx.plan.repeats:  # another worker's folds (or more of them)
        cvx, first = FoldCV(ds, run.lrn, run.metric, run.plan, run.fold_seed), None
    cvx.plan = run.plan
    run.n_folds, run.cvx = cvx.n_folds, cvx
    run.notes.extend(cvx.class_gaps())
    run.default = score_default(run.study, cvx, params, run.metric, deadline=lambda: until, first=first,
                                oof=run.oof)
    if run.default.stopped:
        run.notes.append(f"library default {run.default.error}")
    budget.keep_for_refit(run.default.fit_s, run.default.train_rows, ds.n_rows)
    return cvx


def _choose_plan(run: TuneRun, cvx: FoldCV, params: dict[str, Any], until: float | None, pruner: Any) -> Any:
    """The library default's first fold; from its time, the folds the budget allows (then the setup is
    recorded).  Returns that fold's evaluation (None when it failed: the default's error is recorded later)."""
    budget = run.budget
    t0 = time.monotonic()
    try:
        first = cvx.evaluate(params, deadline=lambda: until, folds=range(1), full_only=True)
    except Exception:  # noqa: BLE001 - score_default scores it again and records the error
        first = None
    if first is not None:
        budget.keep_for_refit(first.mean_fit_s, first.mean_train_rows, run.ds.n_rows)
        want = min(MIN_TRIALS, run.args.n_trials or MIN_TRIALS)
        plan = plan_by_budget(run.plan, time.monotonic() - t0, budget.search_left() or 0.0,
                              timed_out=bool(first.stopped), min_trials=want, n_rows=run.ds.n_rows,
                              repeat_trials=min(REPEAT_MIN_TRIALS, run.args.n_trials or REPEAT_MIN_TRIALS))
        if plan != run.plan:
            run.notes.append(f"evaluation: {plan.describe()} instead of {run.plan.describe()}: {plan.why}")
            run.plan = plan
    run.plan_pending = False
    _record_setup(run, pruner)
    return first


def _search(run: TuneRun, progress: bool, kb: Any = None) -> None:
    """Run the trials of this call (with a progress bar) until the budget's search deadline, in one study or,
    with several learners, in turns across their studies (``_portfolio``); failed trials are recorded, not
    raised."""
    from tqdm.auto import tqdm

    budget = run.budget
    left = budget.search_left()
    if left is not None and left <= 0:
        run.notes.append("no time left for the search: the budget went to loading, recommendations and the "
                         "library default")
        return
    names = "+".join(leg.learner for leg in run.legs)
    bar = tqdm(total=run.args.n_trials, disable=not progress, file=sys.stderr, unit="trial", dynamic_ncols=True,
               desc=f"tuning {names}")
    callback = _progress_callback(run, bar)
    t0 = time.monotonic()
    try:
        # failed trials are recorded in the study and the summary; Optuna's log lines would break the bar
        with quiet_optuna(), warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*Fixed parameter.*out of range.*")
            if len(run.legs) == 1:
                _run_trials(run, run.legs[0], run.args.n_trials, callback)
            else:
                def done() -> bool:
                    spent = run.args.n_trials is not None and run.n_trials_run >= run.args.n_trials
                    return spent or (budget.search_left() is not None and budget.search_left() <= 0)

                def turn(leg: Leg, n: int) -> int:
                    if run.args.n_trials is not None:
                        n = min(n, run.args.n_trials - run.n_trials_run)
                    before = run.n_trials_run
                    _run_trials(run, leg, n, callback)
                    return run.n_trials_run - before

                warm = [r.learner for r in run.joint] if run.warm_start else []
                if warm and warm[0] != run.learner:
                    # chosen for the budget over the joint ranking's top: its own warm start goes first
                    warm = [run.learner] * run.n_warm + [lr for lr in warm if lr != run.learner]
                search_portfolio(run.legs, warm, turn, done, run.maximize, run.default, step=max(1, run.args.n_jobs),
                                 warm=_warm_plan(run, warm, kb), notes=run.notes)
    except KeyboardInterrupt as stop:
        if run.args.on_interrupt == "raise":
            raise
        _stopped_by_user(run, bar, progress, getattr(stop, "how", "Ctrl-C"))
    except Exception as exc:  # Ctrl-C inside Optuna's bookkeeping of a trial surfaces as another error
        if not after_ctrl_c(exc, *(leg.objective for leg in run.legs)):
            raise
        if run.args.on_interrupt == "raise":
            raise KeyboardInterrupt from exc
        _stopped_by_user(run, bar, progress)
    finally:
        bar.close()
        run.search_time_s = time.monotonic() - t0
    for leg in run.legs:
        note_fit_time_error(leg.study, run.notes, leg.learner if len(run.legs) > 1 else "")
        if leg.adaptive is not None and leg.adaptive.n_enqueued:
            run.notes.append(f"warm start{' of ' + leg.learner if len(run.legs) > 1 else ''}: "
                             f"{leg.adaptive.n_enqueued} later pick(s) chosen after the scores of the earlier ones")


def _stopped_by_user(run: TuneRun, bar: Any, progress: bool, how: str = "Ctrl-C") -> None:
    """With ``on_interrupt="finish"``, Ctrl-C during the search ends it, as the time budget would: the model
    is built from the finished trials (TPOT and Ray Tune stop the same way); a second Ctrl-C aborts the
    call.  The running trial is marked interrupted and retried when the study is resumed (``_resume``).
    ``how``: what stopped it (``metaopt tune`` raises a KeyboardInterrupt with ``how="SIGTERM"``)."""
    run.stopped_by_user = True
    what = (f"the search was stopped ({how}) after {run.n_trials_run} trial(s) of this run: the model is "
            f"built from the finished trials")
    if storage_label(run.storage) is not None:
        what += "; the same storage and study name resume the study (the stopped trial is retried)"
    run.notes.append(what)
    if progress:
        bar.write(f"metaopt: search stopped ({how}); building the model from the finished trials "
                  f"(Ctrl-C again to abort)", file=sys.stderr)


def _warm_plan(run: TuneRun, warm: list[str], kb: Any) -> WarmPlan | None:
    """With a time budget, the warm-start turns with their recommendations and predicted trial seconds on
    the run's plan, so that the search can re-order them as fit times are measured (``_portfolio``)."""
    end = run.budget.search_deadline()
    if end is None or not warm or run.args.n_jobs > 1:
        return None
    recs = list(run.joint)
    if recs and recs[0].learner != run.learner:  # the primary's own recommendations went first (see _search)
        recs = run.recs[:run.n_warm] + [r for r in run.joint if r.learner != run.learner]
    if [r.learner for r in recs] != warm:
        return None
    try:
        budget = SearchBudget(end, run.plan.total_folds, run.plan.n_splits, run.args.n_trials)
        secs, baseline = predicted_trial_seconds(recs, run.ds, run.meta_features, run.learner, kb, budget)
    except Exception as exc:  # noqa: BLE001 - re-ordering is an optimisation: the ranking's order stays
        run.notes.append(f"warm start kept in the ranking's order: {error_text(exc)}")
        return None
    return WarmPlan([WarmTurn(r, s) for r, s in zip(recs, secs)], run.budget.search_left, baseline)


def _run_trials(run: TuneRun, leg: Leg, n_trials: int | None, callback: Any) -> None:
    """Up to ``n_trials`` trials of one learner's study, in this process or in worker processes (``n_jobs``)."""
    from metaopt.warmstart import guard_trial_queue

    budget = run.budget
    guard_trial_queue(leg.study)  # SQLite: two processes must not pop the same enqueued trial
    retry_interrupted(leg.study)  # Ctrl-C'd trials, dead workers' on a journal (RDB: Optuna's heartbeat, _storage)
    counted = ReportedTrials(callback)
    callbacks = [counted] if leg.adaptive is None else [leg.adaptive, counted]  # the next pick before a stop
    if leg.adaptive is not None:
        leg.adaptive.step(leg.study)  # a resumed study whose queue ran empty: its next pick first
    start, first = run.n_trials_run, True

    def attempt() -> None:  # again after a storage outage: the trials this call still has to run
        nonlocal first
        if not first:  # count what finished as the outage began
            counted.report_late(leg.study, leg.objective.run_id)
        first = False
        n = None if n_trials is None else n_trials - (run.n_trials_run - start)
        if n is not None and n <= 0:
            return
        if run.args.n_jobs > 1 and processes_available():  # worker processes on the shared study
            leg.study, worker_notes = search_in_processes(
                leg.study, leg.objective, n_jobs=run.args.n_jobs, n_trials=n,
                deadline=budget.search_deadline, catch=(TrialFailed,), callbacks=callbacks)
            run.notes.extend(worker_notes)
        else:
            leg.study.optimize(leg.objective, n_trials=n, timeout=budget.search_left(), n_jobs=run.args.n_jobs,
                               catch=(TrialFailed,), callbacks=callbacks, gc_after_trial=False)
    try:
        through_outages(run.storage, attempt, budget.search_deadline, lambda exc: after_ctrl_c(exc, leg.objective),
                        run.notes, lambda: run.n_trials_run)
    except SearchInterrupted as stop:  # Ctrl-C: keep what the workers finished (``_search`` stops)
        leg.study = stop.study
        raise
    finally:
        if leg.primary:
            run.study = leg.study  # an in-memory study comes back from the worker processes as a copy


def _progress_callback(run: TuneRun, bar: Any) -> Any:
    """After each trial: the progress bar, the refit's reserve (it follows the best configurations), and a
    stop when the reserve has moved the search's deadline."""
    budget = run.budget
    state: dict[str, Any] = {"best": None, "overall": run.default.score, "top": []}
    maximize = run.maximize

    def callback(study_: Any, frozen: Any) -> None:
        run.n_trials_run += 1
        if frozen.state.name == "COMPLETE" and better(frozen.value, state["best"], maximize):
            state["best"] = frozen.value
        if frozen.state.name == "COMPLETE" and run.args.ensemble:  # the ensemble refits its best members
            fit = (frozen.user_attrs.get(FIT_S_ATTR), frozen.user_attrs.get(TRAIN_ROWS_ATTR))
            state["top"] = sorted(state["top"] + [((-1 if maximize else 1) * frozen.value, fit)],
                                  key=lambda e: e[0])[:ENSEMBLE_RESERVE_MEMBERS]
            budget.keep_for_members([f for _, f in state["top"]], run.ds.n_rows)
        elif frozen.state.name == "COMPLETE" and better(frozen.value, state["overall"], maximize):
            state["overall"] = frozen.value  # the refit will fit this one: keep its time
            budget.keep_for_refit(frozen.user_attrs.get(FIT_S_ATTR), frozen.user_attrs.get(TRAIN_ROWS_ATTR),
                                  run.ds.n_rows)
        post = {"best": f"{state['best']:.4f}" if state["best"] is not None else "-"}
        if run.default.score is not None:
            post["default"] = f"{run.default.score:.4f}"
        bar.set_postfix(post, refresh=False)
        bar.update(1)
        now_left = budget.search_left()
        if now_left is not None and now_left <= 0:
            study_.stop()  # Optuna's timeout only stops starting trials; the reserve may have grown

    return callback
