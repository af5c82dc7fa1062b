"""``metaopt.tuning.tune``: a warm-started Optuna search with K-fold cross-validation.

How a run goes
--------------
1. **Data and folds.** The data become a :class:`~metaopt.data.Dataset`; the
   folds are the knowledge-base protocol's (:class:`metaopt.kb._protocol.Protocol`
   with ``n_folds=cv``, ``seed=random_state`` and no row cap): stratified K-fold
   for classification, K-fold for regression, shuffled with ``random_state``.
   Every trial and the library default see exactly these folds; fold ``i`` is
   fitted with ``random_state + i`` and the metrics are the protocol's.
2. **Metric.** Default per kind: ``roc_auc`` (binary), ``log_loss``
   (multiclass), ``rmse`` (regression); any of the protocol's metrics of that
   kind may be chosen.  The direction follows the metric.  The objective is the
   mean of the finite per-fold scores.
3. **Learner.** ``learner="auto"`` asks :func:`metaopt.recommend` (learner
   ``"auto"``) and searches the learner of its top recommendation (one learner
   per study: a categorical learner choice would split a small budget across
   conditional spaces); without a usable knowledge base it falls back to
   LightGBM.  The search space is the learner's own
   (:meth:`~metaopt.learners.Learner.search_space`).
4. **Warm start.** ``warm_start=True`` enqueues the ``k`` recommended
   configurations of that learner (:func:`metaopt.warmstart.warm_start`,
   idempotent per study: a resumed study is not enqueued twice), so the first
   trials are the recommendations.
5. **Sampler.** ``sampler="meta"`` uses :class:`metaopt.warmstart.MetaSampler`
   (if it cannot be built, TPE, noted in the summary), ``"tpe"`` Optuna's
   ``TPESampler(seed=random_state)``, ``"random"`` ``RandomSampler``, these two in
   :class:`~metaopt.warmstart.DistinctSampler`: none proposes a configuration the
   study already has.  An Optuna sampler object is used as given.
6. **Library default.** The learner's library defaults are cross-validated once
   on the same folds, as an extra step *before* the search and *outside* the
   study (it is not a trial: its values, e.g. LightGBM's fixed 100 rounds, are
   outside the search space and would mislead the sampler).  On a resumed study
   the stored default score is reused.
7. **Pruning.** After each fold the running mean of the fold scores is
   reported (``trial.report(mean, fold)``).  ``pruner="auto"`` is
   :class:`FoldPruner` ``(25.0, n_startup_trials=5, n_warmup_steps=1,
   n_min_trials=3)``: once 5 trials have completed, a trial whose running mean
   after its second (or a later) fold is worse than the 25th percentile of the
   completed trials' running means after the same fold - the worst quarter -
   is stopped (``optuna.TrialPruned``) and its remaining folds are not fitted.
   Optuna's ``MedianPruner``/``PercentilePruner`` are not used because they
   compare the *best* intermediate value over the steps so far, which for
   running CV means is the (noisy) first fold: measured on credit-g they pruned
   nothing in 30 trials, not even a trial 0.03 AUC below all others.  With ``cv < 3`` nothing
   could be saved and no pruner is used.  ``pruner=None`` switches pruning off;
   an Optuna pruner object is used as given.
8. **Failures.** A trial whose fit or scoring raises (or whose metric is
   undefined in every fold) gets ``trial.set_user_attr("error", ...)`` and ends
   in the FAIL state; the search goes on.  Only when no configuration at all
   (trials and default) could be evaluated does :func:`tune` raise.
9. **Result.** The best configuration is the best completed trial, or the
   library default when it scored strictly better than every trial
   (``summary.best_is_default``).  It is refitted on all rows with the same
   procedure as in a fold (LightGBM: early stopping on an inner split of the
   training rows) and returned as :class:`~metaopt.tuning.TunedModel`.

10. **Workers and faults.** Several processes may share a study (same storage and name), started
   together or not, each with its own ``random_state`` for its sampler.  The study records its
   setup and a fingerprint of the data (column names, target, :func:`metaopt.content_hash`); a
   run with another setup or other data is refused.  A trial stopped by Ctrl-C or lost with its
   worker (SIGKILL; detected by Optuna's heartbeat on RDB storages) is retried once by the next
   run and counted apart (``summary.n_interrupted``, ``n_retried``, ``n_running``); see
   :mod:`metaopt.tuning._resume`.

``n_trials`` counts the trials run by this call (a resumed study adds them);
``timeout`` (seconds) stops the search after the running trial and limits
each fit to the time left.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import numbers
import sys
import time
import traceback
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import optuna

from metaopt.exceptions import ConfigError, KnowledgeBaseError, MetaoptError, StorageError
from metaopt.tuning._model import ColumnSchema, TunedModel, check_feature_magnitude
from metaopt.tuning._resume import INTERRUPTED_ATTR, count_trials, retry_interrupted
from metaopt.tuning._storage import open_storage, storage_label
from metaopt.tuning._summary import TuneSummary

DEFAULT_ATTR = "metaopt:default"
SETUP_ATTR = "metaopt:tune"
SOURCE_ATTR = "metaopt:source"


class _TrialFailed(Exception):
    """Raised inside the objective for a failed configuration (caught by ``study.optimize``)."""


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


# --------------------------------------------------------------------------- helpers
def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, (np.bool_,)):
        return bool(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    return v


def _error_text(exc: BaseException) -> str:
    msg = f"{type(exc).__name__}: {exc}".strip().replace("\n", " ")
    tb = traceback.extract_tb(exc.__traceback__)
    where = f" [{tb[-1].filename.rsplit('/', 1)[-1]}:{tb[-1].lineno}]" if tb else ""
    return msg[:500] + where


def _check_int(name: str, value: Any, low: int, allow_none: bool = False) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ConfigError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def check_data(ds: Any, cv: Any, notes: list[str] | None = None) -> None:
    """Refuse, before any fit, data on which no trial could be evaluated as asked (ConfigError/DataError).

    Called by :func:`tune`, and by ``metaopt tune`` before it prints anything.

    ``cv`` above the rows (the splitter would silently run leave-one-out, minutes per trial) or, for
    classification, above the rows of the largest class (scikit-learn's ``StratifiedKFold`` refuses
    that too; the test folds would hold one or two rows).  A class smaller than ``cv`` is valid: the
    folds are still stratified and that class is missing from some test folds (a note says so).
    """
    cv = _check_int("cv", cv, 2)
    notes = [] if notes is None else notes
    n = ds.n_rows
    if cv > n:
        raise ConfigError(f"cv={cv} folds but the data have {n} rows with a target; every test fold needs "
                          f"rows: use cv <= {n} (5 or 10 is usual)")
    if ds.kind != "regression":
        counts = ds.y.value_counts()
        counts = counts[counts > 0]
        if cv > int(counts.max()):
            raise ConfigError(f"cv={cv} folds but even the largest class ({counts.idxmax()!r}) has only "
                              f"{int(counts.max())} rows, so stratified folds are impossible; use cv <= "
                              f"{int(counts.max())} (5 or 10 is usual)")
        small = counts[counts < cv]
        if len(small):
            shown = ", ".join(f"{k!r} ({int(v)} rows)" for k, v in small.head(5).items())
            notes.append(f"class(es) with fewer rows than cv={cv} folds: {shown}; some test folds lack them")
    check_feature_magnitude(ds.X)


def _open_study(storage: Any, study_name: str | None, sampler: Any, pruner: Any, direction: str,
                metric: str) -> Any:
    """Create the study or load the one of that name; refuse one of the other direction."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        with _quiet_optuna():
            study = optuna.create_study(storage=storage, sampler=sampler, pruner=pruner, study_name=study_name,
                                        direction=direction, load_if_exists=True)
    except ValueError as exc:
        raise ConfigError(f"cannot open study {study_name!r}: {exc}") from None
    except SQLAlchemyError as exc:  # e.g. a read-only database file, a lost connection
        text = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or ["?"])[0]
        raise StorageError(f"cannot open study {study_name!r} in {storage_label(storage)!r}: {text}") from None
    if study.direction.name.lower() != direction:
        raise ConfigError(f"study {study.study_name!r} is a {study.direction.name.lower()} study, but metric "
                          f"{metric!r} needs {direction}; use another study name")
    return study


def _data_fingerprint(ds: Any) -> dict[str, Any]:
    from metaopt.data import content_hash

    return {"columns": [str(c) for c in ds.X.columns], "target": str(ds.target), "hash": content_hash(ds)}


def _data_mismatch(name: str, old: dict[str, Any], new: dict[str, Any]) -> str:
    if old.get("target") != new["target"]:
        what = f"target {old.get('target')!r}, this run {new['target']!r}"
    elif old.get("columns") != new["columns"]:
        gone = [c for c in old.get("columns") or [] if c not in new["columns"]]
        extra = [c for c in new["columns"] if c not in (old.get("columns") or [])]
        what = (f"columns missing here: {gone[:5]}, " if gone else "") + \
            (f"columns new here: {extra[:5]}" if extra else "the same columns in another order")
        what = what.rstrip(", ")
    else:
        what = (f"same columns and target but other values (content hash {str(old.get('hash'))[:12]}, this run "
                f"{new['hash'][:12]})")
    return (f"study {name!r} was run on other data ({what}); its scores would be mixed with this data's: use "
            "another study name, or the study's data")


def _check_setup(study: Any, setup: dict[str, Any]) -> int:
    """Record the setup in a new study, or check a resumed one's; returns the study's fold seed.

    Atomic under the warm start's storage lock: workers starting together on a new study must
    agree on one seed for the folds (each worker keeps its own sampler seed).
    """
    from metaopt.warmstart import storage_lock

    with storage_lock(study._storage, study.study_name):
        old = study._storage.get_study_user_attrs(study._study_id).get(SETUP_ATTR)
        if old is None:
            study.set_user_attr(SETUP_ATTR, setup)
            return int(setup["seed"])
        diff = [key for key in ("learner", "metric", "cv", "kind", "n_rows", "n_features")
                if old.get(key) != setup[key]]
        if diff:
            raise ConfigError(f"study {study.study_name!r} was created with "
                              + ", ".join(f"{key}={old.get(key)!r}" for key in diff)
                              + " but this run has " + ", ".join(f"{key}={setup[key]!r}" for key in diff)
                              + "; use another study name")
        if not isinstance(old.get("data"), dict):  # a study from before data fingerprints: record this one
            study.set_user_attr(SETUP_ATTR, {**old, "data": setup["data"]})
        elif old["data"] != setup["data"]:
            raise ConfigError(_data_mismatch(study.study_name, old["data"], setup["data"]))
    return int(old.get("seed", setup["seed"]))  # the summary shows it when it is not this worker's seed


class FoldPruner(optuna.pruners.BasePruner):
    """Prune a trial whose running CV mean is in the worst ``percentile`` % at the same fold.

    Compares the trial's value *at the current step* (the running mean of its
    fold scores; every trial uses the same folds) with the completed trials'
    values at that step (completed and pruned trials that reached the step).
    Pruning starts once ``n_startup_trials`` trials have completed, from step ``n_warmup_steps`` on, and needs ``n_min_trials``
    completed values at the step.
    """

    def __init__(self, percentile: float = 25.0, n_startup_trials: int = 5, n_warmup_steps: int = 1,
                 n_min_trials: int = 3):
        if not 0.0 <= percentile <= 100.0:
            raise ConfigError(f"percentile must be in [0, 100], got {percentile!r}")
        self.percentile = float(percentile)
        self.n_startup_trials = int(n_startup_trials)
        self.n_warmup_steps = int(n_warmup_steps)
        self.n_min_trials = max(1, int(n_min_trials))

    def prune(self, study: Any, trial: Any) -> bool:
        from optuna.study import StudyDirection
        from optuna.trial import TrialState

        step = trial.last_step
        if step is None or step < self.n_warmup_steps:
            return False
        current = trial.intermediate_values.get(step)
        if current is None or not math.isfinite(current):
            return False
        completed = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if len(completed) < self.n_startup_trials:
            return False
        # reference: every finished trial that reached this fold (pruned ones included, so that the
        # reference is not only the survivors of earlier pruning)
        finished = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))
        values = [t.intermediate_values[step] for t in finished if step in t.intermediate_values]
        values = [v for v in values if v is not None and math.isfinite(v)]
        if len(values) < self.n_min_trials:
            return False
        if study.direction == StudyDirection.MAXIMIZE:
            return current < float(np.percentile(values, self.percentile))
        return current > float(np.percentile(values, 100.0 - self.percentile))


def _make_pruner(pruner: Any, cv: int) -> tuple[Any, str]:
    if pruner is None or pruner is False:
        return optuna.pruners.NopPruner(), "none"
    if isinstance(pruner, str):
        if pruner != "auto":
            raise ConfigError(f"pruner must be 'auto', None or an Optuna pruner, got {pruner!r}")
        if cv < 3:
            return optuna.pruners.NopPruner(), "none (cv < 3)"
        return FoldPruner(25.0, n_startup_trials=5, n_warmup_steps=1, n_min_trials=3), \
            "FoldPruner(worst 25%, after 5 trials, from fold 2)"
    if isinstance(pruner, optuna.pruners.BasePruner):
        return pruner, type(pruner).__name__
    raise ConfigError(f"pruner must be 'auto', None or an Optuna pruner, got {type(pruner).__name__}")


def _make_sampler(sampler: Any, ds: Any, learner: str, k: int, kb: Any, seed: int, meta_features: dict | None,
                  recs: list[Any], space: dict, warm: bool, notes: list[str]) -> tuple[Any, str]:
    import optuna

    from metaopt.warmstart import DistinctSampler, MetaSampler

    if isinstance(sampler, optuna.samplers.BaseSampler):
        return sampler, type(sampler).__name__
    # metaopt's samplers never propose a configuration the study already has (MetaSampler checks itself)
    if sampler == "tpe":
        return DistinctSampler(optuna.samplers.TPESampler(seed=seed), seed=seed), "tpe"
    if sampler == "random":
        return DistinctSampler(optuna.samplers.RandomSampler(seed=seed), seed=seed), "random"
    if sampler != "meta":
        raise ConfigError(f"sampler must be 'meta', 'tpe', 'random' or an Optuna sampler, got {sampler!r}")
    kw: dict[str, Any] = dict(kind=ds.kind, learner=learner, k=k, kb=kb, seed=seed, recommendations=list(recs),
                              search_space=space, warm_start=warm)
    try:
        if meta_features is not None:
            return MetaSampler(meta_features=meta_features, **kw), "meta"
        return MetaSampler(ds.X, ds.y, **kw), "meta"
    except (MetaoptError, TypeError, ValueError) as exc:
        notes.append(f"MetaSampler could not be built ({_error_text(exc)}); TPE used instead")
    return DistinctSampler(optuna.samplers.TPESampler(seed=seed), seed=seed), "tpe (MetaSampler failed)"


def _recommendations(ds: Any, learner: str, k: int, kb: Any, notes: list[str]
                     ) -> tuple[str | None, list[Any], dict | None]:
    """(learner chosen by 'auto' or None, recommendations of that learner, meta-features)."""
    try:
        from metaopt._recommend import QUERY_GROUPS, recommend
    except ImportError:
        notes.append("metaopt.recommend is not available: no recommendations")
        return None, [], None
    meta: dict | None = None
    try:
        from metaopt.features import extract_meta_features

        meta = dict(extract_meta_features(ds, groups=QUERY_GROUPS).values)
    except Exception as exc:  # noqa: BLE001 - recommend computes them itself then
        notes.append(f"meta-features failed ({_error_text(exc)})")
    try:
        chosen = None
        if learner == "auto":
            recs = recommend(ds, learner="auto", k=k, kb=kb, meta_features=meta)
            if not recs:
                return None, [], meta
            chosen = recs[0].learner
            same = [r for r in recs if r.learner == chosen]
            if len(same) < len(recs):
                try:
                    same = recommend(ds, learner=chosen, k=k, kb=kb, meta_features=meta)
                except (KnowledgeBaseError, ConfigError) as exc:  # keep the auto list's configurations
                    notes.append(f"only {len(same)} recommendation(s) of {chosen}: {exc}")
            return chosen, list(same), meta
        return None, list(recommend(ds, learner=learner, k=k, kb=kb, meta_features=meta)), meta
    except (KnowledgeBaseError, ConfigError, OSError, MetaoptError) as exc:
        notes.append(f"no recommendations: {exc}")
    except Exception as exc:  # noqa: BLE001 - the warm start is an optimisation, never a reason to fail
        notes.append(f"no recommendations: {_error_text(exc)}")
    return None, [], meta


def _enqueue(study: Any, ds: Any, learner: str, recs: list[Any], space: dict, k: int, kb: Any,
             notes: list[str]) -> int:
    """Warm-start the study with ``recs``; returns how many configurations the study holds from it."""
    if not recs:
        return 0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            from metaopt.warmstart import warm_start
        except ImportError:
            warm_start = None
        if warm_start is not None:
            params = warm_start(study, ds.X, ds.y, learner=learner, k=k, kb=kb, recommendations=recs,
                                search_space=space, kind=ds.kind)
            n = len(params)
        else:  # fallback: plain enqueue, skipping configurations already in the study
            n = 0
            for rec in recs[:k]:
                params = {p: _jsonable(v) for p, v in dict(rec.params).items() if p in space}
                study.enqueue_trial(params, user_attrs={SOURCE_ATTR: "warm_start"}, skip_if_exists=True)
                n += 1
    for w in caught:
        if issubclass(w.category, UserWarning):
            notes.append(str(w.message)[:300])
    return n


@contextlib.contextmanager
def _quiet_optuna() -> Iterator[None]:
    logger = logging.getLogger("optuna")
    old = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(old)


def _suggest(trial: Any, name: str, dist: Any) -> Any:
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    if isinstance(dist, FloatDistribution):
        return trial.suggest_float(name, dist.low, dist.high, log=dist.log, step=dist.step)
    if isinstance(dist, IntDistribution):
        return trial.suggest_int(name, dist.low, dist.high, log=dist.log, step=dist.step)
    if isinstance(dist, CategoricalDistribution):
        return trial.suggest_categorical(name, list(dist.choices))
    raise ConfigError(f"unsupported distribution for {name!r}: {dist!r}")


class _CV:
    """The fixed folds and the metric; evaluates one configuration fold by fold."""

    def __init__(self, ds: Any, learner: Any, metric: str, cv: int, seed: int, deadline: float | None):
        from metaopt.kb._protocol import Protocol

        self.protocol = Protocol(n_folds=cv, seed=seed, max_rows=None, time_limit_s=None)
        self.task = self.protocol.prepare(ds)
        self.learner = learner
        self.metric = metric
        self.seed = seed
        self.deadline = deadline

    @property
    def n_folds(self) -> int:
        return len(self.task.folds)

    def fold_scores(self, params: dict[str, Any], on_fold: Any = None) -> list[float]:
        from metaopt.kb._protocol import score_model

        t = self.task
        params = self.learner.validate_params(params, t.kind)
        scores: list[float] = []
        for i, (tr, te) in enumerate(t.folds):
            limit = None
            if self.deadline is not None:
                limit = max(1.0, self.deadline - time.monotonic())
            model = self.learner.fit(t.X.iloc[tr], t.y.iloc[tr], params, t.kind,
                                     random_state=self.seed + i, time_limit_s=limit)
            value = float(score_model(model, t.X.iloc[te], t.y.iloc[te], t.kind, t.labels)[self.metric])
            scores.append(value)
            if on_fold is not None:
                on_fold(i, scores)
        return scores


def _mean(scores: list[float]) -> float:
    finite = [s for s in scores if s is not None and math.isfinite(s)]
    return float(np.mean(finite)) if finite else float("nan")


def _better(a: float | None, b: float | None, maximize: bool) -> bool:
    """Whether score ``a`` is strictly better than ``b`` (None/NaN never better; anything beats None)."""
    if a is None or not math.isfinite(a):
        return False
    if b is None or not math.isfinite(b):
        return True
    return a > b if maximize else a < b


# --------------------------------------------------------------------------- main entry
def tune(data_or_X: Any, y: Any = None, *, target: Any = None, learner: str = "auto", n_trials: int | None = 50,
         timeout: float | None = None, cv: int = 5, metric: str | None = None, storage: Any = None,
         study_name: str | None = None, random_state: int = 0, warm_start: bool = True, sampler: Any = "meta",
         progress: bool = True, n_jobs: int = 1, k: int = 5, kb: Any = None, pruner: Any = "auto",
         kind: str | None = None) -> TuneResult:
    """Tune a learner's hyperparameters with a warm-started, cross-validated Optuna search.

    Parameters
    ----------
    data_or_X
        A file path, a DataFrame (with ``target``), features (with ``y``) or a
        :class:`~metaopt.data.Dataset` (see :func:`metaopt.load_data`).
    y, target, kind
        The target values or the target column's name; the task kind (inferred by default).
    learner
        ``"auto"`` (the learner of the top recommendation; LightGBM without a
        knowledge base) or a registered learner name (``"lightgbm"``, ``"random_forest"``, ...).
    n_trials, timeout
        Budget of this call: number of trials and/or seconds (at least one of them).
    cv
        Number of cross-validation folds (>= 2), the same folds for every trial; at most the
        number of rows (classification: the rows of the largest class), else ``ConfigError``
        at once.  Numeric feature values beyond +-3.4e38 raise ``DataError`` at once too
        (see :data:`metaopt.tuning._model.MAX_FEATURE_MAGNITUDE`).
    metric
        ``roc_auc``/``log_loss``/``accuracy`` (classification), ``rmse``/``r2`` (regression);
        default ``roc_auc`` (binary), ``log_loss`` (multiclass), ``rmse`` (regression).
    storage, study_name
        Optuna storage - a URL (``sqlite:///tune.db``, ``postgresql+psycopg2://user:pw@host/db``,
        ``journal:///path/study.log``), an existing SQLite or journal file, a new file ending in
        ``.db``/``.sqlite``/``.sqlite3``, or a storage object; anything else raises
        :class:`~metaopt.StorageError` before any work (:mod:`metaopt.tuning._storage`) - and
        study name.  An existing study of that name is resumed (its trials count; new trials are added).
        With a storage and no name, the name is derived from dataset, learner, metric, folds and seed,
        so running the same command again resumes.
    random_state
        Seed of the folds, the sampler and the fits.  A worker joining or resuming a study with
        another seed keeps the study's folds and fit seeds (so that scores stay comparable) and
        seeds only its sampler with it.
    warm_start
        Enqueue the ``k`` recommended configurations first.
    sampler
        ``"meta"``, ``"tpe"``, ``"random"`` or an Optuna sampler.
    progress
        Show a tqdm progress bar on stderr.
    n_jobs
        Parallel trials (threads; every fit uses one thread).
    kb
        Knowledge base for the recommendations (default: the shipped one).
    pruner
        ``"auto"`` (see the module documentation), ``None`` or an Optuna pruner.

    Returns
    -------
    TuneResult
        ``.model`` (refitted on all rows), ``.summary``, ``.study``.
    """
    import optuna

    from metaopt.data import load_data
    from metaopt.kb._protocol import GREATER_IS_BETTER, KIND_METRICS, PRIMARY
    from metaopt.learners import check_offered, get_learner

    t_start = time.monotonic()
    n_trials = _check_int("n_trials", n_trials, 1, allow_none=True)
    if timeout is not None:
        if isinstance(timeout, bool) or not isinstance(timeout, numbers.Real) or not timeout > 0:
            raise ConfigError(f"timeout must be a positive number of seconds, got {timeout!r}")
        timeout = float(timeout)
    if n_trials is None and timeout is None:
        raise ConfigError("give n_trials or timeout (or both); otherwise the search would never stop")
    cv = _check_int("cv", cv, 2)
    n_jobs = _check_int("n_jobs", n_jobs, 1)
    k = _check_int("k", k, 1)
    seed = _check_int("random_state", random_state, 0)
    if not isinstance(learner, str):
        raise ConfigError(f"learner must be a string such as 'auto' or 'lightgbm', got {learner!r}")
    if learner != "auto":
        check_offered(learner)

    ds = load_data(data_or_X, target=target, y=y, kind=kind)
    if metric is None:
        metric = PRIMARY[ds.kind]
    if metric not in KIND_METRICS[ds.kind]:
        raise ConfigError(f"metric {metric!r} does not apply to {ds.kind} tasks (choose one of "
                          f"{', '.join(KIND_METRICS[ds.kind])})")
    maximize = GREATER_IS_BETTER[metric]
    direction = "maximize" if maximize else "minimize"
    notes: list[str] = list(ds.meta.get("row_notes", []))  # dropped rows are lost data: always say so
    check_data(ds, cv, notes)
    storage_obj = open_storage(storage, heartbeat=True)  # before the slow part: a bad storage fails at once

    # ---- learner and recommendations
    recs: list[Any] = []
    meta: dict | None = None
    chosen = learner
    if learner == "auto" or warm_start:
        auto_choice, recs, meta = _recommendations(ds, learner, k, kb, notes)
        if learner == "auto":
            chosen = auto_choice or "lightgbm"
            if auto_choice is None:
                notes.append("learner 'auto' fell back to lightgbm")
    lrn = get_learner(chosen)
    if ds.kind not in lrn.kinds:
        raise ConfigError(f"learner {chosen!r} does not support {ds.kind} tasks")
    recs = [r for r in recs if getattr(r, "learner", chosen) == chosen]
    space = dict(lrn.search_space(ds.kind))

    # ---- study
    if study_name is None and storage_obj is not None:
        study_name = f"metaopt-{ds.name}-{chosen}-{metric}-cv{cv}-s{seed}"
    pruner_obj, pruner_label = _make_pruner(pruner, cv)
    # the sampler gets this worker's seed; folds and fits get the study's (fold_seed)
    sampler_obj, sampler_label = _make_sampler(sampler, ds, chosen, k, kb, seed, meta, recs, space,
                                               bool(warm_start), notes)
    study = _open_study(storage_obj, study_name, sampler_obj, pruner_obj, direction, metric)
    fold_seed = _check_setup(study, {"learner": chosen, "metric": metric, "cv": cv, "seed": seed, "kind": ds.kind,
                                     "n_rows": ds.n_rows, "n_features": ds.n_features,
                                     "data": _data_fingerprint(ds)})

    deadline = (time.monotonic() + timeout) if timeout is not None else None
    cvx = _CV(ds, lrn, metric, cv, fold_seed, deadline)

    # ---- library default on the same folds (outside the study)
    default_params = _jsonable(lrn.default_params(ds.kind))
    default_score: float | None = None
    default_error: str | None = None
    t0 = time.monotonic()
    stored = study.user_attrs.get(DEFAULT_ATTR)
    if isinstance(stored, dict) and stored.get("metric") == metric:
        default_score, default_error = stored.get("score"), stored.get("error")
    else:
        try:
            d_scores = cvx.fold_scores(default_params)
            default_score = _mean(d_scores)
            if not math.isfinite(default_score):
                default_score, default_error = None, f"{metric} undefined in every fold"
        except Exception as exc:  # noqa: BLE001 - the default failing is reported, not fatal
            d_scores, default_error = [], _error_text(exc)
        study.set_user_attr(DEFAULT_ATTR, {"metric": metric, "score": default_score, "error": default_error,
                                           "fold_scores": [float(s) for s in d_scores]})
    default_time = time.monotonic() - t0

    # ---- warm start
    n_warm = 0
    if warm_start:
        try:
            n_warm = _enqueue(study, ds, chosen, recs, space, k, kb, notes)
        except Exception as exc:  # noqa: BLE001 - a failed warm start leaves a plain search
            notes.append(f"warm start failed: {_error_text(exc)}")
        if not recs:
            notes.append("warm start: no recommendations available")

    # ---- objective
    def objective(trial: Any) -> float:
        params = {name: _suggest(trial, name, dist) for name, dist in space.items()}
        trial.set_user_attr("config", _jsonable(params))

        def on_fold(i: int, scores: list[float]) -> None:
            running = _mean(scores)
            if not math.isfinite(running):
                return
            trial.report(running, i)
            if i + 1 < cvx.n_folds and trial.should_prune():
                trial.set_user_attr("fold_scores", [float(s) for s in scores])
                raise optuna.TrialPruned(f"pruned after fold {i + 1} of {cvx.n_folds}")

        try:
            scores = cvx.fold_scores(params, on_fold)
        except optuna.TrialPruned:
            raise
        except Exception as exc:  # noqa: BLE001 - a failing configuration is recorded, never fatal
            msg = _error_text(exc)
            trial.set_user_attr("error", msg)
            raise _TrialFailed(msg) from exc
        trial.set_user_attr("fold_scores", [float(s) for s in scores])
        value = _mean(scores)
        if not math.isfinite(value):
            msg = f"{metric} is undefined (NaN) in every fold"
            trial.set_user_attr("error", msg)
            raise _TrialFailed(msg)
        return value

    def marked(trial: Any) -> float:
        try:
            return objective(trial)
        except KeyboardInterrupt:  # Ctrl-C: the configuration is retried once on resume (_resume)
            trial.set_user_attr(INTERRUPTED_ATTR, "KeyboardInterrupt")
            raise

    # ---- search
    from tqdm.auto import tqdm

    bar = tqdm(total=n_trials, disable=not progress, file=sys.stderr, unit="trial", dynamic_ncols=True,
               desc=f"tuning {chosen}")
    state = {"best": None, "run": 0}

    def callback(study_: Any, frozen: Any) -> None:
        state["run"] += 1
        if frozen.state.name == "COMPLETE" and _better(frozen.value, state["best"], maximize):
            state["best"] = frozen.value
        post = {"best": f"{state['best']:.4f}" if state["best"] is not None else "-"}
        if default_score is not None:
            post["default"] = f"{default_score:.4f}"
        bar.set_postfix(post, refresh=False)
        bar.update(1)

    from metaopt.warmstart import guard_trial_queue

    guard_trial_queue(study)  # SQLite: two processes must not pop the same enqueued trial
    retry_interrupted(study)  # Ctrl-C'd trials; dead workers' ones are retried by Optuna's heartbeat (_storage)
    t0 = time.monotonic()
    try:
        # failed trials are recorded in the study and the summary; Optuna's log lines would break the bar
        with _quiet_optuna(), warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*Fixed parameter.*out of range.*")
            study.optimize(marked, n_trials=n_trials, timeout=timeout, n_jobs=n_jobs, catch=(_TrialFailed,),
                           callbacks=[callback], gc_after_trial=False)
    finally:
        bar.close()
    search_time = time.monotonic() - t0

    # ---- results
    from optuna.trial import TrialState

    trials = sorted(study.get_trials(deepcopy=False), key=lambda t: t.number)
    counts = count_trials(trials)  # interrupted trials (stopped or dead workers) are not "finished"
    finished = counts.finished
    complete = [t for t in finished if t.state == TrialState.COMPLETE and t.value is not None
                and math.isfinite(t.value)]
    best_trial = None
    for t in complete:
        if best_trial is None or _better(t.value, best_trial.value, maximize):
            best_trial = t
    beaten_after = None
    for pos, t in enumerate(finished, start=1):
        if t in complete and default_score is not None and _better(t.value, default_score, maximize):
            beaten_after = pos
            break
    warm_trials = [t for t in finished if t.user_attrs.get(SOURCE_ATTR) == "warm_start"]
    warm_scores = [t.value for t in warm_trials if t in complete]
    best_warm = None
    for v in warm_scores:
        if best_warm is None or _better(v, best_warm, maximize):
            best_warm = v
    errors = list(dict.fromkeys(t.user_attrs["error"] for t in finished if t.user_attrs.get("error")))

    if best_trial is None and default_score is None:
        first = errors[0] if errors else (default_error or "no trial completed")
        raise MetaoptError(f"no configuration could be evaluated ({len(finished)} trial(s) failed or were "
                           f"pruned; default: {default_error or 'n/a'}); first error: {first}")
    if best_trial is None or _better(default_score, best_trial.value, maximize):
        best_is_default, final_params, best_score = True, dict(default_params), default_score
        best_number = None
    else:
        best_is_default = False
        final_params = dict(best_trial.user_attrs.get("config") or best_trial.params)
        best_score, best_number = float(best_trial.value), best_trial.number

    t0 = time.monotonic()
    fitted = lrn.fit(ds.X, ds.y, final_params, ds.kind, random_state=fold_seed)
    refit_time = time.monotonic() - t0

    summary = TuneSummary(
        dataset=ds.name, kind=ds.kind, target=ds.target, n_rows=ds.n_rows, n_features=ds.n_features,
        learner=chosen, metric=metric, direction=direction, cv=cvx.n_folds, best_score=best_score,
        best_params=_jsonable(final_params), best_trial=best_number, best_is_default=best_is_default,
        default_score=default_score, default_params=default_params, default_error=default_error,
        beaten_after=beaten_after, n_trials=len(finished), n_trials_run=state["run"],
        n_complete=len(complete), n_pruned=sum(t.state == TrialState.PRUNED for t in finished),
        n_failed=sum(t.state == TrialState.FAIL for t in finished), n_warm_started=len(warm_trials),
        best_warm_start_score=best_warm,
        warm_start=(f"{n_warm} recommended configuration(s)" if warm_start and n_warm else
                    ("off" if not warm_start else "none available")),
        sampler=sampler_label, pruner=pruner_label, study_name=study.study_name,
        storage=storage_label(storage_obj), search_time_s=search_time, default_time_s=default_time,
        refit_time_s=refit_time, random_state=seed, errors=errors[:10], notes=list(dict.fromkeys(notes)),
        fold_seed=fold_seed, n_interrupted=len(counts.interrupted), n_retried=len(counts.retried),
        n_running=len(counts.running),
    )
    from metaopt import _version

    metadata = {
        "metric": metric, "direction": direction, "cv_score": best_score, "cv": cvx.n_folds,
        "default_score": default_score, "dataset": ds.name, "n_rows": ds.n_rows, "target": ds.target,
        "source": ds.source, "study_name": study.study_name, "metaopt_version": _version.__version__,
        "versions": _library_versions(), "summary": summary.to_dict(),
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "tune_seconds": time.monotonic() - t_start,
    }
    model = TunedModel(fitted, ColumnSchema.from_dataset(ds), learner=chosen, kind=ds.kind,
                       params=final_params, metadata=json.loads(json.dumps(metadata, default=str)))
    return TuneResult(model=model, summary=summary, study=study, notes=summary.notes)


def _library_versions() -> dict[str, str]:
    out = {}
    for mod in ("sklearn", "lightgbm", "optuna", "pandas", "numpy"):
        try:
            out[mod] = __import__(mod).__version__
        except Exception:  # noqa: BLE001
            out[mod] = "unknown"
    return out
