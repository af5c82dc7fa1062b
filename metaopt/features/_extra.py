"""metaopt's own meta-features (``mo_`` names): the facts a tuner needs.

These are not OpenML qualities. Size and cardinality facts are exact on the
full data (they reuse the general group's column profile); correlations are
estimated on at most 10,000 rows and 200 numeric columns of the sample.
"""

from __future__ import annotations

import numpy as np

from metaopt.features._context import Context
from metaopt.features._general import column_profile

HIGH_CARDINALITY = 32   # a nominal input with more observed levels than this is "high-cardinality"
_CORR_ROWS = 10_000
_CORR_COLS = 200

NAMES = (
    "mo_NumberOfInputFeatures", "mo_LogNumberOfInstances", "mo_LogNumberOfFeatures",
    "mo_LogDimensionality", "mo_ImbalanceRatio", "mo_LogImbalanceRatio",
    "mo_MeanCatCardinality", "mo_MedianCatCardinality", "mo_MaxCatCardinality",
    "mo_LogTotalCatLevels", "mo_NumberOfHighCardinalityCatFeatures",
    "mo_PercentageOfHighCardinalityCatFeatures",
    "mo_PercentageOfFeaturesWithMissingValues", "mo_MaxFeatureMissingFraction",
    "mo_PercentageOfConstantFeatures",
    "mo_MeanAbsFeatureCorrelation", "mo_MaxAbsFeatureCorrelation",
    "mo_PercentageOfHighlyCorrelatedPairs",
)


def _feature_correlations(ctx: Context) -> tuple[float, float, float]:
    """Mean and max absolute Pearson correlation between numeric inputs, share of |r| > 0.9."""
    x = ctx.num
    nan = float("nan")
    if x.shape[1] < 2 or x.shape[0] < 3:
        return nan, nan, nan
    rng = ctx.rng(31)
    if x.shape[1] > _CORR_COLS:
        x = x[:, np.sort(rng.choice(x.shape[1], size=_CORR_COLS, replace=False))]
    if x.shape[0] > _CORR_ROWS:
        x = x[np.sort(rng.choice(x.shape[0], size=_CORR_ROWS, replace=False))]
    ok = ~np.isnan(x)
    cnt = ok.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        mean = np.where(ok, x, 0.0).sum(axis=0) / cnt
        z = np.where(ok, x - mean, 0.0)  # mean-imputed, centred
        sd = np.sqrt((z * z).sum(axis=0))
    keep = (cnt >= 3) & (sd > 1e-12 * np.maximum(np.abs(mean), 1.0) * np.sqrt(np.maximum(cnt, 1)))
    if keep.sum() < 2:
        return nan, nan, nan
    z = z[:, keep] / sd[keep]
    r = np.abs(np.clip(z.T @ z, -1.0, 1.0))
    iu = np.triu_indices(r.shape[0], k=1)
    v = r[iu]
    v = v[np.isfinite(v)]
    if v.size == 0:
        return nan, nan, nan
    return float(v.mean()), float(v.max()), float(100.0 * (v > 0.9).mean())


def extras(ctx: Context) -> dict[str, float]:
    """The metaopt extras computed here; every name in :data:`NAMES`."""
    nan = float("nan")
    out: dict[str, float] = dict.fromkeys(NAMES, nan)
    prof = column_profile(ctx)
    n = int(ctx.dataset.X.shape[0])
    p = int(ctx.dataset.X.shape[1])
    out["mo_NumberOfInputFeatures"] = p
    out["mo_LogNumberOfInstances"] = float(np.log(n)) if n > 0 else nan
    out["mo_LogNumberOfFeatures"] = float(np.log(p)) if p > 0 else nan
    out["mo_LogDimensionality"] = float(np.log(p / n)) if n > 0 and p > 0 else nan

    if ctx.kind != "regression":
        y = ctx.dataset.y
        codes = y.cat.codes.to_numpy()
        counts = np.bincount(codes[codes >= 0], minlength=len(y.cat.categories))
        counts = counts[counts > 0]
        if counts.size:
            ir = counts.max() / counts.min()
            out["mo_ImbalanceRatio"] = float(ir)
            out["mo_LogImbalanceRatio"] = float(np.log(ir))

    card = prof["n_distinct"][prof["is_cat"]].astype(float)
    if card.size:
        out["mo_MeanCatCardinality"] = float(card.mean())
        out["mo_MedianCatCardinality"] = float(np.median(card))
        out["mo_MaxCatCardinality"] = float(card.max())
        out["mo_LogTotalCatLevels"] = float(np.log1p(card.sum()))
        hc = int((card > HIGH_CARDINALITY).sum())
        out["mo_NumberOfHighCardinalityCatFeatures"] = hc
        out["mo_PercentageOfHighCardinalityCatFeatures"] = 100.0 * hc / card.size
    else:
        out["mo_NumberOfHighCardinalityCatFeatures"] = 0
    if p and n:
        miss = prof["n_missing"]
        out["mo_PercentageOfFeaturesWithMissingValues"] = 100.0 * float((miss > 0).sum()) / p
        out["mo_MaxFeatureMissingFraction"] = float(miss.max()) / n
        # constant = at most one distinct non-missing value; numeric columns judged on the sample
        const_cat = int((prof["n_distinct"][prof["is_cat"]] <= 1).sum())
        x = ctx.num
        if x.shape[1]:
            with np.errstate(invalid="ignore"):
                lo = np.nanmin(np.where(np.isnan(x), np.inf, x), axis=0) if x.shape[0] else np.zeros(0)
                hi = np.nanmax(np.where(np.isnan(x), -np.inf, x), axis=0) if x.shape[0] else np.zeros(0)
            const_num = int(((hi <= lo) | ~np.isfinite(hi - lo)).sum()) if x.shape[0] else x.shape[1]
        else:
            const_num = 0
        out["mo_PercentageOfConstantFeatures"] = 100.0 * (const_cat + const_num) / p
    m, mx, hi_share = _feature_correlations(ctx)
    out["mo_MeanAbsFeatureCorrelation"] = m
    out["mo_MaxAbsFeatureCorrelation"] = mx
    out["mo_PercentageOfHighlyCorrelatedPairs"] = hi_share
    return {k: (float(v) if np.isfinite(v) else nan) for k, v in out.items()}
