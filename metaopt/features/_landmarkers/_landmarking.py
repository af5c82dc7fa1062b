"""The ``landmarking`` group: every landmarker scored by 2-fold CV with pooled predictions.

This module owns the names and the protocol (folds, per-fold fallbacks, pooling); each learner
lives in its own module.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from metaopt.features._landmarkers._cfs import CFS_LEARNERS, cfs_landmarkers, discretise
from metaopt.features._landmarkers._data import MAX_FEATURES, Data, Design, design, folds, row_budget
from metaopt.features._landmarkers._linear import lda_proba, ridge_predict
from metaopt.features._landmarkers._measures import cls_scores, reg_scores
from metaopt.features._landmarkers._naive_bayes import naive_bayes, numeric_precision
from metaopt.features._landmarkers._nearest import knn1_classification, knn1_design, nn1_index
from metaopt.features._landmarkers._trees import (
    j48_and_stump,
    random_trees_classification,
    rep_trees_classification,
    trees_regression,
)

N_FOLDS = 2              # OpenML's GenericLandmarker uses 2-fold CV
_CLS_MEASURES = ("AUC", "ErrRate", "Kappa")
_REG_MEASURES = ("R2", "NRMSE")

CLASSIFICATION_LEARNERS: tuple[str, ...] = (
    "DecisionStump", "NaiveBayes", "kNN1N",
    "J48.001.", "J48.0001.", "J48.00001.",
    "REPTreeDepth1", "REPTreeDepth2", "REPTreeDepth3",
    "RandomTreeDepth1", "RandomTreeDepth2", "RandomTreeDepth3",
    *CFS_LEARNERS,
    "mo_LinearDiscriminant",
)
REGRESSION_LEARNERS: tuple[str, ...] = (
    "DecisionStump", "kNN1N",
    "REPTreeDepth1", "REPTreeDepth2", "REPTreeDepth3",
    "RandomTreeDepth1", "RandomTreeDepth2", "RandomTreeDepth3",
    "LinearRegression",
)
LANDMARKER_NAMES: tuple[str, ...] = tuple(
    [f"{lm}{m}" for lm in CLASSIFICATION_LEARNERS for m in _CLS_MEASURES]
    + [f"mo_{lm}{m}" for lm in REGRESSION_LEARNERS for m in _REG_MEASURES]
)


def landmarkers(ctx: Any) -> dict[str, float]:
    """OpenML-style landmarkers (see the package docstring for names, protocol and caveats)."""
    from threadpoolctl import threadpool_limits

    out = {name: float("nan") for name in LANDMARKER_NAMES}
    if ctx.num.shape[0] < 4:
        return out
    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        d = Data(ctx, row_budget(ctx), MAX_FEATURES, salt=4101)
        if d.classification:
            if d.k < 2 or np.unique(d.y).size < 2:
                return out
            out.update(_classification(ctx, d))
        else:
            if d.m < 4 or float(np.std(d.y)) <= 0.0 or not np.all(np.isfinite(d.y)):
                return out
            out.update(_regression(ctx, d))
    return {k: (float(v) if v is not None and np.isfinite(v) else float("nan")) for k, v in out.items()}


def _fold_seed(ctx: Any, f: int) -> int:
    return int(ctx.rng(4200 + f).integers(2**31 - 1))


def _classification(ctx: Any, d: Data) -> dict[str, float]:
    k, y = d.k, d.y
    des = design(d)
    precision = numeric_precision(d.num)
    codes = discretise(d.num, d.cat)
    fold = folds(y, d.m, ctx.rng(4102), N_FOLDS)
    P = {name: np.zeros((d.m, k)) for name in CLASSIFICATION_LEARNERS}
    for f in range(N_FOLDS):
        tr = np.flatnonzero(fold != f)
        te = np.flatnonzero(fold == f)
        if te.size == 0:
            continue
        ytr = y[tr]
        if tr.size == 0 or np.unique(ytr).size < 2:
            # a training fold with a single class predicts that class
            prior = np.bincount(ytr, minlength=k).astype(float) if tr.size else np.ones(k)
            for name in P:
                P[name][te] = prior / prior.sum()
            continue
        for name, proba in _classification_fold(ctx, f, d, des, precision, codes, tr, te).items():
            P[name][te] = proba
    out: dict[str, float] = {}
    for name, proba in P.items():
        auc, err, kap = cls_scores(y, proba, k)
        out[f"{name}AUC"], out[f"{name}ErrRate"], out[f"{name}Kappa"] = auc, err, kap
    return out


def _classification_fold(ctx: Any, f: int, d: Data, des: Design, precision: np.ndarray, codes: np.ndarray,
                         tr: np.ndarray, te: np.ndarray) -> dict[str, np.ndarray]:
    """Every classification landmarker's class probabilities for the test rows of fold ``f``."""
    X, y, k = des.X, d.y, d.k
    ytr = y[tr]
    rs = _fold_seed(ctx, f)
    out = j48_and_stump(X, tr, te, ytr, k, rs)
    out.update(rep_trees_classification(X, y, tr, te, k, rs, ctx.rng(4300 + f)))
    out.update(random_trees_classification(X, tr, te, ytr, k, rs, des.n_random))
    out["NaiveBayes"] = naive_bayes(d.num[tr], d.cat[tr], ytr, d.num[te], d.cat[te], k, d.n_levels, precision)
    Z = knn1_design(d.num, des.knn_onehot, tr)
    out["kNN1N"] = knn1_classification(Z, y, tr, te, k)
    out["mo_LinearDiscriminant"] = lda_proba(X, tr, te, ytr, k)
    # CFS-selected subsets (selection inside the training fold, like AttributeSelectedClassifier)
    out.update(cfs_landmarkers(d, des, codes, precision, Z, tr, te, rs))
    return out


def _regression(ctx: Any, d: Data) -> dict[str, float]:
    y = d.y
    des = design(d)
    X = des.X
    fold = folds(None, d.m, ctx.rng(4102), N_FOLDS)
    P = {name: np.zeros(d.m) for name in REGRESSION_LEARNERS}
    for f in range(N_FOLDS):
        tr = np.flatnonzero(fold != f)
        te = np.flatnonzero(fold == f)
        if te.size == 0 or tr.size < 2:
            continue
        ytr = y[tr]
        rs = _fold_seed(ctx, f)
        preds = trees_regression(X, y, tr, te, rs, ctx.rng(4300 + f), des.n_random)
        Z = knn1_design(d.num, des.knn_onehot, tr)
        preds["kNN1N"] = y[tr[nn1_index(Z[tr], Z[te])]] if Z.shape[1] else ytr.mean()
        preds["LinearRegression"] = ridge_predict(X, tr, te, ytr)
        for name, pred in preds.items():
            P[name][te] = pred
    out: dict[str, float] = {}
    for name, pred in P.items():
        out[f"mo_{name}R2"], out[f"mo_{name}NRMSE"] = reg_scores(y, pred)
    return out
