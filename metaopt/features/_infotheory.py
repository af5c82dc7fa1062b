"""Information-theoretic meta-features (log base 2).

OpenML's ``AttributeEntropy`` characterizer, reproduced:

* ``ClassEntropy``: entropy of the class distribution;
* attribute entropy and mutual information with the class are computed for the
  **nominal** input attributes only (numeric attributes are not discretised);
* a missing nominal value is counted in the attribute's first declared level
  (Weka's ``(int) NaN == 0``, which is what OpenML's code does), so
  probabilities are always over all instances;
* ``EquivalentNumberOfAtts = ClassEntropy / MeanMutualInformation`` and
  ``MeanNoiseToSignalRatio = (MeanAttributeEntropy - MeanMutualInformation) /
  MeanMutualInformation``, both NaN when the mean mutual information is <= 0;
* summaries use commons-math's legacy quartiles; all are NaN for regression
  and when there is no nominal input attribute (OpenML reports nothing then).

metaopt adds (``mo_`` names) versions that are defined for every task: numeric
attributes are discretised into up to 10 equal-frequency bins (missing = own
bin), a regression target is binned the same way, and the mutual information
of *all* attributes with that target is summarised.
"""

from __future__ import annotations

import numpy as np

from metaopt.features._context import Context
from metaopt.features._statistical import cm_percentile

SUMMARIES = ("Min", "Max", "Quartile1", "Quartile2", "Quartile3")
OPENML_NAMES = (
    "ClassEntropy", "MeanAttributeEntropy", "MeanMutualInformation", "EquivalentNumberOfAtts",
    "MeanNoiseToSignalRatio",
    *(f"{s}AttributeEntropy" for s in SUMMARIES),
    *(f"{s}MutualInformation" for s in SUMMARIES),
)
EXTRA_NAMES = (
    "mo_TargetEntropyBinned", "mo_NormalizedClassEntropy",
    "mo_MeanMutualInformationAll", "mo_MaxMutualInformationAll", "mo_Quartile2MutualInformationAll",
    "mo_EquivalentNumberOfAttsAll", "mo_MeanAttributeEntropyAll",
    "mo_MeanNormalizedMutualInformationAll",
)
NAMES = OPENML_NAMES + EXTRA_NAMES

N_BINS = 10
_BIN_SAMPLE = 2_000
_BLOCK_CELLS = 2_000_000


# ----------------------------------------------------------------------------- helpers
def entropy_from_counts(counts: np.ndarray) -> float:
    """Shannon entropy (bits) of a vector of counts."""
    c = np.asarray(counts, dtype=float)
    tot = c.sum()
    if tot <= 0:
        return float("nan")
    p = c[c > 0] / tot
    return float(-(p * np.log2(p)).sum())


def _plogp_by_segment(counts: np.ndarray, offsets: np.ndarray, p: int, n: int) -> np.ndarray:
    """-sum p log2 p per segment; ``counts`` are the nonzero cells, ``offsets`` their segment."""
    q = counts / float(n)
    return -np.bincount(offsets, weights=q * np.log2(q), minlength=p)


def _block_entropies(codes: np.ndarray, levels: np.ndarray, target: np.ndarray, k: int
                     ) -> tuple[np.ndarray, np.ndarray]:
    n, p = codes.shape
    jl = levels * k
    joff = np.concatenate([[0], np.cumsum(jl)[:-1]])
    keys = codes.astype(np.int64)
    keys *= k
    keys += target[:, None]
    keys += joff
    keys = keys.ravel()
    total = int(jl.sum())
    if total <= max(8 * keys.size, 1 << 20):
        jcnt = np.bincount(keys, minlength=total)
        nz = np.flatnonzero(jcnt)
        jc = jcnt[nz]
        jseg = np.searchsorted(joff, nz, side="right") - 1
        # marginal counts of the attribute: sum the k target cells of every level
        acnt = jcnt.reshape(-1, k).sum(axis=1)
        aoff = np.concatenate([[0], np.cumsum(levels)[:-1]])
        anz = np.flatnonzero(acnt)
        ac = acnt[anz]
        aseg = np.searchsorted(aoff, anz, side="right") - 1
    else:  # sparse layout (very high cardinality): count only the cells that occur
        u, jc = np.unique(keys, return_counts=True)
        jseg = np.searchsorted(joff, u, side="right") - 1
        akey = (u - joff[jseg]) // k + np.concatenate([[0], np.cumsum(levels)[:-1]])[jseg]
        ua, inv = np.unique(akey, return_inverse=True)
        ac = np.bincount(inv, weights=jc)
        aseg = jseg[np.unique(inv, return_index=True)[1]]
    h_att = _plogp_by_segment(ac.astype(float), aseg, p, n)
    h_joint = _plogp_by_segment(jc.astype(float), jseg, p, n)
    return h_att, h_joint


def joint_entropies(codes: np.ndarray, levels: np.ndarray, target: np.ndarray | None,
                    n_target: int) -> tuple[np.ndarray, np.ndarray]:
    """Entropy H(A_j) of each column and joint entropy H(A_j, T) with a target.

    ``codes`` is an int (n, p) matrix with values in ``0..levels[j]-1`` (no
    negatives). Counting is one ``np.bincount`` per block of columns (``np.unique``
    when the level layout is sparse); no loop over rows.
    Returns ``(H_att, H_joint)``; ``H_joint`` is empty when ``target`` is None.
    """
    n, p = codes.shape
    if p == 0 or n == 0:
        return np.full(p, np.nan), np.full(p, np.nan)
    levels = np.asarray(levels, dtype=np.int64)
    t = np.zeros(n, dtype=np.int64) if target is None else np.asarray(target, dtype=np.int64)
    k = 1 if target is None else max(int(n_target), 1)
    h_att = np.empty(p)
    h_joint = np.empty(p)
    step = max(1, _BLOCK_CELLS // n)
    for a in range(0, p, step):
        sl = slice(a, a + step)
        h_att[sl], h_joint[sl] = _block_entropies(codes[:, sl], levels[sl], t, k)
    return h_att, (np.empty(0) if target is None else h_joint)


def equal_frequency_codes(x: np.ndarray, rng: np.random.Generator, n_bins: int = N_BINS
                          ) -> tuple[np.ndarray, np.ndarray]:
    """Discretise each column into up to ``n_bins`` equal-frequency bins.

    Cut points are the column quantiles on a row subsample (at most 2,000 rows);
    missing values get their own code ``n_bins``. Returns ``(codes, levels)``.
    """
    n, p = x.shape
    if p == 0:
        return np.empty((n, 0), dtype=np.int64), np.empty(0, dtype=np.int64)
    sub = x if n <= _BIN_SAMPLE else x[np.sort(rng.choice(n, size=_BIN_SAMPLE, replace=False))]
    s = np.array(sub.T, order="C", copy=True)  # never a view: sorted in place below
    s.sort(axis=1)  # one contiguous row per column; NaN sorted last
    cnt = (~np.isnan(s)).sum(axis=1)
    c1 = np.maximum(cnt - 1, 0)
    codes = np.zeros((n, p), dtype=np.int8)
    rows = np.arange(p)
    for j in range(1, n_bins):
        idx = np.floor(j / n_bins * c1).astype(np.int64)
        codes += x > s[rows, idx]  # NaN compares False
    codes[np.isnan(x)] = n_bins
    return codes, np.full(p, n_bins + 1, dtype=np.int64)


def _binned_target(ctx: Context) -> tuple[np.ndarray, int] | None:
    if ctx.kind == "regression":
        if ctx.y_num is None:
            return None
        y = np.where(np.isfinite(ctx.y_num), ctx.y_num, np.nan)
        codes, levels = equal_frequency_codes(y[:, None], ctx.rng(23))
        return codes[:, 0], int(levels[0])
    if ctx.y_codes is None:
        return None
    return ctx.y_codes, max(int(ctx.n_classes), 1)


# ----------------------------------------------------------------------------- group
def infotheory(ctx: Context) -> dict[str, float]:
    """The info-theory group; every name in :data:`NAMES`."""
    nan = float("nan")
    out: dict[str, float] = dict.fromkeys(NAMES, nan)

    # --- OpenML (classification, nominal input attributes) ---
    if ctx.kind != "regression" and ctx.y_codes is not None:
        k = max(int(ctx.n_classes), 1)
        # exact class entropy on the full data
        ycodes_full = ctx.dataset.y.cat.remove_unused_categories().cat.codes.to_numpy()
        h_class = entropy_from_counts(np.bincount(ycodes_full[ycodes_full >= 0], minlength=k))
        out["ClassEntropy"] = h_class
        if k > 1:
            out["mo_NormalizedClassEntropy"] = h_class / np.log2(k)
        if ctx.cat.shape[1]:
            levels = np.maximum(ctx.cat_levels, 1)
            codes = np.where(ctx.cat < 0, 0, ctx.cat)  # Weka: missing -> first level
            h_cls_s = entropy_from_counts(np.bincount(ctx.y_codes, minlength=k))
            h_att, h_joint = joint_entropies(codes, levels, ctx.y_codes, k)
            mi = h_att + h_cls_s - h_joint
            mi = np.round(np.maximum(mi, 0.0) * 1e14) / 1e14
            mean_mi = float(mi.mean())
            mean_h = float(h_att.mean())
            out["MeanAttributeEntropy"] = mean_h
            out["MeanMutualInformation"] = mean_mi
            if mean_mi > 0:
                out["EquivalentNumberOfAtts"] = h_class / mean_mi
                out["MeanNoiseToSignalRatio"] = (mean_h - mean_mi) / mean_mi
            for name, v in (("AttributeEntropy", h_att), ("MutualInformation", mi)):
                out[f"Min{name}"] = float(v.min())
                out[f"Max{name}"] = float(v.max())
                out[f"Quartile1{name}"] = cm_percentile(v, 25)
                out[f"Quartile2{name}"] = cm_percentile(v, 50)
                out[f"Quartile3{name}"] = cm_percentile(v, 75)

    # --- metaopt: all attributes (numeric binned) against the (binned) target ---
    bt = _binned_target(ctx)
    if bt is not None:
        t, kt = bt
        h_t = entropy_from_counts(np.bincount(t, minlength=kt))
        if ctx.kind == "regression":
            out["mo_TargetEntropyBinned"] = h_t
        h_parts, j_parts = [], []
        if ctx.num.shape[1]:
            c, lv = equal_frequency_codes(ctx.num, ctx.rng(29))
            h, hj = joint_entropies(c, lv, t, kt)
            h_parts.append(h)
            j_parts.append(hj)
        if ctx.cat.shape[1]:
            # missing = its own level here
            c = np.where(ctx.cat < 0, ctx.cat_levels.astype(np.int32), ctx.cat)
            h, hj = joint_entropies(c, ctx.cat_levels + 1, t, kt)
            h_parts.append(h)
            j_parts.append(hj)
        if h_parts:
            h_att, h_joint = np.concatenate(h_parts), np.concatenate(j_parts)
            mi = np.maximum(h_att + h_t - h_joint, 0.0)
            mean_mi = float(mi.mean())
            out["mo_MeanMutualInformationAll"] = mean_mi
            out["mo_MaxMutualInformationAll"] = float(mi.max())
            out["mo_Quartile2MutualInformationAll"] = cm_percentile(mi, 50)
            out["mo_MeanAttributeEntropyAll"] = float(h_att.mean())
            if mean_mi > 0:
                out["mo_EquivalentNumberOfAttsAll"] = h_t / mean_mi
            denom = np.minimum(h_att, h_t)
            with np.errstate(divide="ignore", invalid="ignore"):
                nmi = np.where(denom > 0, mi / denom, 0.0)
            out["mo_MeanNormalizedMutualInformationAll"] = float(nmi.mean())
    return {k: (float(v) if np.isfinite(v) else nan) for k, v in out.items()}
