"""Import an OpenML flow's runs (evaluations + setups) through openml-python.

``import_openml_runs(flow_id, task_ids=... | suite=...)`` lists the flow's evaluations
with their setups (``openml.evaluations.list_evaluations_setups``), maps the
estimator's parameters onto one of our learners, and adds the tasks with their
OpenML data qualities as meta-features. Mapping decisions: ``docs/knowledge_base.md``.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pandas as pd

from metaopt.exceptions import ConfigError, KnowledgeBaseError
from metaopt.kb._foreign import foreign_row
from metaopt.kb._store import KnowledgeBase

SOURCE = "openml_api"
PROTOCOL = "openml-task"

#: OpenML evaluation measure -> our metric
METRIC_MAP = {
    "area_under_roc_curve": "roc_auc",
    "predictive_accuracy": "accuracy",
    "root_mean_squared_error": "rmse",
}

#: estimator class-name pattern in a (sub)flow name -> our learner
FLOW_LEARNERS = [
    (re.compile(r"(^|[.(=,])RandomForest(Classifier|Regressor)\b"), "random_forest"),
    (re.compile(r"(^|[.(=,])ExtraTrees(Classifier|Regressor)\b"), "extra_trees"),
    (re.compile(r"(^|[.(=,])LGBM(Classifier|Regressor)\b"), "lightgbm"),
]
_FULL_NAME = re.compile(r"^(?P<flow>.+\(\d+\))_(?P<param>[^()]+)$")


def _parse_value(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def _learner_of(flow_name: str) -> tuple[str, re.Pattern]:
    for pattern, learner in FLOW_LEARNERS:
        if pattern.search(flow_name):
            return learner, pattern
    raise ConfigError(f"flow {flow_name!r} has no estimator metaopt knows "
                      f"({', '.join(sorted({lrn for _, lrn in FLOW_LEARNERS}))}); pass learner=")


def map_setup(parameters: dict[str, str], learner: str, pattern: re.Pattern | None,
              n_features: int | None, kind: str) -> dict[str, Any]:
    """Our learner's params from an OpenML setup's ``{full_name: value}`` dict.

    Only parameters of the estimator's (sub)flow are used; ``null`` values (library
    default) and parameters our learner does not expose (``n_jobs``, ``random_state``,
    ``verbose``, ``oob_score``, ``warm_start``, ...) are dropped. ``max_features="auto"``
    becomes ``"sqrt"`` (classification) or ``1.0`` (regression), as in scikit-learn < 1.3;
    an integer ``max_features`` becomes the fraction ``k / n_features``.
    """
    from metaopt.learners import get_learner

    lrn = get_learner(learner)
    specs = lrn.param_specs()
    out: dict[str, Any] = {}
    for full_name, raw in parameters.items():
        m = _FULL_NAME.match(full_name)
        if not m:
            continue
        if pattern is not None and not pattern.search(m["flow"]):
            continue
        name = m["param"]
        if name not in specs or name in lrn.reserved:
            continue
        value = _parse_value(raw)
        if value is None:
            continue
        if name == "max_features":
            if value == "auto":
                value = "sqrt" if kind != "regression" else 1.0
            elif isinstance(value, int) and not isinstance(value, bool) and n_features:
                value = min(1.0, value / n_features)
        out[name] = value
    return lrn.validate_params(out, kind)


def _kind(task_type: str, n_classes: Any) -> str:
    if "regression" in str(task_type).lower():
        return "regression"
    try:
        return "binary" if int(n_classes) == 2 else "multiclass"
    except (TypeError, ValueError):
        raise KnowledgeBaseError(f"cannot tell the kind of a {task_type!r} task with {n_classes!r} classes") from None


def import_openml_runs(flow_id: int, task_ids: list[int] | None = None, *, suite: int | str | None = None,
                       metric: str = "area_under_roc_curve", learner: str | None = None,
                       max_runs: int | None = None, full_qualities: bool = True) -> KnowledgeBase:
    """Runs of OpenML flow ``flow_id`` on ``task_ids`` (or the tasks of benchmark ``suite``).

    ``metric`` is an OpenML evaluation measure (:data:`METRIC_MAP`). Several runs of
    one setup on one task are averaged. ``full_qualities`` downloads each dataset's
    full quality list (else only the task listing's general qualities are used).
    Needs the OpenML server or a populated openml-python cache.
    """
    if metric not in METRIC_MAP:
        raise ConfigError(f"OpenML measure {metric!r} is not mapped; choose from {', '.join(METRIC_MAP)}")
    evals, suite_name = _flow_evaluations(flow_id, task_ids, suite, metric, max_runs)
    flow_name = str(evals["flow_name"].iloc[0])
    if learner is None:
        learner, pattern = _learner_of(flow_name)
    else:
        pattern = next((p for p, lrn in FLOW_LEARNERS if lrn == learner and p.search(flow_name)), None)
    task_rows, info = _task_rows(sorted({int(t) for t in evals["task_id"]}), full_qualities)
    cfg_rows, ev_rows, skipped = _evaluation_rows(evals, info, learner, pattern, METRIC_MAP[metric])
    if not ev_rows:
        raise KnowledgeBaseError(f"none of the {len(evals)} runs of flow {flow_id} could be mapped to {learner}")
    source = {
        "name": f"{SOURCE}:flow-{int(flow_id)}",
        "description": f"OpenML runs of flow {int(flow_id)} ({flow_name}), measure {metric}"
                       + (f", benchmark suite {suite_name!r}" if suite_name else "")
                       + f"; {len(evals)} runs, {skipped} setup/task pairs not mappable",
        "licence": "OpenML run data are CC-BY 4.0; dataset licences vary (see each task's data id)",
        "origin": f"https://www.openml.org/f/{int(flow_id)}",
    }
    used_tasks = {r["task_id"] for r in ev_rows}
    tasks = pd.DataFrame([r for r in task_rows if r["task_id"] in used_tasks])
    return KnowledgeBase.from_frames(tasks, pd.DataFrame(list(cfg_rows.values())), pd.DataFrame(ev_rows), [source])


def _flow_evaluations(flow_id: int, task_ids: list[int] | None, suite: int | str | None, metric: str,
                      max_runs: int | None) -> tuple[pd.DataFrame, str | None]:
    """The flow's evaluations (with setups) of ``metric`` on the tasks asked for, and the suite's name."""
    import openml

    suite_name = None
    if suite is not None:
        bench = openml.study.get_suite(suite)
        suite_name = bench.name
        suite_tasks = [int(t) for t in (bench.tasks or [])]
        task_ids = suite_tasks if task_ids is None else [t for t in task_ids if t in set(suite_tasks)]
    if task_ids is not None and not task_ids:
        raise ConfigError("no tasks to import")
    evals = openml.evaluations.list_evaluations_setups(
        function=metric, flows=[int(flow_id)], tasks=list(task_ids) if task_ids is not None else None,
        size=max_runs, output_format="dataframe")
    if evals is None or len(evals) == 0:
        raise KnowledgeBaseError(f"OpenML has no {metric} evaluations of flow {flow_id}"
                                 + (f" on tasks {list(task_ids)[:10]}" if task_ids else ""))
    return evals[evals["value"].notna()], suite_name


#: general qualities of OpenML's task listing
_LISTING_QUALITIES = ("MajorityClassSize", "MaxNominalAttDistinctValues", "MinorityClassSize", "NumberOfClasses",
                      "NumberOfFeatures", "NumberOfInstances", "NumberOfInstancesWithMissingValues",
                      "NumberOfMissingValues", "NumberOfNumericFeatures", "NumberOfSymbolicFeatures")


def _task_rows(tids: list[int], full_qualities: bool) -> tuple[list[dict[str, Any]],
                                                             dict[int, tuple[str, int | None]]]:
    """KB task rows of OpenML tasks ``tids`` (qualities as meta-features) and each task's (kind, n_features)."""
    import openml

    listing = openml.tasks.list_tasks(task_id=tids, output_format="dataframe")
    listing = listing.set_index("tid") if "tid" in listing.columns else listing
    task_rows, info = [], {}
    for tid in tids:
        if tid not in listing.index:
            raise KnowledgeBaseError(f"OpenML task {tid} is missing from the task listing")
        t = listing.loc[tid]
        did = int(t["did"])
        qualities = {q: float(t[q]) for q in _LISTING_QUALITIES if q in t.index and pd.notna(t[q])}
        licence = None
        if full_qualities:
            ds = openml.datasets.get_dataset(did, download_data=False, download_qualities=True,
                                              download_features_meta_data=False)
            qualities.update({k: float(v) for k, v in (ds.qualities or {}).items()})
            licence = ds.licence
        kind = _kind(t.get("task_type", ""), qualities.get("NumberOfClasses"))
        n_feat = int(qualities["NumberOfFeatures"]) - 1 if "NumberOfFeatures" in qualities else None
        info[tid] = (kind, n_feat)
        row = {"task_id": f"openml-task/{tid}", "name": str(t["name"]), "source": SOURCE,
               "dataset_key": f"openml-data/{did}", "openml_data_id": did, "openml_task_id": tid, "kind": kind,
               "licence": f"{licence} (OpenML data {did})" if licence else
                          f"see https://www.openml.org/d/{did}",
               "data_hash": None,
               "n_rows": int(qualities["NumberOfInstances"]) if "NumberOfInstances" in qualities else None,
               "n_features": n_feat}
        row.update(qualities)
        task_rows.append(row)
    return task_rows, info


def _evaluation_rows(evals: pd.DataFrame, info: dict[int, tuple[str, int | None]], learner: str,
                     pattern: re.Pattern | None, ours: str) -> tuple[dict[str, dict], list[dict], int]:
    """Config rows, evaluation rows (runs of a setup on a task averaged) and the number of unmappable pairs."""
    cfg_rows, ev_rows = {}, []
    skipped = 0
    grouped = evals.groupby(["task_id", "setup_id"], sort=True)
    for (tid, setup_id), g in grouped:
        kind, n_feat = info[int(tid)]
        params_raw = g["parameters"].iloc[0] or {}
        try:
            params = map_setup(params_raw, learner, pattern, n_feat, kind)
        except ConfigError:
            skipped += 1
            continue
        cid = f"openml-setup/{int(setup_id)}"
        text = json.dumps(dict(sorted(params.items())), sort_keys=True)
        if cid in cfg_rows and cfg_rows[cid]["params"] != text:
            # the same setup maps differently on tasks of different width (integer max_features)
            cid = f"{cid}/task-{int(tid)}"
        cfg_rows.setdefault(cid, {"learner": learner, "config_id": cid, "params": text, "origin": SOURCE,
                                  "native_params": json.dumps(params_raw, sort_keys=True)})
        ev_rows.append(foreign_row(f"openml-task/{int(tid)}", learner, cid, SOURCE, PROTOCOL, ours,
                                   float(g["value"].mean())))
    return cfg_rows, ev_rows, skipped
