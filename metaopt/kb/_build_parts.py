"""The part files of a ``metaopt kb build``: atomic writes, and what earlier runs left behind.

Each unit's result is one Parquet part under ``<out>/parts``, written to a hidden temporary
file and renamed into place, so a part is complete or absent and a rerun can skip the units
whose part exists (or whose rows the compiled tables already hold). See
``docs/knowledge_base.md`` ("Resume").
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from metaopt.kb import _schema as S
from metaopt.kb._arrow import to_arrow
from metaopt.kb._build_inputs import TaskSpec

PARTS_DIR = "parts"


def write_part(path: Path, table: str, rows: list[dict[str, Any]]) -> None:
    """Write ``rows`` as a Parquet part of ``table`` atomically (hidden temp file + ``os.replace``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    df = pd.DataFrame(rows)
    if table == "evaluations" or table == "configs":
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


def read_task_part(path: Path) -> dict[str, Any] | None:
    """The task row of a task part (``None`` if it is damaged or empty: the unit runs again)."""
    try:
        tbl = pq.read_table(path, columns=["task_id", "kind", "n_rows", "licence"])
    except Exception:  # noqa: BLE001 - damaged: recompute
        return None
    rows = tbl.to_pylist()
    return rows[0] if rows else None


def refresh_licence(path: Path, spec: TaskSpec, row: dict[str, Any]) -> None:
    """Rewrite a task part whose licence differs from the task list's (a corrected licence table)."""
    if spec.licence is None or row.get("licence") == spec.licence:
        return
    df = pd.read_parquet(path)
    df["licence"] = spec.licence
    write_part(path, "tasks", df.to_dict("records"))


def compiled_state(out: Path) -> tuple[dict[str, dict[str, Any]], set[tuple[str, str, str, str]]]:
    """Tasks and evaluation keys already in the compiled KB of ``out`` (empty if none).

    Only the compiled tables are committed to a repository, not the many small part
    files, so a rerun on a fresh checkout resumes from them.
    """
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
