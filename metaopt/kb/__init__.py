"""The knowledge base: past hyperparameter evaluations of learners on tasks.

``KnowledgeBase.load()`` reads the shipped KB (see :mod:`metaopt.kb._locate` for
where it is looked up); importers turn existing histories into KB rows:

* :func:`import_tabrepo` - TabRepo's LightGBM matrix,
* :func:`import_pimp` - openml-pimp's RandomForest runs (van Rijn & Hutter 2018),
* :func:`import_openml_runs` - any OpenML flow's runs through openml-python,
* :func:`import_optuna_study` - a user's Optuna study on their own data.

:func:`build_kb` (``metaopt kb build``) evaluates the configuration pool on many tasks
itself; :func:`enrich_imported` fills imported tasks' meta-features from OpenML quality tables.

See ``docs/knowledge_base.md`` for the schema and every mapping decision.
"""

from __future__ import annotations

from typing import Any

from metaopt.kb._schema import METRICS, SCHEMA_VERSION, TABLE_FILES, TASK_KINDS, USER_STUDY_SOURCE
from metaopt.kb._locate import default_kb_path
from metaopt.kb._store import KnowledgeBase, compile_parts, load_kb
from metaopt.kb._build_compile import compile_kb
from metaopt.kb._build_inputs import default_holdout_file, read_rdatasets_list
from metaopt.kb._builder import build as build_kb
from metaopt.kb._enrich import enrich_imported
from metaopt.kb._lock import writing
from metaopt.kb._collections import SIZE_BANDS, complete_pool_tasks, coverage_table, size_bands, task_collections

__all__ = [
    "KnowledgeBase",
    "SCHEMA_VERSION",
    "METRICS",
    "TASK_KINDS",
    "TABLE_FILES",
    "USER_STUDY_SOURCE",
    "compile_parts",
    "default_kb_path",
    "load_kb",
    "build_kb",
    "compile_kb",
    "default_holdout_file",
    "read_rdatasets_list",
    "enrich_imported",
    "task_collections",
    "size_bands",
    "SIZE_BANDS",
    "complete_pool_tasks",
    "coverage_table",
    "writing",
    "import_tabrepo",
    "import_pimp",
    "import_openml_runs",
    "import_optuna_study",
    "schema_key",
]

_LAZY = {
    "import_tabrepo": "metaopt.kb._import_tabrepo",
    "import_pimp": "metaopt.kb._import_pimp",
    "import_openml_runs": "metaopt.kb._import_openml",
    "import_optuna_study": "metaopt.kb._import_study",
    "schema_key": "metaopt.kb._import_study",
}


def __getattr__(name: str) -> Any:  # lazy: importers pull in openml / optuna only when used
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'metaopt.kb' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
