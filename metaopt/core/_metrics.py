"""The metrics of the evaluation protocol: one definition for the KB build, tuning and estimators.

Step 4 of :mod:`metaopt.core._protocol` (``docs/knowledge_base.md`` has the table).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

#: kind -> metrics computed on its test folds (the first is the default, :data:`PRIMARY`); not to be
#: confused with :data:`metaopt.kb.METRICS`, the schema's metric -> (low, high, higher_is_better)
KIND_METRICS: dict[str, tuple[str, ...]] = {
    "binary": ("roc_auc", "log_loss", "accuracy"),
    "multiclass": ("log_loss", "accuracy", "roc_auc"),
    "regression": ("rmse", "r2"),
}
ALL_METRICS: tuple[str, ...] = ("roc_auc", "log_loss", "accuracy", "rmse", "r2")
#: metric optimised by default per kind, and whether larger is better
PRIMARY: dict[str, str] = {"binary": "roc_auc", "multiclass": "log_loss", "regression": "rmse"}
GREATER_IS_BETTER: dict[str, bool] = {"roc_auc": True, "log_loss": False, "accuracy": True, "rmse": False, "r2": True}


def aligned_proba(model: Any, X: pd.DataFrame, labels: np.ndarray) -> np.ndarray:
    """``predict_proba`` with one column per task label (absent classes: 0), rows summing to 1."""
    raw = model.predict_proba(X)
    out = np.zeros((raw.shape[0], len(labels)))
    pos = {lab: j for j, lab in enumerate(labels.tolist())}
    for k, lab in enumerate(np.asarray(model.classes_).tolist()):
        if lab in pos:
            out[:, pos[lab]] = raw[:, k]
    s = out.sum(axis=1, keepdims=True)
    s[s == 0] = 1.0
    return out / s


def score_model(model: Any, X: pd.DataFrame, y: pd.Series, kind: str, labels: np.ndarray | None
                ) -> dict[str, float]:
    """The protocol's metrics (step 4 of :mod:`metaopt.core._protocol`) of a fitted model on one test fold.

    One definition for the KB build and :func:`metaopt.tuning.tune`, so a tuned
    score and a KB score of the same configuration are comparable.  ``labels``:
    the task's classes (``PreparedTask.labels``), ``None`` for regression.
    """
    from sklearn import metrics as skm

    if kind == "regression":
        pred = model.predict(X)
        yt = y.to_numpy(dtype="float64")
        rmse = float(np.sqrt(np.mean((yt - pred) ** 2)))
        r2 = float(skm.r2_score(yt, pred)) if len(yt) > 1 and np.var(yt) > 0 else float("nan")
        return {"rmse": rmse, "r2": r2}
    proba = aligned_proba(model, X, labels)
    pos = {lab: j for j, lab in enumerate(labels.tolist())}
    yt = np.asarray([pos[v] for v in y.astype(object).tolist()], dtype="int64")
    k = len(labels)
    clipped = np.clip(proba, 1e-15, 1.0)
    clipped /= clipped.sum(axis=1, keepdims=True)
    out = {
        "log_loss": float(skm.log_loss(yt, clipped, labels=np.arange(k))),
        "accuracy": float(np.mean(np.argmax(proba, axis=1) == yt)),
    }
    try:
        if kind == "binary" or k == 2:
            out["roc_auc"] = float(skm.roc_auc_score(yt, proba[:, 1])) if len(np.unique(yt)) == 2 else float("nan")
        else:
            present = np.unique(yt)
            if len(present) < k:
                out["roc_auc"] = float("nan")
            else:
                out["roc_auc"] = float(skm.roc_auc_score(yt, proba, multi_class="ovr", average="weighted",
                                                         labels=np.arange(k)))
    except ValueError:
        out["roc_auc"] = float("nan")
    return out
