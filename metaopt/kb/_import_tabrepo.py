"""Import TabRepo's early LightGBM matrix (93 OpenML tasks x 104 configurations).

Files (``github:autogluon/tabrepo`` @ c027dbd4, Apache-2.0): ``configs_lightgbm.json``,
``results_ranked_by_dataset_valid.csv(.gz)``, ``task_metadata.csv`` and/or
``task_metadata_289.csv``. Mapping decisions are documented in ``docs/knowledge_base.md``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from metaopt.exceptions import ConfigError, KnowledgeBaseError
from metaopt.kb._foreign import foreign_evaluations
from metaopt.kb._store import KnowledgeBase

SOURCE = "tabrepo"
PROTOCOL = "tabrepo-valid"
LICENCE = "Apache-2.0"
COMMIT = "c027dbd43d7696674921d8de0add0e3cee9dddc3"

#: the learner TabRepo's matrix holds; it maps the configurations' names (``Learner.from_foreign_params``)
LEARNER = "lightgbm"

QUALITY_COLUMNS = ("MajorityClassSize", "MaxNominalAttDistinctValues", "MinorityClassSize", "NumberOfClasses",
                   "NumberOfFeatures", "NumberOfInstances", "NumberOfInstancesWithMissingValues",
                   "NumberOfMissingValues", "NumberOfNumericFeatures", "NumberOfSymbolicFeatures")

#: problem_type -> (our metric, function of metric_error)
METRIC_MAP = {"binary": ("roc_auc", lambda err: 1.0 - err),
              "multiclass": ("log_loss", lambda err: err),
              "regression": ("rmse", lambda err: err)}


def _find(root: Path, *names: str) -> Path | None:
    for n in names:
        if (root / n).is_file():
            return root / n
    return None


def map_config(hyperparameters: dict) -> tuple[dict, dict]:
    """(our lightgbm params, native params) for one TabRepo hyperparameter dict.

    Every parameter the TabRepo configurations vary is written out (AutoGluon's value
    where the configuration leaves it unset); ``ag_args`` are AutoGluon's, not LightGBM's.
    """
    from metaopt.learners import get_learner

    native = {k: v for k, v in hyperparameters.items() if k != "ag_args"}
    try:
        params = get_learner(LEARNER).from_foreign_params(SOURCE, native, complete=True)
    except ConfigError as exc:
        raise KnowledgeBaseError(f"TabRepo config: {exc}") from None
    return dict(sorted(params.items())), native


def _task_metadata(root: Path) -> pd.DataFrame:
    frames = []
    for name in ("task_metadata.csv", "task_metadata_289.csv"):
        p = root / name
        if p.is_file():
            frames.append(pd.read_csv(p))
    if not frames:
        raise KnowledgeBaseError(f"{root}: neither task_metadata.csv nor task_metadata_289.csv found")
    meta = pd.concat(frames, ignore_index=True).drop_duplicates("tid", keep="first")
    return meta.set_index("tid")


def _configs(raw_configs: dict, results: pd.DataFrame) -> pd.DataFrame:
    """The ``configs`` rows: every configuration of ``configs_lightgbm.json``, in our names."""
    cfg_rows = []
    for name, spec in raw_configs.items():
        params, native = map_config(spec.get("hyperparameters", {}))
        cfg_rows.append({"learner": LEARNER, "config_id": f"tabrepo/{name}",
                         "params": json.dumps(params, sort_keys=True), "origin": SOURCE,
                         "native_params": json.dumps(native, sort_keys=True)})
    unknown = sorted(set(results["framework"]) - set(raw_configs))
    if unknown:
        raise KnowledgeBaseError(f"TabRepo results use configurations missing from configs_lightgbm.json: "
                                 f"{unknown[:5]}")
    return pd.DataFrame(cfg_rows)


def _tasks(results: pd.DataFrame, meta: pd.DataFrame) -> pd.DataFrame:
    """The ``tasks`` rows: one per TabRepo task, with its OpenML qualities."""
    kinds = results.groupby("dataset")["problem_type"].agg(lambda s: s.unique().tolist())
    task_rows = []
    for tid, kind_list in kinds.items():
        if len(kind_list) != 1 or kind_list[0] not in METRIC_MAP:
            raise KnowledgeBaseError(f"TabRepo task {tid}: unexpected problem types {kind_list}")
        if tid not in meta.index:
            raise KnowledgeBaseError(f"TabRepo task {tid} has no row in the task metadata")
        m = meta.loc[tid]
        did = int(m["did"])
        row = {
            "task_id": f"openml-task/{int(tid)}",
            "name": str(m["name"]),
            "source": SOURCE,
            "dataset_key": f"openml-data/{did}",
            "openml_data_id": did,
            "openml_task_id": int(tid),
            "kind": kind_list[0],
            "licence": f"{LICENCE} (TabRepo results); dataset licence varies, see https://www.openml.org/d/{did}",
            "data_hash": None,
            "n_rows": int(m["NumberOfInstances"]),
            # OpenML's NumberOfFeatures counts the target; n_features counts inputs only
            "n_features": int(m["NumberOfFeatures"]) - 1,
        }
        for q in QUALITY_COLUMNS:
            row[q] = float(m[q]) if q in m.index and pd.notna(m[q]) else np.nan
        task_rows.append(row)
    return pd.DataFrame(task_rows)


def _evaluations(results: pd.DataFrame) -> pd.DataFrame:
    """The ``evaluations`` rows: TabRepo's validation error as our metric of the task's kind."""
    ev = foreign_evaluations("openml-task/" + results["dataset"].astype(int).astype(str), LEARNER,
                             "tabrepo/" + results["framework"].astype(str), SOURCE, PROTOCOL,
                             fit_time_s=results["time_train_s"].astype("float64"))
    err = results["metric_error"].astype("float64")
    for kind, (metric, fn) in METRIC_MAP.items():
        mask = (results["problem_type"] == kind).to_numpy()
        ev.loc[mask, metric] = fn(err[mask])
    return ev


def import_tabrepo(path: str | Path) -> KnowledgeBase:
    """Read the TabRepo LightGBM matrix in directory ``path`` into a :class:`KnowledgeBase`."""
    root = Path(path)
    results_path = _find(root, "results_ranked_by_dataset_valid.csv.gz", "results_ranked_by_dataset_valid.csv")
    configs_path = _find(root, "configs_lightgbm.json")
    if results_path is None or configs_path is None:
        raise KnowledgeBaseError(
            f"{root} is not a TabRepo LightGBM directory (needs results_ranked_by_dataset_valid.csv[.gz] "
            "and configs_lightgbm.json)")
    results = pd.read_csv(results_path)
    with open(configs_path, encoding="utf-8") as fh:
        raw_configs = json.load(fh)
    meta = _task_metadata(root)
    configs = _configs(raw_configs, results)
    tasks = _tasks(results, meta)
    ev = _evaluations(results)
    source = {
        "name": SOURCE,
        "description": "TabRepo (autogluon/tabrepo, then autogluon-zeroshot) early LightGBM matrix: "
                       "93 OpenML tasks x 104 AutoGluon LightGBM configurations, validation scores",
        "licence": f"{LICENCE} (TabRepo data and code); the underlying OpenML datasets have their own, "
                   "varying licences (see each task's OpenML data id)",
        "origin": "https://github.com/autogluon/tabrepo",
        "commit": f"{COMMIT} (results, configs, task_metadata.csv); "
                  "15cb18c92a7072783e4330362455c5c58e54a02c (task_metadata_289.csv)",
        "files": [p.name for p in (results_path, configs_path) if p] +
                 [n_ for n_ in ("task_metadata.csv", "task_metadata_289.csv") if (root / n_).is_file()],
        "rows": {"tasks": len(tasks), "configs": len(configs), "evaluations": len(ev)},
    }
    return KnowledgeBase.from_frames(tasks, configs, ev, [source])
