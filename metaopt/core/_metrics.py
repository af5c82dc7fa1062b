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


def predictions(model: Any, X: pd.DataFrame, kind: str, labels: np.ndarray | None) -> np.ndarray:
    """A fitted model's predictions as the protocol scores them: ``(n, 1)`` values (regression) or ``(n, k)``
    probabilities aligned to the task's ``labels``; the unit of out-of-fold predictions and ensembles."""
    if kind == "regression":
        return np.asarray(model.predict(X), dtype="float64").reshape(-1, 1)
    return aligned_proba(model, X, labels)


def target_codes(y: pd.Series, kind: str, labels: np.ndarray | None) -> np.ndarray:
    """``y`` as :func:`score_predictions` takes it: float values, or positions in ``labels``."""
    if kind == "regression":
        return y.to_numpy(dtype="float64")
    pos = {lab: j for j, lab in enumerate(labels.tolist())}
    return np.asarray([pos[v] for v in y.astype(object).tolist()], dtype="int64")


def score_model(model: Any, X: pd.DataFrame, y: pd.Series, kind: str, labels: np.ndarray | None
                ) -> dict[str, float]:
    """The protocol's metrics (step 4 of :mod:`metaopt.core._protocol`) of a fitted model on one test fold.

    One definition for the KB build and :func:`metaopt.tuning.tune`, so a tuned
    score and a KB score of the same configuration are comparable.  ``labels``:
    the task's classes (``PreparedTask.labels``), ``None`` for regression.
    """
    return score_predictions(predictions(model, X, kind, labels), target_codes(y, kind, labels), kind)


def score_predictions(pred: np.ndarray, yt: np.ndarray, kind: str, metrics: tuple[str, ...] | None = None
                      ) -> dict[str, float]:
    """The protocol's metrics of :func:`predictions` ``pred`` against ``yt`` (:func:`target_codes`);
    ``metrics``: only these (ensemble selection scores one metric many times)."""
    from sklearn import metrics as skm

    want = KIND_METRICS[kind] if metrics is None else metrics
    if kind == "regression":
        p = pred[:, 0] if pred.ndim == 2 else pred
        out = {}
        if "rmse" in want:
            out["rmse"] = float(np.sqrt(np.mean((yt - p) ** 2)))
        if "r2" in want:
            out["r2"] = float(skm.r2_score(yt, p)) if len(yt) > 1 and np.var(yt) > 0 else float("nan")
        return out
    proba = pred
    k = proba.shape[1]
    out = {}
    if "log_loss" in want:
        clipped = np.clip(proba, 1e-15, 1.0)
        clipped /= clipped.sum(axis=1, keepdims=True)
        out["log_loss"] = float(skm.log_loss(yt, clipped, labels=np.arange(k)))
    if "accuracy" in want:
        out["accuracy"] = float(np.mean(np.argmax(proba, axis=1) == yt))
    if "roc_auc" in want:
        out["roc_auc"] = _roc_auc(proba, yt, kind)
    return out


def _roc_auc(proba: np.ndarray, yt: np.ndarray, kind: str) -> float:
    """Binary AUC, or one-vs-rest AUC weighted by prevalence; NaN when a class is missing."""
    from sklearn import metrics as skm

    k = proba.shape[1]
    try:
        if kind == "binary" or k == 2:
            return float(skm.roc_auc_score(yt, proba[:, 1])) if len(np.unique(yt)) == 2 else float("nan")
        if len(np.unique(yt)) < k:
            return float("nan")
        return float(skm.roc_auc_score(yt, proba, multi_class="ovr", average="weighted", labels=np.arange(k)))
    except ValueError:
        return float("nan")
