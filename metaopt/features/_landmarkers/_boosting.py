"""The LightGBM landmarker (part of the group ``"metaopt"``): a small GBM as a difficulty signal.

No OpenML counterpart.  A 2/3-1/3 stratified holdout on at most :data:`GBM_MAX_ROWS` rows and
:data:`GBM_MAX_FEATURES` columns, :data:`GBM_TREES` boosting rounds of 15-leaf trees (for
multiclass, rounds x classes is capped at :data:`GBM_MAX_TREES_TOTAL` with a proportionally
larger learning rate), native categorical and missing-value handling, one thread,
deterministic.  ``mo_LightGBMGain`` is how much better LightGBM is than a decision stump on the
same split (classification: stump error rate minus LightGBM error rate; regression: LightGBM R2
minus stump R2; positive = the data reward a flexible learner).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from metaopt.features._landmarkers._data import folds, subsample_rows
from metaopt.features._landmarkers._measures import cls_scores, reg_scores

GBM_MAX_ROWS = 3000      # rows used by the LightGBM landmarker
GBM_TREES = 50
GBM_MAX_FEATURES = 200   # input columns for LightGBM (random subset beyond)
GBM_MAX_TREES_TOTAL = 300  # boosting rounds x classes (multiclass fits one tree per class per round)
GBM_NAMES: tuple[str, ...] = ("mo_LightGBMAUC", "mo_LightGBMErrRate", "mo_LightGBMKappa",
                              "mo_LightGBMLogLoss", "mo_LightGBMR2", "mo_LightGBMNRMSE",
                              "mo_LightGBMGain")


def gbm_landmarker(ctx: Any) -> dict[str, float]:
    """A small LightGBM model on a stratified 2/3-1/3 holdout (see the module docstring)."""
    from threadpoolctl import threadpool_limits

    out = {name: float("nan") for name in GBM_NAMES}
    if ctx.num.shape[0] < 6:
        return out
    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            out.update(_gbm(ctx))
        except Exception:  # noqa: BLE001 - a landmarker must never break extraction
            pass
    return {k: (float(v) if v is not None and np.isfinite(v) else float("nan")) for k, v in out.items()}


def _inputs(ctx: Any) -> tuple[np.ndarray, int, int, np.ndarray] | None:
    """``(X, p_num, p_cat, rows)``: numerics then nominal codes as floats (missing = NaN)."""
    rows = subsample_rows(ctx, GBM_MAX_ROWS, salt=4501)
    num = ctx.num[rows]
    cat = ctx.cat[rows]
    p_num, p_cat = num.shape[1], cat.shape[1]
    if p_num + p_cat == 0:
        return None
    if p_num + p_cat > GBM_MAX_FEATURES:
        keep = np.sort(ctx.rng(4504).choice(p_num + p_cat, size=GBM_MAX_FEATURES, replace=False))
        num, cat = num[:, keep[keep < p_num]], cat[:, keep[keep >= p_num] - p_num]
        p_num, p_cat = num.shape[1], cat.shape[1]
    X = np.hstack([num, np.where(cat < 0, np.nan, cat).astype(np.float64)]) if p_cat else num
    return X, p_num, p_cat, rows


def _params(ctx: Any, y: np.ndarray, tr: np.ndarray, classification: bool
            ) -> tuple[dict[str, Any], int, int] | None:
    """``(LightGBM parameters, boosting rounds, classes)``; None when the training part is degenerate."""
    seed = int(ctx.rng(4503).integers(2**31 - 1))
    params: dict[str, Any] = dict(learning_rate=0.1, num_leaves=15, min_data_in_leaf=10, max_bin=63,
                                  num_threads=1, deterministic=True, force_row_wise=True, seed=seed,
                                  verbose=-1, max_cat_to_onehot=8, min_data_per_group=20)
    n_trees = GBM_TREES
    k = 0
    if classification:
        k = int(max(ctx.n_classes, int(y.max()) + 1))
        if np.unique(y[tr]).size < 2:
            return None
        if k == 2:
            params["objective"] = "binary"
        else:
            params.update(objective="multiclass", num_class=k)
            # bound rounds x classes; fewer rounds take proportionally larger steps
            n_trees = int(np.clip(GBM_MAX_TREES_TOTAL // k, 5, GBM_TREES))
            params["learning_rate"] = min(0.5, 0.1 * GBM_TREES / n_trees)
    else:
        if float(np.std(y[tr])) <= 0.0:
            return None
        params["objective"] = "regression"
    return params, n_trees, k


def _gbm(ctx: Any) -> dict[str, float]:
    import lightgbm as lgb

    inputs = _inputs(ctx)
    if inputs is None:
        return {}
    X, p_num, p_cat, rows = inputs
    classification = ctx.y_codes is not None
    y = (ctx.y_codes if classification else ctx.y_num)[rows]
    holdout = folds(y if classification else None, rows.size, ctx.rng(4502), 3) == 0
    tr, te = np.flatnonzero(~holdout), np.flatnonzero(holdout)
    setup = _params(ctx, y, tr, classification)
    if setup is None:
        return {}
    params, n_trees, k = setup
    cat_idx = list(range(p_num, p_num + p_cat))
    ds = lgb.Dataset(X[tr], label=y[tr], categorical_feature=cat_idx or "auto", free_raw_data=True,
                     params={"verbose": -1, "max_bin": 63})
    booster = lgb.train(params, ds, num_boost_round=n_trees)
    pred = booster.predict(X[te])
    return _scores(X, y, tr, te, pred, k, classification)


def _scores(X: np.ndarray, y: np.ndarray, tr: np.ndarray, te: np.ndarray, pred: np.ndarray, k: int,
            classification: bool) -> dict[str, float]:
    """The ``mo_LightGBM*`` values of the holdout predictions, with the stump for the gain."""
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    Xs = np.nan_to_num(X, nan=-1e30)
    out: dict[str, float] = {}
    if classification:
        proba = np.column_stack([1.0 - pred, pred]) if k == 2 else np.asarray(pred).reshape(te.size, k)
        auc, err, kap = cls_scores(y[te], proba, k)
        pt = np.clip(proba[np.arange(te.size), y[te]], 1e-15, 1.0)
        out.update(mo_LightGBMAUC=auc, mo_LightGBMErrRate=err, mo_LightGBMKappa=kap,
                   mo_LightGBMLogLoss=float(-np.mean(np.log(pt))))
        stump = DecisionTreeClassifier(max_depth=1, random_state=0).fit(Xs[tr], y[tr])
        stump_err = float(np.mean(stump.predict(Xs[te]) != y[te]))
        out["mo_LightGBMGain"] = stump_err - err
    else:
        r2, nrmse = reg_scores(y[te], np.asarray(pred))
        out.update(mo_LightGBMR2=r2, mo_LightGBMNRMSE=nrmse)
        stump = DecisionTreeRegressor(max_depth=1, random_state=0).fit(Xs[tr], y[tr])
        out["mo_LightGBMGain"] = r2 - reg_scores(y[te], stump.predict(Xs[te]))[0]
    return out
