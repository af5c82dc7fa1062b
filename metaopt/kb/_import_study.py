"""Add a user's Optuna study on their own data to a knowledge base.

The study's completed trials become configurations (``origin=optuna_study``) and
evaluations whose metric value is the trial's objective value; the dataset becomes a
task (``source=optuna_study``) with its meta-features and a content hash. See
``docs/knowledge_base.md`` for the mapping rules.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from metaopt.exceptions import ConfigError, KnowledgeBaseError
from metaopt.kb import _schema as S
from metaopt.kb._foreign import foreign_row
from metaopt.kb._lock import writing
from metaopt.kb._store import KnowledgeBase

SOURCE = S.USER_STUDY_SOURCE
#: dataset_key prefix of a user's task: the start of its schema hash, which versions of one table share
SCHEMA_KEY = "schema/"


def schema_key(dataset: Any) -> str:
    """The ``dataset_key`` of a user's task on ``dataset``; recommendations look their earlier studies up by it."""
    from metaopt.data import schema_hash

    return SCHEMA_KEY + schema_hash(dataset)[:16]


def open_storage(storage: Any) -> Any:
    """An existing Optuna storage: a URL (``sqlite:///``, ``postgresql+psycopg2://``, ``journal:///``), a
    SQLite or journal file path, or a storage object; nothing is created (:class:`~metaopt.StorageError`)."""
    from metaopt.tuning import open_storage as _open

    return _open(storage, create=False)


def _check_destinations(kb_path: Path, out: Path | None) -> None:
    """Refuse, before any work, a KB or output path that is a file or a foreign directory."""
    for flag, path in (("--kb", kb_path), ("--out", out)):
        if path is None or not path.exists():
            continue
        if not path.is_dir():
            raise KnowledgeBaseError(f"{flag} {str(path)!r} is a file; a knowledge base is a directory: give a "
                                     "new or existing KB directory")
        if not (path / S.MANIFEST_FILE).exists() and any(path.iterdir()):
            raise KnowledgeBaseError(f"{flag} {str(path)!r} exists but is not a knowledge base (no "
                                     f"{S.MANIFEST_FILE}); give a new or existing KB directory")


def data_hash(dataset) -> str:
    """Content hash of a :class:`~metaopt.data.Dataset`: sha256 over column names, kind and values.

    Independent of file format and row index; depends on column order and row order.
    """
    h = hashlib.sha256()
    h.update(json.dumps({"columns": [str(c) for c in dataset.X.columns], "target": str(dataset.target),
                         "kind": dataset.kind}).encode())
    frame = dataset.X.copy()
    frame["__target__"] = dataset.y
    for col in frame.columns:
        s = frame[col]
        if isinstance(s.dtype, pd.CategoricalDtype):
            s = s.astype(object).where(s.notna(), None).astype(str)
        h.update(pd.util.hash_pandas_object(s, index=False).to_numpy().tobytes())
    return h.hexdigest()


def map_trial_params(params: dict[str, Any], learner: str, param_map: dict[str, str] | None = None,
                     kind: str | None = None) -> dict[str, Any]:
    """Map an Optuna trial's parameter names onto ``learner``'s; raise listing the unknown ones.

    Accepted: the learner's own names, its ``aliases`` (LightGBM's native names) and ``param_map``.
    """
    from metaopt.learners import get_learner

    lrn = get_learner(learner)
    known = set(lrn.param_specs())
    aliases = {**{k: k for k in known}, **lrn.aliases, **(param_map or {})}
    mapped: dict[str, Any] = {}
    unknown = []
    for k, v in params.items():
        ours = aliases.get(k)
        if ours is None or ours not in known:
            unknown.append(k)
            continue
        if ours in mapped:
            raise ConfigError(f"trial parameters {k!r} and another name both map to {ours!r}")
        mapped[ours] = v
    if unknown:
        raise ConfigError(
            f"study parameters not known to learner {lrn.name!r}: {sorted(unknown)}; known names: "
            f"{', '.join(sorted(known))} (pass --learner or a param_map)")
    return lrn.validate_params(mapped, kind)


def _jsonable(v: Any) -> Any:
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    if isinstance(v, np.bool_):
        return bool(v)
    return v


def study_to_kb(study, dataset, *, learner: str = "lightgbm", metric: str, name: str | None = None,
                n_folds: int | None = None, param_map: dict[str, str] | None = None,
                storage_label: str = "", meta_features: dict[str, float] | None = None) -> KnowledgeBase:
    """A KB holding one task (``dataset``) and the completed trials of ``study``."""
    import optuna

    if metric not in S.METRICS:
        raise ConfigError(f"unknown metric {metric!r}; choose from {', '.join(S.METRIC_NAMES)}")
    if len(study.directions) != 1:
        raise ConfigError(f"study {study.study_name!r} is multi-objective; only single-objective studies "
                          "can be added")
    higher = S.METRICS[metric][2]
    want = optuna.study.StudyDirection.MAXIMIZE if higher else optuna.study.StudyDirection.MINIMIZE
    if study.direction != want:
        raise ConfigError(
            f"study {study.study_name!r} direction is {study.direction.name.lower()} but {metric} is "
            f"{'maximised' if higher else 'minimised'}: is the objective really {metric}?")
    trials = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    trials = [t for t in trials if t.value is not None and math.isfinite(t.value)]
    if not trials:
        raise ConfigError(f"study {study.study_name!r} has no completed trials with a finite value")

    from metaopt.learners import get_learner

    lrn = get_learner(learner)
    lrn.check_kind(dataset.kind)
    h = data_hash(dataset)
    task_name = name or dataset.name
    task_id = f"user/{task_name}-{h[:8]}"
    if meta_features is None:
        from metaopt.features import extract_meta_features

        meta_features = dict(extract_meta_features(dataset).values)
    task = {
        "task_id": task_id, "name": task_name, "source": SOURCE,
        "dataset_key": schema_key(dataset), "openml_data_id": dataset.openml_data_id,
        "openml_task_id": dataset.openml_task_id, "kind": dataset.kind,
        "licence": "user-provided data (not redistributed by metaopt)", "data_hash": h,
        "n_rows": dataset.n_rows, "n_features": dataset.n_features,
    }
    for k, v in meta_features.items():
        if k in S.TASK_COLUMNS:
            continue
        try:
            task[k] = float(v) if v is not None else np.nan
        except (TypeError, ValueError):
            continue
    cfg_rows, ev_rows = [], []
    for t in trials:
        params = map_trial_params(t.params, lrn.name, param_map, dataset.kind)
        cid = f"optuna/{study.study_name}/{t.number}"
        cfg_rows.append({"learner": lrn.name, "config_id": cid,
                         "params": json.dumps({k: _jsonable(v) for k, v in sorted(params.items())}),
                         "origin": SOURCE,
                         "native_params": json.dumps({k: _jsonable(v) for k, v in sorted(t.params.items())})})
        ev_rows.append(foreign_row(task_id, lrn.name, cid, SOURCE, f"optuna-study:{study.study_name}", metric,
                                   float(t.value), n_folds=n_folds,
                                   fit_time_s=t.duration.total_seconds() if t.duration is not None else np.nan))
    source = {
        "name": f"{SOURCE}:{study.study_name}",
        "description": f"Optuna study {study.study_name!r} ({len(trials)} completed trials, {lrn.name}, "
                       f"objective = {metric}) on user data {task_name!r}",
        "licence": "user-provided",
        "origin": storage_label,
    }
    return KnowledgeBase.from_frames(pd.DataFrame([task]), pd.DataFrame(cfg_rows), pd.DataFrame(ev_rows),
                                     [source])


def import_optuna_study(storage: str, study_name: str, data: Any, target: str | None = None, *,
                        learner: str | None = None, metric: str | None = None, kind: str | None = None,
                        name: str | None = None, n_folds: int | None = None,
                        param_map: dict[str, str] | None = None, kb_path: str | Path | None = None,
                        out: str | Path | None = None, save: bool = True, groups: str | None = None,
                        time_column: str | None = None) -> dict:
    """Add study ``study_name`` from ``storage`` (tuned on ``data``) to the KB at ``kb_path``.

    The result is written atomically to ``out`` (default: ``kb_path``; default of that:
    the shipped KB). A missing ``kb_path`` directory starts a new KB. Returns a dict
    with ``task_id``, ``n_trials``, ``learners`` (trials per learner), ``path``, ``learner``, ``metric``
    and the merged ``kb``.

    ``learner``, ``metric``, ``kind`` and ``n_folds`` default to what a study of ``metaopt tune`` recorded,
    and ``data`` must be the data it recorded (with the ``groups`` / ``time_column`` it was run with); a plain
    Optuna study needs ``metric`` (``learner`` defaults to LightGBM). A ``tune(learner="auto")`` study brings
    its other learners' studies (``<name>+<learner>``) along, unless ``learner`` names one.
    """
    from metaopt.features import extract_meta_features
    from metaopt.kb._locate import default_kb_path
    from metaopt.tuning import check_study_data, recorded_setup, storage_label

    kb_path = Path(kb_path).expanduser() if kb_path is not None else default_kb_path()
    target_path = Path(out).expanduser() if out is not None else kb_path
    _check_destinations(kb_path, target_path)
    st = open_storage(storage)
    label = storage_label(storage)
    study = _load_study(st, study_name, label)
    # the KB before the data and the meta-features: a damaged KB fails at once, before any fit
    base = KnowledgeBase.load(kb_path) if (kb_path / S.MANIFEST_FILE).exists() else KnowledgeBase.empty()
    setup = recorded_setup(study)  # what a study of tune recorded (None: a plain Optuna study), read once
    others = _other_learners(st, study, setup) if setup and learner != setup["learner"] else {}
    _point_to_learner_study(study.study_name, setup, learner, others)
    legs = [(study, *_recorded_setup(study.study_name, setup, learner, metric, n_folds))]
    if learner is None:
        legs += [(leg, *_recorded_setup(leg.study_name, leg_setup, None, None, n_folds))
                 for leg, leg_setup in others.values()]
    ds = _load_study_data(study.study_name, setup, data, target, kind, groups, time_column)
    check_study_data(study, ds)
    meta_features = dict(extract_meta_features(ds).values)
    done = [leg for leg in legs if _has_completed(leg[0])] or legs[:1]  # none: study_to_kb says why
    new = functools.reduce(KnowledgeBase.merge, [
        study_to_kb(leg, ds, learner=lrn, metric=met, name=name or _task_name(data, ds), n_folds=folds,
                    param_map=param_map, storage_label=label, meta_features=meta_features)
        for leg, lrn, met, folds in done])
    if save:
        with writing(target_path):  # another writer may have saved since: merge into what is there now
            if (kb_path / S.MANIFEST_FILE).exists():
                base = KnowledgeBase.load(kb_path)
            new = _fitted_to(new, base)
            merged = base.merge(new)
            merged.save(target_path)
    else:
        new = _fitted_to(new, base)
        merged = base.merge(new)
    counts = new.evaluations["learner"].value_counts()
    return {"task_id": new.tasks["task_id"].iloc[0], "n_trials": len(new.evaluations), "path": target_path,
            "learners": {lrn: int(counts[lrn]) for _, lrn, _, _ in legs if lrn in counts},
            "learner": legs[0][1], "metric": legs[0][2], "kb": merged}


def _task_name(data: Any, ds: Any) -> str:
    """The task's name: the data file's stem, else the dataset's name (a DataFrame's ``data``)."""
    return Path(data).stem if isinstance(data, (str, os.PathLike)) else str(ds.name)


def _fitted_to(new: KnowledgeBase, base: KnowledgeBase) -> KnowledgeBase:
    """``new`` (one task) made to merge into ``base``: a task ``base`` holds keeps its dataset key (one added
    before keys were schema hashes), and a configuration id ``base`` holds with other parameters (a study of
    the same name on another version of the data, as a weekly re-tune makes) gets the data hash in its id."""
    tasks, configs, evals = new.tasks.copy(), new.configs.copy(), new.evaluations.copy()
    keys = dict(zip(base.tasks["task_id"], base.tasks["dataset_key"]))
    tasks["dataset_key"] = [keys.get(t, k) for t, k in zip(tasks["task_id"], tasks["dataset_key"])]
    theirs = base.configs[base.configs["origin"] == SOURCE]
    known = {(lrn, cid): p for lrn, cid, p in zip(theirs["learner"], theirs["config_id"], theirs["params"])}
    tag = "@" + str(tasks["data_hash"].iloc[0])[:8]
    renamed = {}
    for lrn, cid, p in zip(configs["learner"], configs["config_id"], configs["params"]):
        if (lrn, cid) in known and json.loads(known[lrn, cid]) != json.loads(p):
            head, number = cid.rsplit("/", 1)
            renamed[lrn, cid] = f"{head}{tag}/{number}"
    if renamed:
        for frame in (configs, evals):
            frame["config_id"] = [renamed.get((lrn, cid), cid) for lrn, cid in zip(frame["learner"],
                                                                                   frame["config_id"])]
    return KnowledgeBase.from_frames(tasks, configs, evals, new.sources)


def _load_study(st: Any, study_name: str, label: str) -> Any:
    import optuna

    try:
        return optuna.load_study(study_name=study_name, storage=st)
    except KeyError:
        try:
            names = optuna.get_all_study_names(storage=st)
        except Exception:  # noqa: BLE001
            names = []
        raise ConfigError(f"no study {study_name!r} in {label}"
                          + (f" (studies: {', '.join(names[:10])})" if names else "")) from None


def _other_learners(st: Any, study: Any, own: dict[str, Any]) -> dict[str, tuple[Any, dict[str, Any]]]:
    """``{learner: (study, its record)}`` of the other learners of the ``tune(learner="auto")`` run that made
    ``study`` (record ``own``): ``<name>+<learner>`` (``metaopt.tuning``'s ``_open_leg`` names them so), each
    recording that learner and the run's metric, kind and data."""
    import optuna

    from metaopt.tuning import recorded_setup

    prefix = f"{study.study_name}+"
    legs = {}
    for other in sorted(n for n in optuna.get_all_study_names(storage=st) if n.startswith(prefix)):
        leg = optuna.load_study(study_name=other, storage=st)
        setup = recorded_setup(leg)
        if setup is not None and setup["learner"] == other[len(prefix):] and \
                (setup["metric"], setup["kind"], setup["data"]) == (own["metric"], own["kind"], own["data"]):
            legs[setup["learner"]] = (leg, setup)
    return legs


def _point_to_learner_study(name: str, own: dict[str, Any] | None, learner: str | None,
                            others: dict[str, Any]) -> None:
    """A ``learner`` that is not the study's but one of its run's other learners: name that learner's study."""
    if learner is not None and own is not None and learner in others:
        leg = others[learner][0].study_name
        raise ConfigError(f"study {name!r} was tuned with learner {own['learner']!r}; its run's {learner} trials "
                          f"are in study {leg!r}: pass --study {leg}, or leave --learner out to add every learner's")


def _has_completed(study: Any) -> bool:
    import optuna

    return any(t.value is not None and math.isfinite(t.value)
               for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)))


def _recorded_setup(name: str, setup: dict[str, Any] | None, learner: str | None, metric: str | None,
                    n_folds: int | None) -> tuple[str, str, int | None]:
    """(learner, metric, folds): as given, else as study ``name`` of ``metaopt tune`` recorded them (``setup``); a
    value given that contradicts the record is refused (the trials' parameters and values would be misread)."""
    if setup is None:  # a plain Optuna study
        if metric is None:
            raise ConfigError(f"study {name!r} was not run by metaopt tune, so it does not record its "
                              f"metric: pass --metric (one of {', '.join(S.METRIC_NAMES)})")
        return learner or "lightgbm", metric, n_folds
    for what, given in (("learner", learner), ("metric", metric)):
        if given is not None and given != setup[what]:
            raise ConfigError(f"study {name!r} was tuned with {what} {setup[what]!r}, not "
                              f"{given!r}; leave --{what} out to use the study's")
    return setup["learner"], setup["metric"], setup["n_folds"] if n_folds is None else n_folds


def _load_study_data(name: str, setup: dict[str, Any] | None, data: Any, target: Any, kind: str | None,
                     groups: Any, time_column: Any) -> Any:
    """``data`` as study ``name`` was tuned on it (its recorded task kind); a target that cannot be of that
    kind means other data than the study's, and the message says so."""
    from metaopt.data import load_data
    from metaopt.exceptions import TargetError

    use = _recorded_kind(name, setup, kind)
    try:
        return load_data(data, target=target, kind=use, groups=groups, time_column=time_column)
    except TargetError as exc:
        if kind is not None or use is None:
            raise
        why = str(exc).split(";")[0]  # not its advice: another kind is not the way out here
        raise ConfigError(f"study {name!r} was run on a {use} task and this target cannot be one ({why}); pass "
                          f"the data the study was run on") from None


def _recorded_kind(name: str, setup: dict[str, Any] | None, kind: str | None) -> str | None:
    """The task kind to load the data as: given, else as study ``name`` of ``metaopt tune`` recorded it
    (``setup``: an integer-coded target tuned as classes must not be read as numbers); a kind that contradicts
    the record is refused."""
    recorded = (setup or {}).get("kind")
    if kind is not None and recorded is not None and kind != recorded:
        raise ConfigError(f"study {name!r} was tuned with kind {recorded!r}, not {kind!r}; leave "
                          f"--kind out to use the study's")
    return kind or recorded
