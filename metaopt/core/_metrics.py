"""The metrics of the evaluation protocol: one definition for the KB build, tuning and estimators.

Step 4 of :mod:`metaopt.core._protocol` (``docs/knowledge_base.md`` has the table).
"""

from __future__ import annotations

import warnings
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
#: kind -> every metric ``tune`` can optimise: the protocol's, then metrics the KB does not record (a user's
#: objective; the warm start still ranks by the KB's metric).  ``average_precision`` and binary ``f1`` score
#: the second of the sorted labels as the positive class (scikit-learn's ``pos_label=1``); multiclass
#: ``f1`` is the macro average.
TUNE_METRICS: dict[str, tuple[str, ...]] = {
    "binary": KIND_METRICS["binary"] + ("average_precision", "balanced_accuracy", "f1"),
    "multiclass": KIND_METRICS["multiclass"] + ("balanced_accuracy", "f1"),
    "regression": KIND_METRICS["regression"] + ("mae",),
}
TUNE_ALL_METRICS: tuple[str, ...] = tuple(dict.fromkeys(ALL_METRICS + sum(TUNE_METRICS.values(), ())))
#: metric optimised by default per kind, and whether larger is better
PRIMARY: dict[str, str] = {"binary": "roc_auc", "multiclass": "log_loss", "regression": "rmse"}
GREATER_IS_BETTER: dict[str, bool] = {"roc_auc": True, "log_loss": False, "accuracy": True, "rmse": False, "r2": True,
                                      "average_precision": True, "balanced_accuracy": True, "f1": True,
                                      "mae": False}


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
        if "mae" in want:
            out["mae"] = float(np.mean(np.abs(yt - p)))
        return out
    proba = pred
    k = proba.shape[1]
    out = _label_metrics(np.argmax(proba, axis=1), yt, kind, want)
    if "average_precision" in want:
        both = len(np.unique(yt)) == 2 and k == 2
        out["average_precision"] = float(skm.average_precision_score(yt == 1, proba[:, 1])) if both else float("nan")
    if "log_loss" in want:
        clipped = np.clip(proba, 1e-15, 1.0)
        clipped /= clipped.sum(axis=1, keepdims=True)
        out["log_loss"] = float(skm.log_loss(yt, clipped, labels=np.arange(k)))
    if "accuracy" in want:
        out["accuracy"] = float(np.mean(np.argmax(proba, axis=1) == yt))
    if "roc_auc" in want:
        out["roc_auc"] = _roc_auc(proba, yt, kind)
    return out


def _label_metrics(labels: np.ndarray, yt: np.ndarray, kind: str, want: tuple[str, ...]) -> dict[str, float]:
    """The metrics of hard predictions (the most probable class) that ``tune`` may optimise beyond accuracy."""
    from sklearn import metrics as skm

    out = {}
    if "balanced_accuracy" in want:
        with warnings.catch_warnings():  # a predicted class absent from the fold: scikit-learn warns, scores it
            warnings.simplefilter("ignore")
            out["balanced_accuracy"] = float(skm.balanced_accuracy_score(yt, labels))
    if "f1" in want:
        average = "binary" if kind == "binary" else "macro"
        out["f1"] = float(skm.f1_score(yt, labels, average=average, pos_label=1, zero_division=0.0))
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
