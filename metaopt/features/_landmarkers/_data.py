"""The landmarkers' view of the data: a bounded, encoded sample and its stratified folds.

The bounds keep the whole landmarking group well below 2 s on 100k x 100 data; where they make
the values differ from OpenML's (which uses all rows), the package docstring says so.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

MAX_ROWS = 5000          # rows used by the landmarkers (stratified subsample)
MAX_FEATURES = 200       # raw input columns used by the landmarkers (random subset beyond)
MAX_LEVELS = 16          # levels kept per nominal column (most frequent, rest merged)
MAX_WIDTH = 256          # columns of the encoded design (numerics + one-hot) for trees, 1-NN, LDA
MANY_CLASSES = 20        # beyond this many classes the row budget shrinks (tree cost grows with k)
MIN_ROWS_MANY = 2000
MAX_CELLS = 600_000      # rows x input columns for the landmarkers (wide data get fewer rows)


def subsample_rows(ctx: Any, max_rows: int, salt: int) -> np.ndarray:
    """Indices into the context's sample arrays: all, or a stratified subsample."""
    m = ctx.num.shape[0]
    if m <= max_rows:
        return np.arange(m)
    rng = ctx.rng(salt)
    if ctx.y_codes is None:
        return np.sort(rng.choice(m, size=max_rows, replace=False))
    frac = max_rows / m
    parts = []
    for k in np.unique(ctx.y_codes):
        idx = np.flatnonzero(ctx.y_codes == k)
        take = min(idx.size, max(1, int(round(frac * idx.size))))
        parts.append(rng.choice(idx, size=take, replace=False))
    return np.sort(np.concatenate(parts))


def _cap_levels(cat: np.ndarray, max_levels: int) -> np.ndarray:
    """Recode each nominal column to 0..L-1 (L <= max_levels) by frequency; -1 stays missing."""
    out = np.full(cat.shape, -1, dtype=np.int32)
    for j in range(cat.shape[1]):
        col = cat[:, j]
        ok = col >= 0
        if not ok.any():
            continue
        vals, inv, cnt = np.unique(col[ok], return_inverse=True, return_counts=True)
        order = np.argsort(-cnt, kind="stable")
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        rank = np.minimum(rank, max_levels - 1)
        out[ok, j] = rank[inv]
    return out


def row_budget(ctx: Any) -> int:
    """Rows for the landmarkers: fewer for wide data and for many classes."""
    p_in = min(ctx.num.shape[1] + ctx.cat.shape[1], MAX_FEATURES)
    max_rows = max(MIN_ROWS_MANY, min(MAX_ROWS, MAX_CELLS // max(p_in, 1)))
    if ctx.n_classes > MANY_CLASSES:
        max_rows = max(MIN_ROWS_MANY, min(max_rows, MAX_ROWS * MANY_CLASSES // ctx.n_classes))
    return max_rows


class Data:
    """The landmarkers' view of the data: numerics, capped nominal codes and target."""

    def __init__(self, ctx: Any, max_rows: int, max_features: int, salt: int) -> None:
        rows = subsample_rows(ctx, max_rows, salt)
        num = ctx.num[rows]
        cat = ctx.cat[rows]
        p_num, p_cat = num.shape[1], cat.shape[1]
        if p_num + p_cat > max_features:
            keep = np.sort(ctx.rng(salt + 1).choice(p_num + p_cat, size=max_features, replace=False))
            num = num[:, keep[keep < p_num]]
            cat = cat[:, keep[keep >= p_num] - p_num]
        # drop columns that are entirely missing or constant: they carry nothing
        if num.shape[1]:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                lo, hi = np.nanmin(num, axis=0), np.nanmax(num, axis=0)
            num = num[:, np.isfinite(lo) & (hi > lo)]
        cat = _cap_levels(cat, MAX_LEVELS)
        if cat.shape[1]:
            cat = cat[:, cat.max(axis=0) > 0]
        # scikit-learn's trees work in float32: keep huge finite values inside its range
        self.num = np.clip(np.ascontiguousarray(num, dtype=np.float64), -1e30, 1e30)
        self.cat = np.ascontiguousarray(cat, dtype=np.int32)
        self.n_levels = (self.cat.max(axis=0) + 1 if self.cat.shape[1] else np.zeros(0, int)).astype(int)
        self.classification = ctx.y_codes is not None
        if self.classification:
            self.y = np.asarray(ctx.y_codes[rows], dtype=np.int64)
            self.k = int(max(ctx.n_classes, self.y.max() + 1 if self.y.size else 0))
        else:
            self.y = np.asarray(ctx.y_num[rows], dtype=np.float64)
            self.k = 0
        self.m = int(rows.size)

    def onehot(self) -> tuple[np.ndarray, np.ndarray]:
        """One-hot encoding of the nominal columns (missing = all zeros) and column offsets.

        The levels per column shrink (most frequent kept, rest merged) so that numerics plus
        one-hot stay within :data:`MAX_WIDTH` columns (at least 2 levels per column).
        """
        p_cat = self.cat.shape[1]
        if not p_cat:
            return np.empty((self.m, 0)), np.zeros(1, dtype=int)
        room = max(MAX_WIDTH - self.num.shape[1], 0)
        cap = int(np.clip(room // p_cat, 2, MAX_LEVELS))
        levels = np.minimum(self.n_levels, cap)
        offs = np.concatenate([[0], np.cumsum(levels)]).astype(int)
        out = np.zeros((self.m, int(offs[-1])))
        for j in range(p_cat):
            ok = self.cat[:, j] >= 0
            out[np.flatnonzero(ok), offs[j] + np.minimum(self.cat[ok, j], levels[j] - 1)] = 1.0
        return out, offs


@dataclass
class Design:
    """The encoded inputs shared by the learners of one task."""

    X: np.ndarray                # numerics + one-hot (trees, LDA); one zero column when empty
    knn_onehot: np.ndarray       # one-hot scaled by 1/sqrt(2): Weka's 0/1 nominal mismatch
    onehot_offsets: np.ndarray   # one-hot column range of each nominal column
    n_random: int                # features per split of RandomTree (Weka's K = int(log2(p)) + 1)


def design(d: Data) -> Design:
    """Encode ``d`` for the trees, 1-NN and the linear landmarkers."""
    onehot, offs = d.onehot()
    parts = [p for p in (d.num, onehot) if p.shape[1]]
    if not parts:
        X = np.zeros((d.m, 1))
    else:
        X = np.hstack(parts) if len(parts) > 1 else parts[0]
    n_random = int(math.log2(max(d.num.shape[1] + d.cat.shape[1], 1))) + 1
    return Design(X=X, knn_onehot=onehot * math.sqrt(0.5), onehot_offsets=offs, n_random=n_random)


def folds(y: np.ndarray | None, m: int, rng: np.random.Generator, n_folds: int) -> np.ndarray:
    """Fold id per row, stratified by class (round robin within each shuffled class)."""
    fold = np.empty(m, dtype=np.int64)
    if y is None:
        perm = rng.permutation(m)
        fold[perm] = np.arange(m) % n_folds
        return fold
    start = 0
    order = np.argsort(y, kind="stable")
    counts = np.bincount(y)
    for c in counts:
        if c == 0:
            continue
        idx = order[start:start + c]
        start += c
        idx = rng.permutation(idx)
        # continue the round robin where the previous class stopped (balances fold sizes)
        fold[idx] = (np.arange(c) + start) % n_folds
    return fold
