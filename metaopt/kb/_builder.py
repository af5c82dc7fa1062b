"""``metaopt kb build``: evaluate the shared configuration pool on many tasks.

Work is split into units:

* a *task unit* per task: load the data, compute meta-features and the
  content hash once -> ``parts/<task>/_task.parquet`` (a tasks row);
* an *evaluation unit* per (task, learner, chunk of pool configurations):
  cross-validate each configuration under the fixed protocol
  (:mod:`metaopt.core`) -> ``parts/<task>/<learner>-<chunk>-<hash>.parquet``
  (evaluations rows; ``<hash>`` covers the protocol and the chunk's config ids,
  so a different pool or protocol never reuses a part);
* optionally a *TPE unit* per (task, learner): an Optuna TPE run of
  ``tpe_trials`` trials -> ``<learner>-tpe<N>-<hash>.configs.parquet`` and
  ``<learner>-tpe<N>-<hash>.parquet``.

The pool itself is written to ``parts/_configs/<learner>-<group>.parquet``.
Every part is written to a hidden temporary file and renamed into place
(``os.replace``), only by the coordinating process, so a part is either
complete or absent.  A rerun skips units whose part exists: a kill at any
moment loses at most the running units and never duplicates rows.  Finally
:func:`~metaopt.kb._build_compile.compile_kb` merges the parts
(``metaopt.kb.compile_parts``; duplicate keys must agree or it fails loudly) and
saves ``tasks.parquet``, ``configs.parquet``, ``evaluations.parquet`` and
``manifest.json`` in ``out_dir``.

Parallelism: ``n_jobs`` joblib (loky) worker processes on this machine, or a
Dask cluster when ``scheduler="tcp://host:port"`` (or a ``distributed.Client``)
is given; every fit is single-threaded.  Task units run first (they tell the
task kind, which selects the pool of scikit-learn learners), then all other
units.

This module holds the build's steps; task lists are read in :mod:`~metaopt.kb._build_inputs`,
units run in :mod:`~metaopt.kb._build_units` (executed by :mod:`~metaopt.kb._build_exec`), part
files are handled in :mod:`~metaopt.kb._build_parts` and compiled in
:mod:`~metaopt.kb._build_compile`. Running a build: ``docs/knowledge_base.md``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from metaopt.core import Protocol
from metaopt.exceptions import ConfigError
from metaopt.kb._build_compile import compile_kb
from metaopt.kb._build_exec import execute_units
from metaopt.kb._build_inputs import TaskSpec, resolve_inputs
from metaopt.kb._build_parts import PARTS_DIR, compiled_state, read_task_part, refresh_licence, write_part
from metaopt.kb._build_units import Unit, part_digest
from metaopt.kb._pool import PoolConfig, build_pool, kind_group, make_config
from metaopt.learners import get_learner
from metaopt.utils import usable_cores

DEFAULT_TIME_LIMIT_S = 300.0
DEFAULT_CHUNK = 8


def build(inputs: Any, out_dir: str | os.PathLike, learners: Sequence[str] = ("lightgbm",),
          pool_size: int | None = None, folds: int = 5, max_rows: int | None = 10_000, n_jobs: int = 1,
          scheduler: Any = None, time_limit_s: float | None = DEFAULT_TIME_LIMIT_S, progress: bool = True,
          tpe_trials: int = 0, *, tasks: Iterable[str] | None = None, limit: int | None = None,
          exclude: Iterable[str] | None = None, seed: int = 0, chunk_size: int = DEFAULT_CHUNK,
          extra_configs: Mapping[str, Sequence[dict[str, Any]]] | None = None, compile: bool = True,
          command: str | None = None, order: str = "largest") -> dict[str, Any]:
    """Build (or resume) a knowledge base of our own evaluations in ``out_dir``.

    Parameters
    ----------
    inputs
        A corpus directory (``catalog.csv``), data files (``path`` or
        ``path:target``), ``openml-task:<id>`` strings, or a list of these.
    learners
        Registered learner names.
    pool_size
        Configurations per learner: ``None`` = the full pool (default +
        known-good + Sobol); N = the first N of (default, known-good, Sobol...).
    folds, max_rows, seed, time_limit_s
        The protocol (:class:`~metaopt.core.Protocol`).
    n_jobs, scheduler
        Worker processes (joblib/loky), or a Dask scheduler address / Client.
    tpe_trials
        Trials of an extra Optuna TPE run per (task, learner); 0 = none.
    tasks, limit, exclude
        Keep only these task names, the first ``limit`` tasks, drop these names.
    extra_configs
        ``{learner: [params, ...]}`` appended to the pool (origin ``known-good``).
    compile
        Merge the parts into the KB tables at the end.
    order
        ``"largest"`` tasks first (balances many workers) or ``"smallest"`` first (with one
        worker, the most tasks complete early); units of a task run together either way.

    Returns a summary dict: counts of units run / skipped / failed, errors,
    the compiled table counts and wall time.
    """
    t_start = time.perf_counter()
    learners, n_jobs, sign = _check_options(learners, folds, n_jobs, pool_size, chunk_size, order)
    protocol = Protocol(n_folds=folds, seed=seed, max_rows=max_rows or None, time_limit_s=time_limit_s)
    specs = resolve_inputs(inputs, tasks=tasks, limit=limit, exclude=exclude)
    if not specs:
        raise ConfigError("no tasks to build")
    _check_out_dir(Path(out_dir))
    run = _BuildRun.start(Path(out_dir), protocol, len(specs))

    # phase 1: task units (kind, meta-features, hash)
    execute_units(_task_units(specs, run, sign), n_jobs, scheduler, run.on_result, "tasks", progress)
    kinds, sizes = _task_kinds(specs, run)
    pools = _write_pools(learners, kinds, run.parts, pool_size, extra_configs)

    # phase 2: evaluation and TPE units
    units = [u for s in specs if s.task_id in kinds for lr in learners
             for u in _units_of(s, lr, kinds[s.task_id], pools, run, chunk_size, tpe_trials)]
    # TPE runs first, then tasks by size (``order``), units of a task together
    units.sort(key=lambda u: (u.kind != "tpe", sign * sizes.get(u.spec.task_id, 0), u.spec.task_id))
    execute_units(units, n_jobs, scheduler, run.on_result, "evaluations", progress)

    summary = run.summary
    if compile:
        kb = compile_kb(run.out, command=command)
        summary["counts"] = kb.counts() if hasattr(kb, "counts") else None
    summary["wall_s"] = time.perf_counter() - t_start
    return summary


def _check_options(learners: Sequence[str], folds: int, n_jobs: int | None, pool_size: int | None,
                   chunk_size: int, order: str) -> tuple[list[str], int, int]:
    """Registered learner names, the number of worker processes and the size order's sign (-1 = largest)."""
    learners = [get_learner(lr).name for lr in learners]
    if not learners:
        raise ConfigError("no learners given")
    if folds < 2:
        raise ConfigError(f"folds must be >= 2, got {folds}")
    if n_jobs is None or n_jobs == 0:
        n_jobs = 1
    if n_jobs < 0:
        n_jobs = max(1, usable_cores() + 1 + n_jobs)
    if pool_size is not None and pool_size < 1:
        raise ConfigError(f"pool_size must be >= 1, got {pool_size}")
    if chunk_size < 1:
        raise ConfigError("chunk_size must be >= 1")
    if order not in ("largest", "smallest"):
        raise ConfigError(f"order must be 'largest' or 'smallest', got {order!r}")
    return learners, n_jobs, -1 if order == "largest" else 1


def _check_out_dir(out: Path) -> None:
    """Refuse a knowledge base that holds more than builds (the shipped one, one grown by ``kb add-study``): the
    compile would rewrite its manifest from the build's sources alone, losing the others' provenance and
    licences, and its merge steps."""
    import json

    from metaopt.kb import _schema as S

    try:
        sources = json.loads((out / S.MANIFEST_FILE).read_text()).get("sources") or []
        names = [str(s.get("name", "")) for s in sources]
    except (OSError, ValueError, AttributeError):  # no manifest (a new or uncompiled build), or a damaged one
        return
    other = [name for name in names if not name.startswith("metaopt_build_")]
    if other:
        raise ConfigError(f"{out} is a knowledge base with other sources ({', '.join(other[:3])}"
                          f"{', ...' if len(other) > 3 else ''}), not a build directory: build into a new "
                          f"directory, then merge it: metaopt kb merge NEW_DIR --into {out}")


@dataclass
class _BuildRun:
    """What the steps of one build share: where parts go, the protocol, what is done, the summary."""

    out: Path
    parts: Path
    protocol: Protocol
    summary: dict[str, Any]
    #: what an earlier, compiled build already holds (e.g. committed without its parts)
    compiled_tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    compiled_evals: set[tuple[str, str, str, str]] = field(default_factory=set)

    @classmethod
    def start(cls, out: Path, protocol: Protocol, n_tasks: int) -> _BuildRun:
        parts = out / PARTS_DIR
        parts.mkdir(parents=True, exist_ok=True)
        summary: dict[str, Any] = {"tasks": n_tasks, "units_run": 0, "units_skipped": 0, "units_failed": 0,
                                   "errors": [], "notes": [], "protocol": protocol.name, "out_dir": str(out)}
        compiled_tasks, compiled_evals = compiled_state(out)
        return cls(out, parts, protocol, summary, compiled_tasks, compiled_evals)

    def skip(self) -> None:
        self.summary["units_skipped"] += 1

    def on_result(self, res: dict[str, Any]) -> None:
        """Write a finished unit's parts (only this process writes), or record its failure."""
        summary = self.summary
        if not res.get("ok"):
            summary["units_failed"] += 1
            summary["errors"].append(f"{res.get('unit')}: {res.get('error')}")
            return
        for rel, table, rows in res["tables"]:
            write_part(self.parts / rel, table, rows)
        if res.get("note"):
            summary["notes"].append(f"{res.get('task_id') or res.get('unit')}: {res['note']}")  # notes are the task's
        summary["units_run"] += 1


def _task_units(specs: list[TaskSpec], run: _BuildRun, sign: int) -> list[Unit]:
    """Task units still to run, in size order; an existing task part gets the task list's licence."""
    units = []
    for s in specs:
        rel = f"{s.dirname}/_task.parquet"
        row = read_task_part(run.parts / rel) if (run.parts / rel).is_file() else None
        if row:
            refresh_licence(run.parts / rel, s, row)
        if s.task_id in run.compiled_tasks or row:
            run.skip()
        else:
            units.append(Unit("task", s, rel, run.protocol))
    units.sort(key=lambda u: sign * (u.spec.size_hint or 0))  # stable: list order within a size
    return units


def _task_kinds(specs: list[TaskSpec], run: _BuildRun) -> tuple[dict[str, str], dict[str, int]]:
    """Kind and row count of every task whose task unit is done (in a part or the compiled tables)."""
    kinds: dict[str, str] = {}
    sizes: dict[str, int] = {}
    for s in specs:
        row = run.compiled_tasks.get(s.task_id) or read_task_part(run.parts / f"{s.dirname}/_task.parquet")
        if row:
            kinds[s.task_id] = row["kind"]
            sizes[s.task_id] = int(row.get("n_rows") or 0)
    return kinds, sizes


def _write_pools(learners: list[str], kinds: dict[str, str], parts: Path, pool_size: int | None,
                 extra_configs: Mapping[str, Sequence[dict[str, Any]]] | None) -> dict[tuple[str, str],
                                                                                      list[PoolConfig]]:
    """The pools, built and written once per learner and kind group of the tasks at hand."""
    pools: dict[tuple[str, str], list[PoolConfig]] = {}
    for lr in learners:
        learner = get_learner(lr)
        for kind in sorted(set(kinds.values())):
            if kind not in learner.kinds:
                continue
            group = kind_group(lr, kind)
            if (lr, group) not in pools:
                pools[(lr, group)] = _pool_for(lr, kind, pool_size, extra_configs)
                write_part(parts / "_configs" / f"{lr}-{group}.parquet", "configs",
                           [c.record() for c in pools[(lr, group)]])
    return pools


def _pool_for(learner: str, kind: str, pool_size: int | None,
              extra: Mapping[str, Sequence[dict[str, Any]]] | None) -> list[PoolConfig]:
    full = build_pool(learner, kind)
    fixed = [c for c in full if c.origin != "sobol"]
    if pool_size is None:
        pool = full
    elif pool_size <= len(fixed):
        pool = fixed[:pool_size]
    else:
        pool = fixed + [c for c in build_pool(learner, kind, n_sobol=pool_size - len(fixed)) if c.origin == "sobol"]
    for params in (extra or {}).get(learner, []):
        pool.append(make_config(learner, params, "known-good", {"source": "extra_configs"}))
    return pool


def _units_of(s: TaskSpec, lr: str, kind: str, pools: dict[tuple[str, str], list[PoolConfig]], run: _BuildRun,
              chunk_size: int, tpe_trials: int) -> list[Unit]:
    """The evaluation units (one per pool chunk) and the TPE unit of one task and learner still to run.

    The part names (chunk index, :func:`part_digest` of the protocol and the chunk's config ids)
    are how a rerun recognises finished work: they must stay as they are.
    """
    if kind not in get_learner(lr).kinds:
        return []
    units: list[Unit] = []
    protocol = run.protocol
    pool = pools[(lr, kind_group(lr, kind))]
    for ci in range(0, len(pool), chunk_size):
        chunk = pool[ci: ci + chunk_size]
        h = part_digest(protocol.name, protocol.time_limit_s, [c.config_id for c in chunk])
        rel = f"{s.dirname}/{lr}-{ci // chunk_size:03d}-{h}.parquet"
        if (run.parts / rel).is_file() or all(
                (s.task_id, lr, c.config_id, protocol.name) in run.compiled_evals for c in chunk):
            run.skip()
            continue
        units.append(Unit("eval", s, rel, protocol, learner=lr, configs=chunk))
    if tpe_trials:
        h = part_digest(protocol.name, protocol.time_limit_s, "tpe", tpe_trials)
        rel = f"{s.dirname}/{lr}-tpe{tpe_trials}-{h}.parquet"
        if (run.parts / rel).is_file():
            run.skip()
        else:
            units.append(Unit("tpe", s, rel, protocol, learner=lr, tpe_trials=tpe_trials,
                              configs_part=rel.replace(".parquet", ".configs.parquet")))
    return units
