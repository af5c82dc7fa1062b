"""Prediction with a LightGBM regression model from its text format, in NumPy.

:class:`TreeEnsemble` parses ``booster.model_to_string()`` and evaluates the
trees exactly as LightGBM does (same missing-value rules, thresholds read from
the 17-digit text, tree outputs summed in order from 0.0), so its predictions
equal ``booster.predict(X)`` bit for bit - and a process that only predicts
(``metaopt recommend`` with a warm cache) never imports ``lightgbm`` (and,
through it, scikit-learn and SciPy: about a second of start-up).

Only what the surrogate uses is supported: numerical splits, no linear trees,
an identity output transform (``objective=regression``, L2, L1, Huber, ...).
Anything else raises ``ValueError``; load such a model with
``lightgbm.Booster(model_str=...)`` instead.
"""

from __future__ import annotations

import numpy as np

#: LightGBM's ``kZeroThreshold`` (a float32 1e-35): |x| <= this counts as zero
_ZERO = float(np.float32(1e-35))
_IDENTITY_OBJECTIVES = ("regression", "regression_l1", "huber", "fair", "quantile", "mape")


def _fields(block: list[str]) -> dict[str, str]:
    out = {}
    for line in block:
        key, sep, value = line.partition("=")
        if sep:
            out[key.strip()] = value.strip()
    return out


def _depth(left: np.ndarray, right: np.ndarray) -> int:
    """Number of splits on the longest root-to-leaf path (0 for a single leaf)."""
    if len(left) == 0:
        return 0
    depth, level = 0, [0]
    while level:
        depth += 1
        level = [c for i in level for c in (int(left[i]), int(right[i])) if c >= 0]
    return depth


class TreeEnsemble:
    """A LightGBM regression model (text format) that predicts without LightGBM."""

    def __init__(self, model_str: str):
        self.model_str = model_str
        head, _, rest = model_str.partition("\nTree=")
        header = _fields(head.splitlines())
        objective = header.get("objective", "").split()
        if not objective or objective[0] not in _IDENTITY_OBJECTIVES or "sqrt" in objective[1:]:
            raise ValueError(f"unsupported LightGBM objective {header.get('objective')!r}")
        if int(header.get("num_tree_per_iteration", "1")) != 1:
            raise ValueError("only single-output LightGBM models are supported")
        self.n_features = int(header["max_feature_idx"]) + 1
        body = rest.split("end of trees")[0]
        blocks = [b.splitlines() for b in ("Tree=" + body).split("\nTree=") if b.strip()]
        trees = []
        for b in blocks:
            f = _fields(b)
            if int(f.get("num_cat", "0")) or int(f.get("is_linear", "0")):
                raise ValueError("categorical splits and linear trees are not supported")
            n_leaves = int(f["num_leaves"])
            leaf = np.array(f["leaf_value"].split(), dtype="float64")
            if n_leaves == 1:
                trees.append((np.zeros(0, int), np.zeros(0), np.zeros(0, int), np.zeros(0, int),
                              np.zeros(0, int), leaf))
                continue
            trees.append((np.array(f["split_feature"].split(), dtype=np.int64),
                          np.array([float(v) for v in f["threshold"].split()], dtype="float64"),
                          np.array(f["decision_type"].split(), dtype=np.int64),
                          np.array(f["left_child"].split(), dtype=np.int64),
                          np.array(f["right_child"].split(), dtype=np.int64), leaf))
        self.n_trees = len(trees)
        m = max([len(t[0]) for t in trees] + [1])
        n_leaf = max([len(t[5]) for t in trees] + [1])
        T = self.n_trees
        self._feat = np.zeros((T, m), np.int64)
        self._thr = np.zeros((T, m))
        self._default_left = np.zeros((T, m), bool)
        self._missing = np.zeros((T, m), np.int64)  # 0 none, 1 zero, 2 NaN
        self._left = np.full((T, m), -1, np.int64)
        self._right = np.full((T, m), -1, np.int64)
        self._leaf = np.zeros((T, n_leaf))
        self._single = np.zeros(T, bool)
        self._depth = 0
        for i, (feat, thr, dt, left, right, leaf) in enumerate(trees):
            k = len(feat)
            self._single[i] = k == 0
            self._feat[i, :k], self._thr[i, :k] = feat, thr
            self._default_left[i, :k] = (dt & 2) != 0
            self._missing[i, :k] = (dt >> 2) & 3
            self._left[i, :k], self._right[i, :k] = left, right
            self._leaf[i, :len(leaf)] = leaf
            self._depth = max(self._depth, _depth(left, right))

    def predict(self, X) -> np.ndarray:
        """Predictions for the rows of ``X`` (n x features), equal to LightGBM's."""
        X = np.array(X, dtype="float64", ndmin=2)
        n = X.shape[0]
        if self.n_trees == 0 or n == 0:
            return np.zeros(n)
        # LightGBM's dense row reader drops |x| <= kZeroThreshold: such values are read as 0.0
        X = np.where(np.abs(X) <= _ZERO, 0.0, X)
        T, m = self._feat.shape
        rows = np.arange(n)[None, :]
        base = (np.arange(T) * m)[:, None]
        feat, thr = self._feat.ravel(), self._thr.ravel()
        missing, default_left = self._missing.ravel(), self._default_left.ravel()
        left, right = self._left.ravel(), self._right.ravel()
        node = np.where(self._single, -1, 0)[:, None].repeat(n, axis=1)
        for _ in range(self._depth):  # every row of every tree reaches a leaf within the max depth
            active = node >= 0
            at = base + np.maximum(node, 0)
            fval = X[rows, feat[at]]
            miss = missing[at]
            isnan = np.isnan(fval)
            fval = np.where(isnan & (miss != 2), 0.0, fval)
            is_missing = ((miss == 1) & (np.abs(fval) <= _ZERO)) | ((miss == 2) & isnan)
            go_left = np.where(is_missing, default_left[at], fval <= thr[at])
            node = np.where(active, np.where(go_left, left[at], right[at]), node)
        t_idx = np.arange(T)[:, None]
        values = self._leaf[t_idx, ~node]
        # tree by tree from 0.0, as LightGBM adds them (cumsum is sequential; sum() is pairwise)
        return np.cumsum(values, axis=0)[-1]

    def __repr__(self) -> str:
        return f"TreeEnsemble({self.n_trees} trees, {self.n_features} features)"
