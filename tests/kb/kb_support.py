"""Helpers shared by the tests in tests/kb/ (imported by name: `from kb_support import ...`).

A uniquely named module, because `from conftest import ...` resolves to whichever
conftest pytest imported last when several test folders have one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from shared_support import shared_data_dir  # noqa: F401  (re-exported: the kb tests import it from here)

REPO = Path(__file__).resolve().parents[2]


FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _eval_row(task_id, learner, config_id, source="corpus", **metrics):
    row = {"task_id": task_id, "learner": learner, "config_id": config_id, "source": source,
           "protocol": "cv5", "n_folds": 5, "n_train_rows": 80, "status": "ok", "error": None,
           "fit_time_s": 0.1, "predict_time_s": 0.01, "n_estimators_used": np.nan}
    for m in ("roc_auc", "log_loss", "accuracy", "rmse", "r2"):
        row[m] = metrics.get(m, np.nan)
        row[f"{m}_folds"] = metrics.get(f"{m}_folds")
    return row


def make_small_kb():
    """A tiny hand-made KB: 2 tasks, 3 configs, 4 evaluations."""
    from metaopt.kb import KnowledgeBase

    tasks = pd.DataFrame([
        {"task_id": "corpus/a", "name": "a", "source": "corpus", "dataset_key": "name/a", "openml_data_id": None,
         "openml_task_id": None, "kind": "binary", "licence": "CC0", "data_hash": "abc", "n_rows": 100,
         "n_features": 5, "NumberOfInstances": 100.0, "mo_x": 0.5},
        {"task_id": "corpus/b", "name": "b", "source": "corpus", "dataset_key": "openml-data/31",
         "openml_data_id": 31, "openml_task_id": 31, "kind": "regression", "licence": "CC0", "data_hash": None,
         "n_rows": 200, "n_features": 3, "NumberOfInstances": 200.0, "mo_x": np.nan},
    ])
    configs = pd.DataFrame([
        {"learner": "lightgbm", "config_id": "default", "params": "{}", "origin": "default", "native_params": None},
        {"learner": "lightgbm", "config_id": "s1", "params": '{"learning_rate": 0.1}', "origin": "sobol",
         "native_params": None},
        {"learner": "random_forest", "config_id": "default", "params": "{}", "origin": "default",
         "native_params": None},
    ])
    evals = pd.DataFrame([
        _eval_row("corpus/a", "lightgbm", "default", roc_auc=0.8, roc_auc_folds=[0.7, 0.9]),
        _eval_row("corpus/a", "lightgbm", "s1", roc_auc=0.85),
        _eval_row("corpus/b", "lightgbm", "default", rmse=1.5, r2=0.3),
        _eval_row("corpus/a", "random_forest", "default", accuracy=0.7),
    ])
    return KnowledgeBase.from_frames(tasks, configs, evals, [{"name": "corpus", "licence": "various",
                                                                "description": "test"}], command="make it")

