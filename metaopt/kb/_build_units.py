"""The work units of ``metaopt kb build`` and what one unit computes, in a worker process.

A unit is the smallest piece of a build that is written as one part file, so a killed
build loses at most its running units: a *task* unit (meta-features, hash), an *eval* unit
(a chunk of pool configurations cross-validated on a task) or a *TPE* unit (an Optuna run).
:func:`run_unit` never raises; the coordinating process writes the tables it returns.
See ``docs/knowledge_base.md`` and :mod:`metaopt.kb._builder`.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from metaopt.core import GREATER_IS_BETTER, PRIMARY, Protocol
from metaopt.kb._build_inputs import TaskSpec
from metaopt.kb._pool import PoolConfig, make_config
from metaopt.learners import get_learner

#: ``source`` of the evaluations this builder produces
EVAL_SOURCE = "metaopt"


@dataclass
class Unit:
    """One piece of work, written as one part file (``part``, relative to the parts directory)."""

    kind: str                        # task | eval | tpe
    spec: TaskSpec
    part: str                        # path relative to the parts directory
    protocol: Protocol
    learner: str | None = None
    configs: list[PoolConfig] = field(default_factory=list)
    tpe_trials: int = 0
    configs_part: str | None = None

    @property
    def label(self) -> str:
        return f"{self.spec.task_id}:{self.part.rsplit('/', 1)[-1]}"


def part_digest(*items: Any) -> str:
    """The ``<hash>`` of a part's file name.

    A rerun finds a finished unit by this name, so its inputs and this function must not
    change while builds are resumed from existing parts.
    """
    return hashlib.sha1(json.dumps(items, sort_keys=True, default=str).encode()).hexdigest()[:8]


def _norm_name(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", name.lower())


def _meta_features(ds: Any) -> tuple[dict[str, float], str | None]:
    from metaopt.features import extract_meta_features

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mf = extract_meta_features(ds, random_state=0)
        return {str(k): (float(v) if v is not None else float("nan")) for k, v in mf.values.items()}, None
    except Exception as exc:  # noqa: BLE001 - a task without meta-features is still useful
        return {}, f"meta-features failed: {type(exc).__name__}: {exc}"


def _data_hash(ds: Any) -> str | None:
    from metaopt.data import content_hash

    return content_hash(ds)


def _run_task_unit(unit: Unit) -> dict[str, Any]:
    spec = unit.spec
    ds = spec.load()
    values, note = _meta_features(ds)
    note = "; ".join(n for n in (*ds.essential_notes, note) if n)  # e.g. integer codes taken as numbers
    did = spec.openml_data_id if spec.openml_data_id is not None else getattr(ds, "openml_data_id", None)
    tid = spec.openml_task_id if spec.openml_task_id is not None else getattr(ds, "openml_task_id", None)
    if spec.family:
        key = f"{spec.source}-family/{spec.family}"
    else:
        key = f"openml-data/{did}" if did is not None else f"name/{_norm_name(spec.name)}"
    row = {"task_id": spec.task_id, "name": spec.name, "source": spec.source, "dataset_key": key,
           "openml_data_id": did, "openml_task_id": tid, "kind": ds.kind, "licence": spec.licence,
           "data_hash": _data_hash(ds), "n_rows": int(ds.X.shape[0]), "n_features": int(ds.X.shape[1])}
    for k, v in values.items():
        if k not in row:
            row[k] = v
    return {"tables": [(unit.part, "tasks", [row])], "kind": ds.kind, "note": note}


def _eval_row(spec: TaskSpec, learner: str, cfg_id: str, result: dict[str, Any]) -> dict[str, Any]:
    return {"task_id": spec.task_id, "learner": learner, "config_id": cfg_id, "source": EVAL_SOURCE, **result}


def _run_eval_unit(unit: Unit) -> dict[str, Any]:
    ds = unit.spec.load()
    task = unit.protocol.prepare(ds)
    learner = get_learner(unit.learner)
    rows = [_eval_row(unit.spec, unit.learner, c.config_id, unit.protocol.evaluate(learner, c.params, task))
            for c in unit.configs]
    return {"tables": [(unit.part, "evaluations", rows)]}


def _run_tpe_unit(unit: Unit) -> dict[str, Any]:
    import optuna
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    ds = unit.spec.load()
    task = unit.protocol.prepare(ds)
    learner = get_learner(unit.learner)
    space = learner.search_space(ds.kind)
    metric = PRIMARY[ds.kind]
    configs: dict[str, dict[str, Any]] = {}
    rows: list[dict[str, Any]] = []

    def objective(trial: optuna.Trial) -> float:
        params: dict[str, Any] = {}
        for name, d in space.items():
            if isinstance(d, FloatDistribution):
                params[name] = trial.suggest_float(name, d.low, d.high, log=d.log, step=d.step)
            elif isinstance(d, IntDistribution):
                params[name] = trial.suggest_int(name, d.low, d.high, log=d.log, step=d.step)
            elif isinstance(d, CategoricalDistribution):
                params[name] = trial.suggest_categorical(name, d.choices)
        cfg = make_config(learner, params, "tpe")
        configs[cfg.config_id] = cfg.record()
        res = unit.protocol.evaluate(learner, cfg.params, task)
        if not any(r["config_id"] == cfg.config_id for r in rows):
            rows.append(_eval_row(unit.spec, learner.name, cfg.config_id, res))
        value = res.get(metric)
        return float("nan") if value is None else float(value)

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize" if GREATER_IS_BETTER[metric] else "minimize",
                                sampler=optuna.samplers.TPESampler(seed=unit.protocol.seed))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study.optimize(objective, n_trials=unit.tpe_trials)
    return {"tables": [(unit.configs_part, "configs", list(configs.values())),
                       (unit.part, "evaluations", rows)]}


_RUNNERS: dict[str, Callable[[Unit], dict[str, Any]]] = {
    "task": _run_task_unit, "eval": _run_eval_unit, "tpe": _run_tpe_unit}


def run_unit(unit: Unit) -> dict[str, Any]:
    """Execute one unit (in a worker); never raises, returns tables to write or an error."""
    t0 = time.perf_counter()
    try:
        out = _RUNNERS[unit.kind](unit)
        out["ok"] = True
    except Exception as exc:  # noqa: BLE001 - reported by the coordinator
        out = {"ok": False, "error": f"{type(exc).__name__}: {exc}", "tables": []}
    out["unit"], out["task_id"] = unit.label, unit.spec.task_id
    out["elapsed_s"] = time.perf_counter() - t0
    return out
