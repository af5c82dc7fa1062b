"""The evaluations rows of a foreign history: one score per (task, configuration), none of our folds.

TabRepo, openml-pimp, OpenML runs and Optuna studies report one metric per run and no
per-fold values; every importer fills the same columns the same way through these two helpers.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from metaopt.kb import _schema as S


def foreign_evaluations(task_ids: pd.Series, learner: str, config_ids: Any, source: str, protocol: str, *,
                        fit_time_s: Any = np.nan) -> pd.DataFrame:
    """An evaluations frame with every metric NaN; the importer then sets the one it has."""
    n = len(task_ids)
    ev = pd.DataFrame({
        "task_id": task_ids, "learner": learner, "config_id": config_ids, "source": source, "protocol": protocol,
        "n_folds": pd.array([pd.NA] * n, dtype="Int64"), "n_train_rows": pd.array([pd.NA] * n, dtype="Int64"),
        "status": "ok", "error": None, "fit_time_s": fit_time_s, "predict_time_s": np.nan,
        "n_estimators_used": np.nan,
    })
    for metric in S.METRIC_NAMES:
        ev[metric] = np.nan
        ev[f"{metric}_folds"] = None
    return ev


def foreign_row(task_id: str, learner: str, config_id: str, source: str, protocol: str, metric: str, value: float,
                *, n_folds: int | None = None, fit_time_s: float = np.nan) -> dict[str, Any]:
    """One evaluations row holding ``value`` as ``metric`` (every other metric NaN)."""
    row: dict[str, Any] = {"task_id": task_id, "learner": learner, "config_id": config_id, "source": source,
                           "protocol": protocol, "n_folds": n_folds, "n_train_rows": None, "status": "ok",
                           "error": None, "fit_time_s": fit_time_s, "predict_time_s": np.nan,
                           "n_estimators_used": np.nan}
    for m in S.METRIC_NAMES:
        row[m] = float(value) if m == metric else np.nan
        row[f"{m}_folds"] = None
    return row
