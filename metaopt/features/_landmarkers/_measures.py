"""The landmarkers' measures, computed like Weka on pooled out-of-fold predictions.

Classification: ``AUC`` (Weka's ``weightedAreaUnderROC``: one-vs-rest AUCs, ties count one half,
weighted by class frequency), ``ErrRate`` (1 - accuracy) and ``Kappa`` (Cohen's). Regression:
``R2`` and ``NRMSE`` (RMSE / standard deviation of the target; ``R2 = 1 - NRMSE**2``).
"""

from __future__ import annotations

import numpy as np


def weighted_auc(y: np.ndarray, proba: np.ndarray) -> float:
    """Weka's weightedAreaUnderROC: one-vs-rest AUCs weighted by class frequency."""
    counts = np.bincount(y, minlength=proba.shape[1])
    total, acc = 0.0, 0.0
    m = y.size
    for c in np.flatnonzero(counts):
        pos = y == c
        n_pos = counts[c]
        n_neg = m - n_pos
        if n_neg == 0:
            continue
        # P(score_pos > score_neg) + P(equal) / 2, by binary search in the sorted negatives
        neg = np.sort(proba[~pos, c])
        sp = proba[pos, c]
        lo = np.searchsorted(neg, sp, side="left")
        hi = np.searchsorted(neg, sp, side="right")
        auc = (lo.sum() + 0.5 * (hi - lo).sum()) / (n_pos * n_neg)
        acc += n_pos * auc
        total += n_pos
    return float(acc / total) if total > 0 else float("nan")


def kappa(y: np.ndarray, pred: np.ndarray, k: int) -> float:
    """Cohen's kappa of hard predictions over ``k`` classes."""
    m = y.size
    if m == 0:
        return float("nan")
    po = float(np.mean(y == pred))
    pe = float(np.dot(np.bincount(y, minlength=k), np.bincount(pred, minlength=k))) / (m * m)
    if pe >= 1.0:
        return 0.0 if po >= 1.0 else float("nan")
    return (po - pe) / (1.0 - pe)


def cls_scores(y: np.ndarray, proba: np.ndarray, k: int) -> tuple[float, float, float]:
    """``(AUC, ErrRate, Kappa)`` of class probabilities ``proba`` (rows x k)."""
    proba = np.nan_to_num(proba, nan=0.0)
    pred = np.argmax(proba, axis=1)
    return weighted_auc(y, proba), float(np.mean(pred != y)), kappa(y, pred, k)


def reg_scores(y: np.ndarray, pred: np.ndarray) -> tuple[float, float]:
    """``(R2, NRMSE)`` of predictions; NaN for non-finite predictions or a constant target."""
    sd = float(np.std(y))
    if not np.all(np.isfinite(pred)) or sd <= 0.0:
        return float("nan"), float("nan")
    rmse = float(np.sqrt(np.mean((y - pred) ** 2)))
    nrmse = rmse / sd
    return 1.0 - nrmse ** 2, nrmse
