"""``warm_start``: enqueue metaopt's recommended configurations into an Optuna study, once.

Signature (stable; :mod:`metaopt.tuning` calls it)::

    warm_start(study, X=None, y=None, *, learner="lightgbm", k=5, kb=None, target=None,
               recommendations=None, param_names=None, search_space=None, kind=None,
               meta_features=None, on_out_of_range="clip") -> list[dict]

It returns the enqueued parameter dicts in the study's own names.  It is
idempotent per study: the first call records what it enqueued in the study's
user attribute ``metaopt:warm_start`` (``{"learner", "config_ids", "params",
"version"}``, and ``planned`` where later picks follow the scores: :mod:`._adaptive`) and every later call - in this process or another worker sharing
the storage - returns that record's ``params`` and enqueues nothing.  Each
enqueued trial carries the user attributes ``metaopt:config_id`` and
``metaopt:source = "warm_start"``.

Atomicity: check-and-enqueue runs under a lock that every worker of the
storage shares (:func:`storage_lock`):

* PostgreSQL (RDBStorage): ``pg_advisory_xact_lock`` on a key derived from the
  study name, held by a transaction on the storage's own SQLAlchemy engine;
  MySQL: ``GET_LOCK``;
* SQLite (RDBStorage): an ``fcntl.flock`` on ``<database file>.metaopt.lock``
  (a ``BEGIN IMMEDIATE`` on a second connection would block the storage's own
  writes inside the lock); ``sqlite:///:memory:`` a threading lock;
* JournalStorage with :class:`~optuna.storages.journal.JournalFileBackend`: an
  ``fcntl.flock`` on ``<journal file>.metaopt.lock``;
* InMemoryStorage (and anything else, with a warning for unknown storages): a
  threading lock per storage object.

Values: the configurations are written in the learner's names, renamed with
``param_names={ours: theirs}`` (or automatically, see
:mod:`metaopt.warmstart._param_space`) and moved into the study's distributions -
``search_space`` when given, else the distributions of the study's existing
trials, else the learner's own search space - clipping out-of-range values
with a warning (``on_out_of_range="raise"`` raises instead).

Recommendations: ``recommendations=`` (a list of
:class:`metaopt.Recommendation`-like objects with ``.params``, or plain dicts)
or, by default, ``metaopt.recommend(X, y, ...)`` (without data: the same fitted
meta-model, for ``kind`` + ``meta_features``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import threading
import warnings
import weakref
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from metaopt.exceptions import ConfigError
from metaopt.utils import file_lock
from metaopt.warmstart._param_space import fit_to_space, learner_space, resolve_param_names, translate

__all__ = ["warm_start", "storage_lock", "get_recommendations", "WarmConfig", "ATTR", "is_warm_started"]

#: study user attribute holding the warm-start record
ATTR = "metaopt:warm_start"
CONFIG_ATTR = "metaopt:config_id"
SOURCE_ATTR = "metaopt:source"
_RECORD_VERSION = 1


# --------------------------------------------------------------------------- recommendations
@dataclass
class WarmConfig:
    """One recommended configuration in the learner's parameter names."""

    config_id: str
    params: dict[str, Any]
    learner: str = "lightgbm"
    score: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _config_id(params: Mapping[str, Any]) -> str:
    text = json.dumps({k: params[k] for k in sorted(params)}, default=str, sort_keys=True)
    return "cfg-" + hashlib.sha1(text.encode()).hexdigest()[:10]


def as_warm_configs(recommendations: Sequence[Any], learner: str = "lightgbm") -> list[WarmConfig]:
    """Recommendation objects (``.params``, optional ``.config_id``/``.learner``/``.score``) or dicts."""
    out: list[WarmConfig] = []
    for rec in recommendations:
        if isinstance(rec, WarmConfig):
            out.append(rec)
            continue
        if isinstance(rec, Mapping):
            if "params" in rec and isinstance(rec["params"], Mapping):
                params, cid = dict(rec["params"]), rec.get("config_id")
                lr, score = rec.get("learner", learner), rec.get("score")
            else:
                params, cid, lr, score = dict(rec), None, learner, None
        elif hasattr(rec, "params"):
            params = dict(rec.params)
            cid = getattr(rec, "config_id", None) or getattr(rec, "id", None)
            lr, score = getattr(rec, "learner", None) or learner, getattr(rec, "score", None)
        else:
            raise ConfigError(f"a recommendation must be a dict or have .params, got {type(rec).__name__}")
        out.append(WarmConfig(str(cid) if cid else _config_id(params), params, str(lr),
                              None if score is None else float(score)))
    return out


def task_of(X: Any, y: Any = None, *, target: Any = None, kind: str | None = None,
            meta_features: Mapping[str, float] | None = None) -> tuple[str, dict[str, float]]:
    """(kind, meta-features) of a task given as data, or as ``kind`` + ``meta_features``."""
    if X is None:
        if kind is None or meta_features is None:
            raise ConfigError("give the data (X, y / target) or both kind= and meta_features=")
        return kind, dict(meta_features)
    from metaopt.data import as_dataset
    from metaopt.features import extract_meta_features

    ds = as_dataset(X, y, target=target, kind=kind)
    if meta_features is None:
        meta_features = extract_meta_features(ds, groups=("general", "statistical", "info-theory")).to_dict()
    return ds.kind, dict(meta_features)


def get_recommendations(X: Any = None, y: Any = None, *, learner: str = "lightgbm", k: int = 5, kb: Any = None,
                        target: Any = None, kind: str | None = None,
                        meta_features: Mapping[str, float] | None = None) -> list[WarmConfig]:
    """The ``k`` configurations to try first: :func:`metaopt.recommend`'s, from the shared meta-model.

    Without data (``kind`` + ``meta_features`` only) the same fitted meta-model
    (:func:`metaopt.recommender.get_recommender`) ranks them; the dataset's size for
    the fit-time prediction is then read from the meta-features.
    """
    from metaopt.recommender import get_recommender, recommend

    if X is not None:
        extra = {"meta_features": dict(meta_features)} if meta_features is not None else {}
        recs = recommend(X, y, target=target, learner=learner, k=k, kb=kb, kind=kind, **extra)
        return as_warm_configs(recs, learner)[:k]
    kind_, meta = task_of(None, kind=kind, meta_features=meta_features)
    recs = get_recommender(kb, learner).recommend(kind_, meta, *task_size(meta), int(k))
    return as_warm_configs(recs, learner)[:k]


def check_learner(learner: str) -> str:
    """``learner``, a registered one: a warm start fills one objective, so ``"auto"`` (``tune``'s) is refused."""
    from metaopt.learners import get_learner

    if learner == "auto":
        raise ConfigError("learner='auto' is for tune, which searches each learner in a study of its own; a warm "
                          "start fills one objective: name its learner (lightgbm, random_forest, extra_trees, linear)")
    get_learner(learner)  # an unknown one: ConfigError naming the known ones
    return learner


def task_size(meta: Mapping[str, Any]) -> tuple[int, int, int]:
    """(rows, features, classes) as the meta-features give them (0 where missing or not finite)."""

    def count(name: str) -> int:
        try:
            v = float(meta.get(name, 0.0))
        except (TypeError, ValueError):
            return 0
        return int(v) if math.isfinite(v) and v >= 0 else 0

    return count("NumberOfInstances"), count("NumberOfFeatures"), count("NumberOfClasses")


# --------------------------------------------------------------------------- locks
_THREAD_LOCKS: weakref.WeakKeyDictionary[Any, threading.RLock] = weakref.WeakKeyDictionary()
_PATH_LOCKS: dict[str, threading.RLock] = {}
_GUARD = threading.Lock()


def unwrap_storage(storage: Any) -> Any:
    """The storage behind Optuna's in-process cache (what locks and labels must look at)."""
    from optuna.storages._cached_storage import _CachedStorage

    while isinstance(storage, _CachedStorage):
        storage = storage._backend
    return storage


def _lock_key(study_name: str) -> int:
    digest = hashlib.sha256(f"metaopt:warm_start:{study_name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextlib.contextmanager
def _thread_lock(obj: Any) -> Iterator[None]:
    with _GUARD:
        try:
            lock = _THREAD_LOCKS.setdefault(obj, threading.RLock())
        except TypeError:  # not weak-referenceable
            lock = _PATH_LOCKS.setdefault(f"id:{id(obj)}", threading.RLock())
    with lock:
        yield


@contextlib.contextmanager
def storage_lock(storage: Any, study_name: str) -> Iterator[str]:
    """Hold a lock shared by every worker of ``storage`` for ``study_name``; yields its kind."""
    from optuna.storages import InMemoryStorage, JournalStorage, RDBStorage

    inner = unwrap_storage(storage)
    if isinstance(inner, RDBStorage):
        engine = inner.engine
        dialect = engine.dialect.name
        if dialect == "postgresql":
            import sqlalchemy

            with engine.connect() as conn, conn.begin():
                conn.execute(sqlalchemy.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _lock_key(study_name)})
                yield "postgresql-advisory"
            return
        if dialect in ("mysql", "mariadb"):
            import sqlalchemy

            name = f"metaopt:{_lock_key(study_name)}"
            with engine.connect() as conn:
                conn.execute(sqlalchemy.text("SELECT GET_LOCK(:n, -1)"), {"n": name})
                try:
                    yield "mysql-get-lock"
                finally:
                    conn.execute(sqlalchemy.text("SELECT RELEASE_LOCK(:n)"), {"n": name})
            return
        if dialect == "sqlite":
            db = engine.url.database
            if db and db != ":memory:" and not db.startswith("file::memory:"):
                with file_lock(os.path.abspath(db) + ".metaopt.lock"):
                    yield "sqlite-file-lock"
                return
            with _thread_lock(inner):
                yield "thread"
            return
        warnings.warn(f"metaopt: no cross-process lock for {dialect!r} storages; the warm start is only "
                      "guarded within this process", RuntimeWarning, stacklevel=3)
        with _thread_lock(inner):
            yield "thread"
        return
    if isinstance(inner, JournalStorage):
        backend = getattr(inner, "_backend", None)
        path = getattr(backend, "_file_path", None)
        if path:
            with file_lock(os.path.abspath(path) + ".metaopt.lock"):
                yield "journal-file-lock"
            return
        warnings.warn("metaopt: no cross-process lock for this journal backend; the warm start is only "
                      "guarded within this process", RuntimeWarning, stacklevel=3)
    elif not isinstance(inner, InMemoryStorage):
        warnings.warn(f"metaopt: no cross-process lock for {type(inner).__name__}; the warm start is only "
                      "guarded within this process", RuntimeWarning, stacklevel=3)
    with _thread_lock(inner):
        yield "thread"


def guard_trial_queue(study: Any) -> Any:
    """Make popping an enqueued trial atomic across the processes of one machine (SQLite only); returns ``study``.

    Why: Optuna moves an enqueued (WAITING) trial to RUNNING with a read-then-write that
    SQLite does not lock, so two worker processes can both pop the same enqueued trial;
    one result is then dropped ("Skipped telling trial ... already finished") and the
    study ends one trial short.  PostgreSQL and MySQL lock the row; the journal storage
    holds its own file lock.  For SQLite this wraps the study's pop in the same file lock
    as the warm start.  Idempotent; a no-op for every other storage.
    """
    from optuna.storages import RDBStorage

    inner = unwrap_storage(study._storage)
    pop = getattr(study, "_pop_waiting_trial_id", None)
    if pop is None or getattr(pop, "_metaopt_guarded", False) or not isinstance(inner, RDBStorage) \
            or inner.engine.dialect.name != "sqlite":
        return study

    def guarded() -> int | None:
        with storage_lock(study._storage, study.study_name):
            return pop()

    guarded._metaopt_guarded = True  # type: ignore[attr-defined]
    study._pop_waiting_trial_id = guarded
    return study


# --------------------------------------------------------------------------- warm start
def _record(study: Any) -> dict[str, Any] | None:
    rec = study._storage.get_study_user_attrs(study._study_id).get(ATTR)
    return rec if isinstance(rec, dict) else None


def is_warm_started(study: Any) -> bool:
    """Whether the study carries a metaopt warm-start record."""
    return _record(study) is not None


def study_space(study: Any) -> dict[str, Any]:
    """Distributions of the study's parameters seen so far (latest trial wins)."""
    space: dict[str, Any] = {}
    for t in study.get_trials(deepcopy=False):
        space.update(t.distributions)
    return space


def _defaults(learner: str, kind: str | None, space: Mapping[str, Any]) -> dict[str, Any]:
    """The learner's defaults of the search-space parameters a configuration leaves out.

    Knowledge-base configurations list only what they changed (TabRepo: five LightGBM
    parameters); the rest ran at the library default, so the warm-start trial does too
    (clipped into the study's distribution) instead of a random value.
    """
    from metaopt.learners import get_learner

    try:
        d = get_learner(learner).default_params(kind)
    except Exception:  # noqa: BLE001 - a learner without defaults: leave them to the sampler
        return {}
    return {n: v for n, v in d.items() if n in space}


def prepare_configs(configs: Sequence[WarmConfig], study: Any, *, learner: str = "lightgbm",
                    param_names: Mapping[str, str] | None = None, search_space: Mapping[str, Any] | None = None,
                    kind: str | None = None, on_out_of_range: str = "clip"
                    ) -> tuple[list[tuple[WarmConfig, dict[str, Any]]], dict[str, str]]:
    """Rename and clip ``configs`` into the study's space: ([(config, params)], mapping).

    The user's distributions (``search_space``, else those of the study's trials) are the
    space when known: only their parameters are enqueued, every value inside them.  Only a
    fresh study without ``search_space`` gets the learner's own space.
    """
    seen = dict(search_space) if search_space is not None else study_space(study)
    mapping = resolve_param_names(learner, param_names, list(seen) if seen else None, kind)
    ours = learner_space(learner, kind)
    space = seen or {mapping[n]: d for n, d in ours.items() if n in mapping}
    defaults = _defaults(learner, kind, ours)
    out: list[tuple[WarmConfig, dict[str, Any]]] = []
    notes: list[str] = []
    seen_params: set[str] = set()
    for cfg in configs:
        theirs, n = fit_to_space(translate(cfg.params, mapping), space, on_out_of_range, keep_unknown=not seen)
        filled, _ = fit_to_space(translate({a: v for a, v in defaults.items() if a not in cfg.params}, mapping),
                                 space, "clip", keep_unknown=False)  # defaults: clipped silently
        theirs = {**filled, **theirs}
        notes += [f"{cfg.config_id}: {x}" for x in n]
        key = json.dumps(theirs, sort_keys=True, default=str)
        if not theirs or key in seen_params:
            continue
        seen_params.add(key)
        out.append((cfg, theirs))
    if notes:
        warnings.warn("metaopt warm start: recommended values moved into the study's distributions: "
                      + "; ".join(notes[:10]) + (" ..." if len(notes) > 10 else ""), UserWarning, stacklevel=3)
    return out, mapping


def give_to_trial(study: Any, trial: Any, config_id: str, params: Mapping[str, Any]) -> None:
    """Make a running trial (no fixed parameters yet) a warm-start configuration, as if it had been enqueued.

    Why not enqueue: a sampler's ``before_trial`` runs after the trial was created, so an enqueued
    configuration would only reach the next trial.
    """
    fixed = {**params, **trial.system_attrs.get("fixed_params", {})}
    storage = study._storage
    storage.set_trial_system_attr(trial._trial_id, "fixed_params", fixed)
    storage.set_trial_user_attr(trial._trial_id, CONFIG_ATTR, config_id)
    storage.set_trial_user_attr(trial._trial_id, SOURCE_ATTR, "warm_start")
    trial.system_attrs["fixed_params"] = fixed
    trial.user_attrs[CONFIG_ATTR] = config_id
    trial.user_attrs[SOURCE_ATTR] = "warm_start"


def enqueue_once(study: Any, prepared: Sequence[tuple[WarmConfig, dict[str, Any]]], *, learner: str,
                 current_trial: Any = None, planned: int | None = None) -> tuple[list[dict[str, Any]], bool]:
    """Check-and-enqueue under the storage lock: (the recorded params, whether this call enqueued).

    ``current_trial`` (a running, un-fixed :class:`~optuna.trial.FrozenTrial`): the first
    configuration is given to it as its fixed parameters instead of being
    enqueued (how :class:`MetaSampler` makes the very first trial the first
    recommendation).  ``planned``: the warm start's length when later picks are chosen as scores
    come in (:class:`~metaopt.warmstart.AdaptiveWarmStart`), recorded as ``planned``.
    """
    rec = _record(study)
    if rec is not None:
        return list(rec.get("params", [])), False
    with storage_lock(study._storage, study.study_name):
        rec = _record(study)
        if rec is not None:
            return list(rec.get("params", [])), False
        items = list(prepared)
        if current_trial is not None and items:
            cfg, params = items[0]
            give_to_trial(study, current_trial, cfg.config_id, params)
            items = items[1:]
        for cfg, params in items:
            study.enqueue_trial(params, user_attrs={CONFIG_ATTR: cfg.config_id, SOURCE_ATTR: "warm_start"})
        record = {"version": _RECORD_VERSION, "learner": learner,
                  "config_ids": [c.config_id for c, _ in prepared], "params": [p for _, p in prepared]}
        if planned is not None and planned > len(prepared):
            record["planned"] = int(planned)
        study.set_user_attr(ATTR, record)
        return [p for _, p in prepared], True


def warm_start(study: Any, X: Any = None, y: Any = None, *, learner: str = "lightgbm", k: int = 5, kb: Any = None,
               target: Any = None, recommendations: Sequence[Any] | None = None,
               param_names: Mapping[str, str] | None = None, search_space: Mapping[str, Any] | None = None,
               kind: str | None = None, meta_features: Mapping[str, float] | None = None,
               on_out_of_range: str = "clip", planned: int | None = None) -> list[dict[str, Any]]:
    """Enqueue metaopt's ``k`` recommended configurations into ``study``, once per study.

    Parameters
    ----------
    study : optuna.Study
        Any storage; several workers may call this at the same time on one shared study.
    X, y, target, kind, meta_features
        The task (data, or ``kind`` + ``meta_features``); not needed with ``recommendations``.
    learner, k, kb
        Which learner's configurations, how many, and from which knowledge base.
    recommendations
        Use these (``Recommendation`` objects or dicts in the learner's names) instead of asking metaopt.
    param_names
        ``{learner's name: study's name}`` when the objective calls its parameters differently.
    search_space
        The objective's distributions (study's names); default: those of the study's trials, else
        (a fresh study, with a warning) the learner's search space.  Only these parameters are
        enqueued, every value inside them: clipped, with a warning naming each change
        (``on_out_of_range="raise"`` raises instead).

    Returns
    -------
    list of dict
        The configurations (study's names) enqueued by this or an earlier call.

    Raises
    ------
    ParamNameMismatchError
        When the study's parameter names do not match the learner's and no usable ``param_names`` is given.

    ``planned`` (more than ``k``): the warm start goes on to that many configurations, each chosen after
    the scores of the earlier ones by an :class:`~metaopt.warmstart.AdaptiveWarmStart` callback.
    """
    check_learner(learner)
    guard_trial_queue(study)
    rec = _record(study)
    if rec is not None:
        return list(rec.get("params", []))
    if k < 1:
        raise ConfigError(f"k must be at least 1, got {k}")
    if recommendations is None:
        configs = get_recommendations(X, y, learner=learner, k=k, kb=kb, target=target, kind=kind,
                                      meta_features=meta_features)
    else:
        configs = as_warm_configs(recommendations, learner)[:k]
    if search_space is None and not study_space(study):
        warnings.warn(f"metaopt warm start: the study has no trials and no search_space was given, so the "
                      f"values fit the ranges of learner {learner!r}; pass search_space= (your objective's "
                      "distributions) to keep them inside yours", UserWarning, stacklevel=2)
    prepared, _ = prepare_configs(configs, study, learner=learner, param_names=param_names,
                                  search_space=search_space, kind=kind, on_out_of_range=on_out_of_range)
    params, _ = enqueue_once(study, prepared, learner=learner, planned=planned)
    return params
