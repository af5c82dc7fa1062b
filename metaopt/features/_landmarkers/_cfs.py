"""CfsSubsetEval_* landmarkers: a learner on the columns chosen by correlation-based selection.

Weka's ``AttributeSelectedClassifier`` with ``CfsSubsetEval``: the merit of Hall's CFS with
symmetric uncertainty, computed inside each training fold, with a greedy forward search that
stops after 5 non-improving steps (an approximation of Weka's ``BestFirst -D 1 -N 5``) and
equal-frequency binning (10 bins) instead of Weka's MDL discretisation.
"""

from __future__ import annotations

import numpy as np

from metaopt.features._landmarkers._data import MAX_LEVELS, Data, Design
from metaopt.features._landmarkers._naive_bayes import naive_bayes
from metaopt.features._landmarkers._nearest import nn1_index
from metaopt.features._landmarkers._trees import full_proba

CFS_LEARNERS = ("CfsSubsetEval_DecisionStump", "CfsSubsetEval_NaiveBayes", "CfsSubsetEval_kNN1N")


def discretise(num: np.ndarray, cat: np.ndarray, n_bins: int = 10) -> np.ndarray:
    """Codes (m, p) with small alphabets: equal-frequency numeric bins, nominal codes; missing last."""
    m = num.shape[0]
    cols = []
    if num.shape[1]:
        r = np.argsort(np.argsort(np.where(np.isnan(num), np.inf, num), axis=0, kind="stable"), axis=0)
        n_obs = (~np.isnan(num)).sum(axis=0)
        b = (r * n_bins) // np.maximum(n_obs, 1)[None, :]
        b = np.where(np.isnan(num), n_bins, np.minimum(b, n_bins - 1))
        cols.append(b)
    if cat.shape[1]:
        cols.append(np.where(cat < 0, MAX_LEVELS, cat))
    if not cols:
        return np.empty((m, 0), dtype=np.int64)
    return np.hstack(cols).astype(np.int64)


def _entropy_cols(codes: np.ndarray, size: int) -> np.ndarray:
    """Entropy of each column of integer codes in [0, size)."""
    m, p = codes.shape
    idx = codes + (np.arange(p) * size)[None, :]
    cnt = np.bincount(idx.ravel(), minlength=p * size).reshape(p, size).astype(float) / m
    with np.errstate(divide="ignore", invalid="ignore"):
        return -np.nansum(np.where(cnt > 0, cnt * np.log(cnt), 0.0), axis=1)


def _su_with(a: np.ndarray, B: np.ndarray, alpha: int, h_a: float, h_B: np.ndarray) -> np.ndarray:
    """Symmetric uncertainty between one code vector ``a`` and each column of ``B``."""
    joint = a[:, None] * alpha + B
    h_ab = _entropy_cols(joint, alpha * alpha)
    denom = h_a + h_B
    with np.errstate(divide="ignore", invalid="ignore"):
        su = np.where(denom > 0, 2.0 * (h_a + h_B - h_ab) / denom, 0.0)
    return np.clip(su, 0.0, 1.0)


def cfs_select(codes: np.ndarray, y: np.ndarray, max_stale: int = 5) -> np.ndarray:
    """Column indices chosen by CFS with a greedy forward search (stops after ``max_stale``)."""
    m, p = codes.shape
    if p == 0:
        return np.zeros(0, dtype=np.int64)
    alpha = int(max(codes.max() + 1, y.max() + 1))
    h_f = _entropy_cols(codes, alpha)
    h_y = float(_entropy_cols(y[:, None], alpha)[0])
    r_cf = _su_with(y, codes, alpha, h_y, h_f)
    selected: list[int] = []
    sum_cf, sum_ff = 0.0, 0.0
    ff_to_sel = np.zeros(p)                 # sum of SU between each column and the selected set
    avail = np.ones(p, dtype=bool)
    best_merit, best_len, stale = -np.inf, 0, 0
    while avail.any() and stale < max_stale:
        kk = len(selected) + 1
        num = sum_cf + r_cf
        den = np.sqrt(kk + 2.0 * (sum_ff + ff_to_sel))
        merit = np.where(avail, num / den, -np.inf)
        j = int(np.argmax(merit))
        selected.append(j)
        avail[j] = False
        sum_cf += r_cf[j]
        sum_ff += ff_to_sel[j]
        if merit[j] > best_merit + 1e-12:
            best_merit, best_len, stale = float(merit[j]), len(selected), 0
        else:
            stale += 1
        if avail.any():
            ff_to_sel += _su_with(codes[:, j], codes, alpha, h_f[j], h_f) * avail
    return np.sort(np.asarray(selected[:max(best_len, 1)], dtype=np.int64))


def cfs_landmarkers(d: Data, des: Design, codes: np.ndarray, precision: np.ndarray, Z: np.ndarray,
                    tr: np.ndarray, te: np.ndarray, rs: int) -> dict[str, np.ndarray]:
    """Stump, naive Bayes and 1-NN on the CFS subset of one fold (selection on rows ``tr`` only).

    ``codes`` from :func:`discretise`, ``precision`` from
    :func:`~metaopt.features._landmarkers._naive_bayes.numeric_precision`, ``Z`` the fold's
    1-NN design.
    """
    from sklearn.tree import DecisionTreeClassifier

    X, y, k = des.X, d.y, d.k
    ytr = y[tr]
    n_num = d.num.shape[1]
    sel = cfs_select(codes[tr], ytr)
    sel_num = sel[sel < n_num]
    sel_cat = sel[sel >= n_num] - n_num
    offs = des.onehot_offsets
    cols = [sel_num] + [n_num + np.arange(offs[j], offs[j + 1]) for j in sel_cat]
    xcols = np.concatenate(cols).astype(np.int64) if cols else np.zeros(0, np.int64)
    if not xcols.size:
        prior = np.bincount(ytr, minlength=k) / ytr.size
        return {name: prior for name in CFS_LEARNERS}
    t = DecisionTreeClassifier(criterion="entropy", max_depth=1, random_state=rs).fit(X[tr][:, xcols], ytr)
    out = {"CfsSubsetEval_DecisionStump": full_proba(t, t.predict_proba(X[te][:, xcols]), k)}
    out["CfsSubsetEval_NaiveBayes"] = naive_bayes(
        d.num[tr][:, sel_num], d.cat[tr][:, sel_cat], ytr, d.num[te][:, sel_num], d.cat[te][:, sel_cat],
        k, d.n_levels[sel_cat], precision[sel_num])
    Zs = Z[:, xcols] if Z.shape[1] == X.shape[1] else Z
    nn = tr[nn1_index(Zs[tr], Zs[te])]
    out["CfsSubsetEval_kNN1N"] = np.eye(k)[y[nn]]
    return out
