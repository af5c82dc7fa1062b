"""``tune``'s last steps: the best configuration, the summary, the refitted model, the result.

The library default competes with the trials (it is scored on the same folds but is not a trial),
and the final model is refitted on all rows with the same procedure as in a fold.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from metaopt.core import GREATER_IS_BETTER
from metaopt.exceptions import MetaoptError
from metaopt.tuning._budget import TimeBudget
from metaopt.tuning._checks import Budget
from metaopt.tuning._cv import better
from metaopt.tuning._model import ColumnSchema, TunedModel
from metaopt.tuning._fidelity import EvalPlan
from metaopt.tuning._ensemble import EnsembleFit
from metaopt.tuning._final import affordable, final_ensemble, final_single, refit_best
from metaopt.tuning._objective import STOPPED_ATTR, DefaultScore, jsonable
from metaopt.tuning._portfolio import describe_legs
from metaopt.tuning._resume import count_trials
from metaopt.tuning._storage import storage_label
from metaopt.tuning._study import SOURCE_ATTR
from metaopt.tuning._summary import TuneSummary


@dataclass
class TuneResult:
    """The outcome of :func:`tune`.

    ``model`` is the final model (refitted on all rows; ``model.save(path)``),
    ``summary`` the :class:`~metaopt.tuning.TuneSummary` (``print(result)``
    shows it), ``study`` the Optuna study (every trial's ``user_attrs`` hold
    ``config``, ``fold_scores`` and, for failed trials, ``error``).
    """

    model: TunedModel
    summary: TuneSummary
    study: Any
    notes: list[str] = field(default_factory=list)

    @property
    def best_params(self) -> dict[str, Any]:
        return dict(self.summary.best_params)

    @property
    def best_score(self) -> float | None:
        return self.summary.best_score

    @property
    def default_score(self) -> float | None:
        return self.summary.default_score

    @property
    def learner(self) -> str:
        return self.summary.learner

    @property
    def metric(self) -> str:
        return self.summary.metric

    def save(self, path: Any) -> Any:
        """Save the final model (joblib pickle; see :func:`metaopt.tuning.load_model`)."""
        return self.model.save(path)

    def predict(self, X: Any) -> np.ndarray:
        return self.model.predict(X)

    def predict_proba(self, X: Any) -> np.ndarray:
        return self.model.predict_proba(X)

    def __str__(self) -> str:
        return str(self.summary)


@dataclass
class TuneRun:
    """What the steps of one :func:`tune` call decided and measured; the summary is read from it."""

    ds: Any
    metric: str
    args: Budget
    notes: list[str]
    storage: Any
    warm_start: bool
    t_start: float
    learner: str = ""
    lrn: Any = None  #: the :class:`~metaopt.learners.Learner`
    recs: list[Any] = field(default_factory=list)
    meta_features: dict | None = None
    space: dict[str, Any] = field(default_factory=dict)
    study: Any = None
    fold_seed: int = 0
    n_folds: int = 0
    sampler_label: str = ""
    pruner_label: str = ""
    default: DefaultScore | None = None
    budget: TimeBudget | None = None  #: the call's deadline and where the time went
    plan: EvalPlan | None = None  #: how trials are evaluated (folds, holdout, rungs)
    plan_pending: bool = False  #: the time budget still has to choose the plan (new study, cv="auto")
    n_warm: int = 0
    n_trials_run: int = 0
    search_time_s: float = 0.0
    stopped_by_user: bool = False  #: Ctrl-C ended the search (the model is built from the finished trials)
    oof: Any = None  #: the :class:`~metaopt.tuning._ensemble.OofStore` of the trials' out-of-fold predictions
    cvx: Any = None  #: the :class:`~metaopt.tuning._cv.FoldCV` of the trials
    study_name: str | None = None  #: the (primary) study's name as asked for (None: Optuna names it)
    joint: list[Any] = field(default_factory=list)  #: ``"auto"``: the joint ranking of all learners' configurations
    #: the best trials of the storage's earlier studies on this table (``_earlier``), put first as own studies
    earlier: list[Any] = field(default_factory=list)
    other_learners: list[str] = field(default_factory=list)  #: ``"auto"``: learners searched beside ``learner``
    legs: list[Any] = field(default_factory=list)  #: each learner's :class:`~metaopt.tuning._portfolio.Leg`, primary first
    #: ``(learner, configuration as JSON) -> the folds' mean early-stopping rounds``, read once (``_final._rounds``)
    refit_rounds: dict[tuple[str, str], float] | None = None

    @property
    def maximize(self) -> bool:
        return bool(GREATER_IS_BETTER[self.metric])

    @property
    def direction(self) -> str:
        return "maximize" if self.maximize else "minimize"


def _best_of(values: list[Any], maximize: bool, key: Any = lambda v: v) -> Any:
    best = None
    for v in values:
        if best is None or better(key(v), key(best), maximize):
            best = v
    return best


def _trial_fields(run: TuneRun) -> dict[str, Any]:
    """The summary's fields read from the trials of every learner's study, and the best configuration."""
    from optuna.trial import TrialState

    from metaopt.tuning._portfolio import Leg

    maximize, default = run.maximize, run.default
    legs = run.legs or [Leg(run.learner, run.study, None, primary=True)]
    finished: list[tuple[Any, Any]] = []  # (leg, trial)
    n_interrupted = n_retried = n_running = 0
    for leg in legs:
        counts = count_trials(sorted(leg.study.get_trials(deepcopy=False), key=lambda t: t.number))
        finished += [(leg, t) for t in counts.finished]  # interrupted trials (stopped or dead workers) are not
        n_interrupted += len(counts.interrupted)
        n_retried += len(counts.retried)
        n_running += len(counts.running)
    if len(legs) > 1:  # trial order across the studies: by start time
        finished.sort(key=lambda e: (e[1].datetime_start.timestamp() if e[1].datetime_start else 0.0, e[1].number))
    complete = [(leg, t) for leg, t in finished if t.state == TrialState.COMPLETE and t.value is not None
                and math.isfinite(t.value)]
    best = _best_of(complete, maximize, key=lambda e: e[1].value)
    done = {id(t) for _, t in complete}
    beaten_after = next((pos for pos, (_, t) in enumerate(finished, start=1) if id(t) in done
                         and default.score is not None and better(t.value, default.score, maximize)), None)
    warm_trials = [t for _, t in finished if t.user_attrs.get(SOURCE_ATTR) == "warm_start"]
    errors = list(dict.fromkeys(t.user_attrs["error"] for _, t in finished if t.user_attrs.get("error")))
    if best is None and default.score is None and default.stopped and not errors:
        # nothing finished within the budget: the library default is the best guess (refitted, unscored)
        run.notes.append("no configuration was scored within the time budget: the model uses the library "
                         "default, unscored")
    elif best is None and default.score is None and run.stopped_by_user:
        raise KeyboardInterrupt  # stopped before anything was scored: nothing to build a model from
    elif best is None and default.score is None:
        first = errors[0] if errors else (default.error or "no trial completed")
        raise MetaoptError(f"no configuration could be evaluated ({len(finished)} trial(s) failed or were "
                           f"pruned; default: {default.error or 'n/a'}); first error: {first}")
    if best is None or better(default.score, best[1].value, maximize):
        chosen = dict(best_is_default=True, best_params=dict(default.params), best_score=default.score,
                      best_trial=None, best_learner=run.learner)
    else:
        leg, trial = best
        chosen = dict(best_is_default=False, best_params=dict(trial.user_attrs.get("config") or trial.params),
                      best_score=float(trial.value), best_trial=leg.label(trial.number), best_learner=leg.learner)
    return dict(chosen, beaten_after=beaten_after, n_trials=len(finished), n_complete=len(complete),
                n_pruned=sum(t.state == TrialState.PRUNED for _, t in finished),
                n_stopped=sum(bool(t.user_attrs.get(STOPPED_ATTR)) for _, t in finished),
                n_failed=sum(t.state == TrialState.FAIL for _, t in finished), n_warm_started=len(warm_trials),
                best_warm_start_score=_best_of([t.value for t in warm_trials if id(t) in done], maximize),
                errors=errors[:10], n_interrupted=n_interrupted, n_retried=n_retried, n_running=n_running)


def summarise(run: TuneRun, trial_fields: dict[str, Any], refit_time_s: float,
              ensemble: dict[str, Any] | None = None) -> TuneSummary:
    """The :class:`TuneSummary` of the run."""
    ds, default = run.ds, run.default
    n_warm = sum(leg.n_warm for leg in run.legs) if run.legs else run.n_warm
    warm = (f"{n_warm} recommended configuration(s)" if run.warm_start and n_warm else
            ("off" if not run.warm_start else "none available"))
    return TuneSummary(
        dataset=ds.name, kind=ds.kind, target=ds.target, n_rows=ds.n_rows, n_features=ds.n_features,
        learner=trial_fields.get("best_learner") or run.learner, metric=run.metric, direction=run.direction, cv=run.n_folds,
        evaluation=run.plan.describe(), time=run.budget.breakdown(),
        **{**{k: v for k, v in trial_fields.items() if k != "best_learner"},
           "best_params": jsonable(trial_fields["best_params"])},
        default_score=default.score, default_params=default.params, default_error=default.error,
        n_trials_run=run.n_trials_run, stopped_by_user=run.stopped_by_user, warm_start=warm, sampler=run.sampler_label, pruner=run.pruner_label,
        study_name=run.study.study_name, storage=storage_label(run.storage), search_time_s=run.search_time_s,
        default_time_s=default.time_s, refit_time_s=refit_time_s, random_state=run.args.seed,
        notes=list(dict.fromkeys(run.notes)), fold_seed=run.fold_seed, ensemble=jsonable(ensemble),
        learners=jsonable(describe_legs(run.legs, run.maximize, run.default)) if len(run.legs) > 1 else None,
    )


def finish(run: TuneRun) -> TuneResult:
    """Pick the best configuration, refit it on all rows and assemble the result."""
    from metaopt import __version__

    fields = _trial_fields(run)
    ds = run.ds
    t0 = time.monotonic()
    fitted, ensemble = final_ensemble(run, fields) if run.args.ensemble else (None, None)
    if not run.args.ensemble:
        fields = final_single(run, fields)
    if fitted is None:
        fields = affordable(run, fields)
    final_params = fields["best_params"]
    learner = fields.get("best_learner") or run.learner
    if fitted is None:
        fitted = refit_best(run, fields, ensemble)
    run.budget.lap("refit")
    summary = summarise(run, fields, time.monotonic() - t0, ensemble)
    metadata = {
        "metric": run.metric, "direction": run.direction, "cv": run.n_folds,
        "cv_score": ensemble["cv_score"] if _blend(fitted) else summary.best_score,
        "ensemble": summary.ensemble if _blend(fitted) else None,
        "default_score": summary.default_score, "dataset": ds.name, "n_rows": ds.n_rows, "target": ds.target,
        "source": ds.source, "study_name": run.study.study_name, "metaopt_version": __version__,
        "versions": _library_versions(), "summary": summary.to_dict(),
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "tune_seconds": time.monotonic() - run.t_start,
    }
    model = TunedModel(fitted, ColumnSchema.from_dataset(ds), learner=learner, kind=ds.kind,
                       params=final_params, metadata=json.loads(json.dumps(metadata, default=str)))
    return TuneResult(model=model, summary=summary, study=run.study, notes=summary.notes)


def _blend(fitted: Any) -> bool:
    """Whether the model blends several configurations (not one configuration's seed bag)."""
    return isinstance(fitted, EnsembleFit) and len(fitted.members) > 1


def _library_versions() -> dict[str, str]:
    out = {}
    for mod in ("sklearn", "lightgbm", "optuna", "pandas", "numpy"):
        try:
            out[mod] = __import__(mod).__version__
        except Exception:  # noqa: BLE001
            out[mod] = "unknown"
    return out
