"""Import openml-pimp's RandomForest runs (van Rijn & Hutter, KDD 2018).

Files (``github:janvanrijn/openml-pimp`` @ 349043fb, BSD-3-Clause):
``random_forest.arff(.gz)`` (flow 6969, 94 OpenML-100 tasks x 500 random configurations,
``predictive_accuracy``) and ``task_qualities.json`` (OpenML qualities per task).
Mapping decisions are documented in ``docs/knowledge_base.md``.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from metaopt.exceptions import ConfigError, KnowledgeBaseError
from metaopt.kb._foreign import foreign_evaluations
from metaopt.kb._store import KnowledgeBase

SOURCE = "openml_pimp"
PROTOCOL = "openml-task"
LICENCE = "BSD-3-Clause"
COMMIT = "349043fb324a29e2ee5463d1c85bfd40213fe4fe"

#: the learner of these runs; its ``foreign_names[SOURCE]`` names the mapped columns
LEARNER = "random_forest"
_RF = "randomforestclassifier__"
_IMPUTER = "columntransformer__numeric__imputer__strategy"
#: native columns that are constant at scikit-learn's default in these runs (kept in native_params only)
RF_CONSTANT_DEFAULTS = {_RF + "max_depth": None, _RF + "max_leaf_nodes": None,
                        _RF + "min_weight_fraction_leaf": 0.0}


def _read_arff(path: Path) -> tuple[pd.DataFrame, dict]:
    import arff

    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        first = fh.readline()
        fh.seek(0)
        obj = arff.load(fh)
    header = {}
    if first.startswith("%"):
        try:
            header = json.loads(first.lstrip("% ").strip())
        except ValueError:
            header = {}
    cols = [a[0] for a in obj["attributes"]]
    return pd.DataFrame(obj["data"], columns=cols), header


def _native_value(v):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    if v == "None":
        return None
    if isinstance(v, str):
        for conv in (int, float):
            try:
                return conv(v)
            except ValueError:
                pass
        return v
    if isinstance(v, float) and v.is_integer() and abs(v) < 2**53:
        return v  # keep floats as floats (max_features)
    return v


def _map_run(learner, native: dict) -> dict:
    """One run's forest parameters in our names; ARFF writes the booleans as the strings True/False."""
    theirs = {c: {"True": True, "False": False}.get(v, v) if isinstance(v, str) else v for c, v in native.items()}
    try:
        return learner.from_foreign_params(SOURCE, theirs)
    except ConfigError as exc:
        raise KnowledgeBaseError(f"openml-pimp run: {exc}") from None


def normalise_class_percentages(q: dict) -> dict:
    """``q`` with ``MinorityClassPercentage`` / ``MajorityClassPercentage`` in percent.

    ``task_qualities.json`` stores ``MinorityClassPercentage`` as a fraction for all 100 tasks and
    ``MajorityClassPercentage`` as a fraction for 9 of them (percent for the rest); current OpenML,
    LCDB and :mod:`metaopt.features` use percent. A value is scaled by 100 only where 100 x value
    (and not the value itself) equals 100 x ``<...>ClassSize`` / ``NumberOfInstances``.
    """
    out = dict(q)
    n = out.get("NumberOfInstances")
    for side in ("Minority", "Majority"):
        v, size = out.get(f"{side}ClassPercentage"), out.get(f"{side}ClassSize")
        if v is None or size is None or n is None or not all(np.isfinite([v, size, n])) or n <= 0:
            continue
        pct = 100.0 * size / n
        if not np.isclose(v, pct, rtol=1e-4) and np.isclose(100.0 * v, pct, rtol=1e-4):
            out[f"{side}ClassPercentage"] = 100.0 * v
    return out


def _tid_to_did(tabrepo_dir: Path | None) -> dict[int, tuple[int, str]]:
    """OpenML task id -> (data id, name) from TabRepo's task metadata where available."""
    out: dict[int, tuple[int, str]] = {}
    if tabrepo_dir is None:
        return out
    for name in ("task_metadata_289.csv", "task_metadata.csv"):
        p = Path(tabrepo_dir) / name
        if p.is_file():
            meta = pd.read_csv(p, usecols=["tid", "did", "name"])
            for tid, did, nm in meta.itertuples(index=False):
                out.setdefault(int(tid), (int(did), str(nm)))
    return out


def _configs(runs: pd.DataFrame, arff_path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the ``configs`` rows, ``runs`` with integer task ids and a ``config_id`` column).

    One configuration per run: the 500 configurations were sampled anew per task.  The
    forest's columns are mapped by the learner (``foreign_names["openml_pimp"]``).
    """
    from metaopt.learners import get_learner

    learner = get_learner(LEARNER)
    mapped = set(learner.foreign_names[SOURCE])
    expected = mapped | set(RF_CONSTANT_DEFAULTS) | {_IMPUTER, "predictive_accuracy", "task_id"}
    if set(runs.columns) != expected:
        raise KnowledgeBaseError(f"{arff_path}: unexpected columns {sorted(set(runs.columns) ^ expected)}")
    for col, default in RF_CONSTANT_DEFAULTS.items():
        vals = {_native_value(v) for v in runs[col].unique()}
        if vals != {default}:
            raise KnowledgeBaseError(f"{arff_path}: {col} is not constant at {default!r}: {sorted(map(str, vals))}")
    runs["task_id"] = runs["task_id"].astype(int)
    native_cols = [c for c in runs.columns if c not in ("predictive_accuracy", "task_id")]
    natives, params_list, ids = [], [], []
    for rec in runs[native_cols].itertuples(index=False, name=None):
        native = {c: _native_value(v) for c, v in zip(native_cols, rec)}
        params = _map_run(learner, {c: native[c] for c in mapped})
        ntext = json.dumps(native, sort_keys=True)
        natives.append(ntext)
        params_list.append(json.dumps(dict(sorted(params.items())), sort_keys=True))
        ids.append("pimp/" + hashlib.sha1(ntext.encode()).hexdigest()[:16])
    runs["config_id"] = ids
    configs = pd.DataFrame({"learner": LEARNER, "config_id": ids, "params": params_list,
                            "origin": SOURCE, "native_params": natives}).drop_duplicates("config_id")
    return configs, runs


def _evaluations(runs: pd.DataFrame) -> pd.DataFrame:
    """The ``evaluations`` rows: each run's predictive accuracy."""
    ev = foreign_evaluations("openml-task/" + runs["task_id"].astype(str), LEARNER, runs["config_id"], SOURCE,
                             PROTOCOL)
    ev["accuracy"] = runs["predictive_accuracy"].astype("float64").to_numpy()
    return ev


def import_pimp(path: str | Path, *, tabrepo_dir: str | Path | None = None) -> KnowledgeBase:
    """Read openml-pimp's ``random_forest.arff`` runs in ``path`` into a :class:`KnowledgeBase`.

    ``tabrepo_dir`` (default: a sibling ``tabrepo_lightgbm`` directory if present)
    supplies OpenML data ids and names for the tasks it covers.
    """
    root = Path(path)
    arff_path = next((root / n for n in ("random_forest.arff.gz", "random_forest.arff") if (root / n).is_file()),
                     None)
    qual_path = root / "task_qualities.json"
    if arff_path is None or not qual_path.is_file():
        raise KnowledgeBaseError(f"{root} is not an openml-pimp directory "
                                 "(needs random_forest.arff[.gz] and task_qualities.json)")
    if tabrepo_dir is None and (root.parent / "tabrepo_lightgbm").is_dir():
        tabrepo_dir = root.parent / "tabrepo_lightgbm"
    runs, header = _read_arff(arff_path)
    with open(qual_path, encoding="utf-8") as fh:
        qualities = json.loads(fh.read().replace("NaN", "NaN"))
    configs, runs = _configs(runs, arff_path)

    # tasks
    did_map = _tid_to_did(Path(tabrepo_dir) if tabrepo_dir else None)
    task_rows = []
    for tid in sorted(runs["task_id"].unique()):
        q = qualities.get(str(tid))
        if q is None:
            raise KnowledgeBaseError(f"task {tid} has runs but no entry in {qual_path.name}")
        n_classes = q.get("NumberOfClasses")
        if n_classes is None or not np.isfinite(n_classes) or n_classes < 2:
            raise KnowledgeBaseError(f"task {tid}: NumberOfClasses {n_classes!r} is not a classification task")
        did, name = did_map.get(int(tid), (None, None))
        row = {
            "task_id": f"openml-task/{tid}",
            "name": name or f"openml-task-{tid}",
            "source": SOURCE,
            "dataset_key": f"openml-data/{did}" if did is not None else f"openml-task/{tid}",
            "openml_data_id": did,
            "openml_task_id": int(tid),
            "kind": "binary" if int(n_classes) == 2 else "multiclass",
            "licence": "dataset licence varies, see the OpenML task "
                       f"https://www.openml.org/t/{tid}" + (f" / data https://www.openml.org/d/{did}" if did else ""),
            "data_hash": None,
            "n_rows": int(q["NumberOfInstances"]) if np.isfinite(q.get("NumberOfInstances", np.nan)) else None,
            "n_features": (int(q["NumberOfFeatures"]) - 1
                           if np.isfinite(q.get("NumberOfFeatures", np.nan)) else None),
        }
        for k, v in normalise_class_percentages(q).items():
            row[k] = float(v) if v is not None else np.nan
        task_rows.append(row)
    tasks = pd.DataFrame(task_rows)

    ev = _evaluations(runs)
    source = {
        "name": SOURCE,
        "description": "openml-pimp (van Rijn & Hutter, 'Hyperparameter Importance Across Datasets', KDD 2018): "
                       f"OpenML runs of flow {header.get('flow_id', 6969)} (scikit-learn imputation + "
                       "RandomForestClassifier) with random hyperparameters on the OpenML-100 tasks, "
                       "predictive_accuracy",
        "licence": f"{LICENCE} (openml-pimp repository); the runs are public OpenML data and the underlying "
                   "datasets have their own, varying licences",
        "origin": "https://github.com/janvanrijn/openml-pimp (KDD2018/data/arff/random_forest.arff, "
                  "KDD2018/data/fanova/task_qualities.json)",
        "commit": COMMIT,
        "citation": "J. N. van Rijn and F. Hutter. Hyperparameter Importance Across Datasets. KDD 2018.",
        "files": [arff_path.name, qual_path.name],
        "rows": {"tasks": len(tasks), "configs": len(configs), "evaluations": len(ev)},
    }
    return KnowledgeBase.from_frames(tasks, configs, ev, [source])
