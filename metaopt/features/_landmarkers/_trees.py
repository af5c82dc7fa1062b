"""Tree landmarkers: grown by scikit-learn, then truncated or pruned like Weka on the tree arrays.

scikit-learn has neither C4.5's pessimistic pruning nor reduced-error pruning, and Weka is not
available from Python, so each Weka tree is one scikit-learn entropy tree (binary splits on
numerics plus one-hot nominals, where a one-hot split is Weka's "value vs rest" split) that is
post-processed here:

* **DecisionStump** -- the depth-1 truncation.  Weka's stump sends missing values down a third
  branch; scikit-learn routes them to whichever side is better.
* **J48** -- ``min_samples_leaf=2`` like ``-M 2``, depth capped at :data:`J48_MAX_DEPTH` for speed,
  pruned bottom-up with C4.5's pessimistic error estimate at Weka's confidence factors
  0.001 / 0.0001 / 0.00001 (``Stats.addErrs``; prune when the leaf estimate is <= subtree
  estimate + 0.1), without C4.5's subtree raising; one-hot nominals instead of multiway splits
  and gain ratio.
* **REPTree** -- grown to the given depth on 2/3 of the training fold and reduced-error pruned
  on the other 1/3 (Weka's default 3 pruning folds).
* **RandomTree** -- ``int(log2(p)) + 1`` random features per split (Weka's default ``K``);
  scikit-learn keeps looking at further features when none of the drawn ones gives a valid
  split, Weka does not.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.stats import norm

from metaopt.features._landmarkers._data import folds

J48_MAX_DEPTH = 12       # depth cap of the unpruned J48 tree (deeper parts never survive CF <= 0.001)
J48_CFS = {"J48.001.": 0.001, "J48.0001.": 0.0001, "J48.00001.": 0.00001}
DEPTHS = (1, 2, 3)       # the truncations of REPTreeDepthN / RandomTreeDepthN


# --------------------------------------------------------------------------------------------
# tree arrays: truncate, prune, predict
# --------------------------------------------------------------------------------------------

def tree_arrays(est: Any, classification: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(left, right, value, depth)`` per node; class values as weighted counts."""
    t = est.tree_
    left, right = t.children_left, t.children_right
    if classification:
        # value holds class fractions; turn them into weighted counts
        val = t.value[:, 0, :] * t.weighted_n_node_samples[:, None]
    else:
        val = t.value[:, 0, 0]
    depth = np.zeros(t.node_count, dtype=np.int64)
    for i in range(t.node_count):                       # parents have smaller ids (DFS build)
        if left[i] >= 0:
            depth[left[i]] = depth[right[i]] = depth[i] + 1
    return left, right, val, depth


def effective_leaf(left: np.ndarray, right: np.ndarray, is_leaf: np.ndarray) -> np.ndarray:
    """Map every node to the pruned tree's leaf that it falls into."""
    n = left.size
    eff = np.arange(n)
    for i in range(n):
        if left[i] >= 0:
            target = eff[i] if (is_leaf[i] or eff[i] != i) else -1
            if target >= 0:
                eff[left[i]] = eff[right[i]] = target
    return eff


def c45_add_errs(n: float, e: float, cf: float, z: float) -> float:
    """Weka's ``Stats.addErrs``: extra errors at the upper confidence limit (C4.5 pruning)."""
    if n <= 0:
        return 0.0
    if e < 1:
        base = n * (1.0 - cf ** (1.0 / n))
        if e == 0:
            return base
        return base + e * (c45_add_errs(n, 1.0, cf, z) - base)
    if e + 0.5 >= n:
        return max(n - e, 0.0)
    f = (e + 0.5) / n
    r = (f + z * z / (2 * n) + z * math.sqrt(f / n - f * f / n + z * z / (4 * n * n))) / (1 + z * z / n)
    return r * n - e


def c45_prune(left: np.ndarray, right: np.ndarray, counts: np.ndarray, cf: float) -> np.ndarray:
    """Leaf mask of the tree after C4.5 error-based pruning (no subtree raising)."""
    n_nodes = left.size
    z = float(norm.ppf(1.0 - cf))
    tot = counts.sum(axis=1)
    err = tot - counts.max(axis=1)
    leaf_est = np.array([err[i] + c45_add_errs(tot[i], err[i], cf, z) for i in range(n_nodes)])
    is_leaf = left < 0
    sub_est = leaf_est.copy()
    sub_train_err = err.copy()
    for i in range(n_nodes - 1, -1, -1):                  # children before parents
        if left[i] < 0:
            continue
        if is_leaf[i]:
            continue
        s = sub_est[left[i]] + sub_est[right[i]]
        st = sub_train_err[left[i]] + sub_train_err[right[i]]
        # C4.5 "collapse" (no gain on the training data) and pessimistic-error pruning
        if st >= err[i] - 1e-3 or leaf_est[i] <= s + 0.1:
            is_leaf[i] = True
        else:
            sub_est[i] = s
            sub_train_err[i] = st
    return is_leaf


def rep_prune(left: np.ndarray, right: np.ndarray, leaf_err: np.ndarray, is_leaf: np.ndarray) -> np.ndarray:
    """Reduced-error pruning: ``leaf_err`` = each node's error on the pruning set as a leaf."""
    is_leaf = is_leaf.copy()
    sub = leaf_err.astype(float).copy()
    for i in range(left.size - 1, -1, -1):
        if left[i] < 0 or is_leaf[i]:
            continue
        s = sub[left[i]] + sub[right[i]]
        if leaf_err[i] <= s:
            is_leaf[i] = True
        else:
            sub[i] = s
    return is_leaf


def tree_predict(est: Any, X: np.ndarray, eff: np.ndarray, val: np.ndarray, classification: bool) -> np.ndarray:
    """Predictions of the pruned tree (``eff`` from :func:`effective_leaf`)."""
    node = eff[est.apply(X)]
    if classification:
        c = val[node]
        s = c.sum(axis=1, keepdims=True)
        return c / np.where(s > 0, s, 1.0)
    return val[node]


def full_proba(est: Any, proba: np.ndarray, k: int) -> np.ndarray:
    """Expand predict_proba columns (classes seen in training) to all k classes."""
    out = np.zeros((proba.shape[0], k))
    out[:, np.asarray(est.classes_, dtype=np.int64)] = proba
    return out


def _tree_values_full(est: Any, val: np.ndarray, k: int) -> np.ndarray:
    out = np.zeros((val.shape[0], k))
    out[:, np.asarray(est.classes_, dtype=np.int64)] = val
    return out


def _truncations(est: Any, X_te: np.ndarray, arrays: tuple, prefix: str,
                 classification: bool) -> dict[str, np.ndarray]:
    """``<prefix><depth>`` -> predictions of the tree cut at each of :data:`DEPTHS`."""
    left, right, val, depth = arrays
    out = {}
    for dep in DEPTHS:
        eff = effective_leaf(left, right, (left < 0) | (depth >= dep))
        out[f"{prefix}{dep}"] = tree_predict(est, X_te, eff, val, classification)
    return out


# --------------------------------------------------------------------------------------------
# the tree landmarkers of one fold (fit on rows tr, predict rows te)
# --------------------------------------------------------------------------------------------

def j48_and_stump(X: np.ndarray, tr: np.ndarray, te: np.ndarray, ytr: np.ndarray, k: int,
                  rs: int) -> dict[str, np.ndarray]:
    """J48 at the three confidence factors and DecisionStump, all from one unpruned tree."""
    from sklearn.tree import DecisionTreeClassifier

    t = DecisionTreeClassifier(criterion="entropy", min_samples_leaf=2, max_depth=J48_MAX_DEPTH,
                               random_state=rs).fit(X[tr], ytr)
    left, right, val, depth = tree_arrays(t, True)
    val = _tree_values_full(t, val, k)
    out = {}
    for name, cf in J48_CFS.items():
        eff = effective_leaf(left, right, c45_prune(left, right, val, cf))
        out[name] = tree_predict(t, X[te], eff, val, True)
    eff = effective_leaf(left, right, (left < 0) | (depth >= 1))
    out["DecisionStump"] = tree_predict(t, X[te], eff, val, True)
    return out


def rep_trees_classification(X: np.ndarray, y: np.ndarray, tr: np.ndarray, te: np.ndarray, k: int,
                             rs: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """REPTreeDepth1..3: a depth-3 tree on 2/3 of the training fold, pruned on the rest."""
    from sklearn.tree import DecisionTreeClassifier

    sub = folds(y[tr], tr.size, rng, 3)
    grow, prune = tr[sub != 0], tr[sub == 0]
    if np.unique(y[grow]).size < 2:
        prior = np.bincount(y[grow], minlength=k) / grow.size
        return {f"REPTreeDepth{dep}": prior for dep in DEPTHS}
    t = DecisionTreeClassifier(criterion="entropy", max_depth=3, min_samples_leaf=2,
                               random_state=rs).fit(X[grow], y[grow])
    left, right, val, depth = tree_arrays(t, True)
    val = _tree_values_full(t, val, k)
    Yp = np.zeros((prune.size, k))
    Yp[np.arange(prune.size), y[prune]] = 1.0
    # prune rows per node x class (no pruning rows: everything is pruned, as in Weka)
    node_cnt = np.asarray(t.decision_path(X[prune]).T @ Yp) if prune.size else np.zeros((left.size, k))
    leaf_err = node_cnt.sum(1) - node_cnt[np.arange(left.size), np.argmax(val, axis=1)]
    return _rep_truncations(t, X[te], (left, right, val, depth), leaf_err, True)


def _rep_truncations(est: Any, X_te: np.ndarray, arrays: tuple, leaf_err: np.ndarray,
                     classification: bool) -> dict[str, np.ndarray]:
    left, right, val, depth = arrays
    out = {}
    for dep in DEPTHS:
        eff = effective_leaf(left, right, rep_prune(left, right, leaf_err, (left < 0) | (depth >= dep)))
        out[f"REPTreeDepth{dep}"] = tree_predict(est, X_te, eff, val, classification)
    return out


def random_trees_classification(X: np.ndarray, tr: np.ndarray, te: np.ndarray, ytr: np.ndarray, k: int,
                                rs: int, n_random: int) -> dict[str, np.ndarray]:
    """RandomTreeDepth1..3: one depth-3 tree with ``n_random`` random features per split."""
    from sklearn.tree import DecisionTreeClassifier

    t = DecisionTreeClassifier(criterion="entropy", max_depth=3, max_features=min(n_random, X.shape[1]),
                               random_state=rs).fit(X[tr], ytr)
    left, right, val, depth = tree_arrays(t, True)
    val = _tree_values_full(t, val, k)
    return _truncations(t, X[te], (left, right, val, depth), "RandomTreeDepth", True)


def trees_regression(X: np.ndarray, y: np.ndarray, tr: np.ndarray, te: np.ndarray, rs: int,
                     rng: np.random.Generator, n_random: int) -> dict[str, np.ndarray]:
    """DecisionStump, REPTreeDepth1..3 and RandomTreeDepth1..3 on a numeric target."""
    from sklearn.tree import DecisionTreeRegressor

    ytr = y[tr]
    t = DecisionTreeRegressor(max_depth=1, random_state=rs).fit(X[tr], ytr)
    out = {"DecisionStump": t.predict(X[te])}

    sub = folds(None, tr.size, rng, 3)
    grow, prune = tr[sub != 0], tr[sub == 0]
    t = DecisionTreeRegressor(max_depth=3, min_samples_leaf=2, random_state=rs).fit(X[grow], y[grow])
    left, right, val, depth = tree_arrays(t, False)
    yp = y[prune]
    S = (np.asarray(t.decision_path(X[prune]).T @ np.column_stack([np.ones_like(yp), yp, yp * yp]))
         if prune.size else np.zeros((left.size, 3)))                          # per node n, s1, s2
    leaf_err = S[:, 2] - 2.0 * val * S[:, 1] + val * val * S[:, 0]
    out.update(_rep_truncations(t, X[te], (left, right, val, depth), leaf_err, False))

    t = DecisionTreeRegressor(max_depth=3, max_features=min(n_random, X.shape[1]), random_state=rs).fit(X[tr], ytr)
    out.update(_truncations(t, X[te], tree_arrays(t, False), "RandomTreeDepth", False))
    return out
