"""The study's metric of many candidate blends at once, fold by fold: the inner loop of greedy selection.

Written by hand because scikit-learn's metrics score one prediction per call, with input validation
that costs about a millisecond each: selection scores candidates x rounds x folds blends (25 x 40 x 5
= 5,000 calls, seconds that a 10 s time budget does not have).  These are the same definitions as
:func:`metaopt.core.score_predictions` (ROC AUC as the Mann-Whitney statistic with average ranks
for ties, which is what the area under scikit-learn's ROC curve equals), vectorised over candidates;
``tests/tuning/test_ensemble.py`` checks them against it.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata


def _auc(scores: np.ndarray, positive: np.ndarray) -> np.ndarray:
    """AUC of each row of ``scores`` (candidates x rows) for the boolean labels ``positive``; NaN without both."""
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    if n_pos == 0 or n_neg == 0:
        return np.full(scores.shape[0], np.nan)
    ranks = rankdata(scores, axis=1)
    return (ranks[:, positive].sum(axis=1) - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def _average_precision(scores: np.ndarray, positive: np.ndarray) -> np.ndarray:
    """Average precision of each row of ``scores`` (candidates x rows), scikit-learn's definition: precision
    at each distinct threshold weighted by the recall it adds; NaN without both labels."""
    n_pos = int(positive.sum())
    if n_pos == 0 or n_pos == len(positive):
        return np.full(scores.shape[0], np.nan)
    out = np.empty(scores.shape[0])
    for i, row in enumerate(scores):  # one sort per candidate; ties form one threshold
        order = np.argsort(-row, kind="mergesort")
        s, hit = row[order], positive[order]
        last = np.r_[np.flatnonzero(np.diff(s) != 0), len(s) - 1]  # the last row of each distinct score
        tps = np.cumsum(hit)[last]
        precision = tps / (last + 1)
        out[i] = np.sum(np.diff(np.r_[0, tps]) / n_pos * precision)
    return out


def _label_scores(labels: np.ndarray, yt: np.ndarray, kind: str, k: int, metric: str) -> np.ndarray:
    """Balanced accuracy or F1 of each row of hard predictions ``labels`` (candidates x rows)."""
    if metric == "balanced_accuracy":
        present = np.unique(yt)
        return np.mean([np.mean(labels[:, yt == c] == c, axis=1) for c in present], axis=0)
    classes = [1] if kind == "binary" else range(k)
    f1, used = np.zeros(len(labels)), np.zeros(len(labels))
    for c in classes:
        pred, true = labels == c, (yt == c)[None, :]
        tp = np.sum(pred & true, axis=1)
        denom = 2 * tp + np.sum(pred & ~true, axis=1) + np.sum(~pred & true, axis=1)
        f1 += np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0)
        used += (denom > 0) if kind != "binary" else 1  # macro: classes in the truth or the predictions
    return f1 / np.maximum(used, 1)


def _one_fold(blends: np.ndarray, yt: np.ndarray, kind: str, metric: str) -> np.ndarray:
    """``metric`` of each blend (candidates x rows x columns) on one fold's rows."""
    if kind == "regression":
        err = blends[:, :, 0] - yt[None, :]
        if metric == "rmse":
            return np.sqrt(np.mean(err ** 2, axis=1))
        if metric == "mae":
            return np.mean(np.abs(err), axis=1)
        total = np.sum((yt - yt.mean()) ** 2)
        return 1 - np.sum(err ** 2, axis=1) / total if len(yt) > 1 and total > 0 else np.full(len(blends), np.nan)
    rows = np.arange(len(yt))
    if metric == "log_loss":
        p = np.clip(blends, 1e-15, 1.0)
        p = p / p.sum(axis=2, keepdims=True)
        p = np.clip(p, np.finfo(float).eps, 1 - np.finfo(float).eps)  # scikit-learn's own clipping
        return -np.mean(np.log(p[:, rows, yt]), axis=1)
    k = blends.shape[2]
    if metric == "accuracy":
        return np.mean(np.argmax(blends, axis=2) == yt[None, :], axis=1)
    if metric in ("balanced_accuracy", "f1"):
        return _label_scores(np.argmax(blends, axis=2), yt, kind, k, metric)
    if metric == "average_precision":
        return _average_precision(blends[:, :, 1], yt == 1)
    if kind == "binary" or k == 2:
        return _auc(blends[:, :, 1], yt == 1)
    present = np.unique(yt)
    if len(present) < k:
        return np.full(len(blends), np.nan)
    weights = np.bincount(yt, minlength=k) / len(yt)
    return sum(w * _auc(blends[:, :, c], yt == c) for c, w in enumerate(weights))


def fold_mean_scores(blends: np.ndarray, yt: np.ndarray, kind: str, metric: str,
                     folds: list[np.ndarray] | None) -> np.ndarray:
    """Mean over ``folds`` (positions into the rows; None: all rows at once) of each blend's ``metric``,
    skipping folds where it is undefined (NaN); NaN where it is undefined in every fold."""
    parts = [np.arange(len(yt))] if not folds else folds
    values = np.vstack([_one_fold(blends[:, f, :], yt[f], kind, metric) for f in parts])
    finite = np.isfinite(values)
    with np.errstate(invalid="ignore"):
        return np.where(finite.any(axis=0), np.nansum(np.where(finite, values, 0), axis=0)
                        / np.maximum(finite.sum(axis=0), 1), np.nan)
