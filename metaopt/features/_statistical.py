"""Statistical meta-features: moments of the numeric attributes.

OpenML's ``Statistical`` characterizer (Apache commons-math ``DescriptiveStatistics``)
is reproduced exactly:

* per attribute, over its non-missing values: mean, sample standard deviation
  (``n - 1``), bias-corrected sample skewness ``G1`` and bias-corrected sample
  excess kurtosis ``G2``; skewness is NaN below 3 values, kurtosis NaN below 4,
  both are NaN for a constant attribute (variance < 1e-19 or below rounding
  noise relative to the mean): OpenML's published values leave constant
  attributes out of the skewness/kurtosis summaries (checked on optdigits and
  segment);
* a per-attribute value that is not finite is left out of the summaries;
* the summaries are Mean / Min / Max and Quartile1/2/3, the quartiles with
  commons-math's legacy percentile estimator (:func:`cm_percentile`);
* every numeric attribute is used, the numeric target of a regression task
  included (as OpenML does).

The ``mo_`` values describe a regression target (moments, coefficient of
variation, lag-1 autocorrelation in row order) and its Pearson correlation with
each numeric attribute (pairwise complete rows, at most 20,000 sampled rows);
``mo_PercentageOfNumericAttsWithOutliers`` is the share of numeric attributes
with a value beyond 3 IQR from the quartiles (at most 20,000 sampled rows).

Columns are processed in blocks so that the temporaries stay small for wide
data; everything is vectorised over rows and columns.
"""

from __future__ import annotations

import numpy as np

from metaopt.features._context import Context

_TINY_VAR = 10e-20  # commons-math's threshold below which skewness/kurtosis are 0
_BLOCK_CELLS = 4_000_000
_CORR_ROWS = 20_000

STAT_KINDS = ("Means", "StdDev", "Kurtosis", "Skewness")
SUMMARIES = ("Mean", "Min", "Max", "Quartile1", "Quartile2", "Quartile3")

OPENML_NAMES = tuple(f"{s}{k}OfNumericAtts" for k in STAT_KINDS for s in SUMMARIES)
EXTRA_NAMES = (
    "mo_TargetMean", "mo_TargetStdDev", "mo_TargetSkewness", "mo_TargetKurtosis",
    "mo_TargetCoefficientOfVariation", "mo_TargetLag1Correlation",
    "mo_MeanAbsCorrelationWithTarget", "mo_MaxAbsCorrelationWithTarget",
    "mo_PercentageOfNumericAttsWithOutliers",
)
NAMES = OPENML_NAMES + EXTRA_NAMES


# ----------------------------------------------------------------------------- helpers
def cm_percentile(values: np.ndarray, p: float) -> float:
    """Percentile as Apache commons-math ``StatUtils.percentile`` (legacy estimation).

    ``pos = p (n + 1) / 100``; below 1 gives the minimum, from ``n`` on the
    maximum, otherwise linear interpolation between order statistics
    ``floor(pos)`` and ``floor(pos) + 1`` (1-based). NaN for no values.
    """
    v = np.sort(np.asarray(values, dtype=float))
    n = v.size
    if n == 0:
        return float("nan")
    if n == 1:
        return float(v[0])
    pos = p * (n + 1) / 100.0
    if pos < 1:
        return float(v[0])
    if pos >= n:
        return float(v[-1])
    lo = int(np.floor(pos))
    d = pos - lo
    return float(v[lo - 1] + d * (v[lo] - v[lo - 1]))


def summarize(values: np.ndarray) -> dict[str, float]:
    """Mean, Min, Max, Quartile1/2/3 of the finite entries of ``values`` (NaN if none)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return {s: float("nan") for s in SUMMARIES}
    return {"Mean": float(v.mean()), "Min": float(v.min()), "Max": float(v.max()),
            "Quartile1": cm_percentile(v, 25), "Quartile2": cm_percentile(v, 50),
            "Quartile3": cm_percentile(v, 75)}


def column_moments(x: np.ndarray) -> dict[str, np.ndarray]:
    """Per-column count, mean, std, skewness, kurtosis over non-NaN values (commons-math).

    ``x`` is a float (n, p) array with NaN for missing. Returns arrays of length p.
    """
    n_rows, p = x.shape
    out = {k: np.full(p, np.nan) for k in ("count", "mean", "std", "skew", "kurt")}
    if p == 0:
        out["count"] = np.zeros(0)
        return out
    step = max(1, _BLOCK_CELLS // max(n_rows, 1))
    for a in range(0, p, step):
        b = min(p, a + step)
        blk = x[:, a:b]
        miss = np.isnan(blk)
        any_miss = bool(miss.any())
        n = (blk.shape[0] - miss.sum(axis=0)).astype(float)
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            d = np.where(miss, 0.0, blk) if any_miss else blk.copy()
            mean = d.sum(axis=0) / n
            d -= mean
            if any_miss:
                d[miss] = 0.0
            # commons-math Mean adds the correction term sum(x - mean) / n
            corr = d.sum(axis=0) / n
            mean = mean + corr
            d -= corr
            if any_miss:
                d[miss] = 0.0
            m2 = np.einsum("ij,ij->j", d, d)
            d2 = d * d
            m3 = np.einsum("ij,ij->j", d2, d)
            m4 = np.einsum("ij,ij->j", d2, d2)
            var = np.where(n > 1, m2 / (n - 1), 0.0)
            var[n == 0] = np.nan
            std = np.sqrt(var)
            skew = n * m3 / ((n - 1) * (n - 2) * std * var)
            kurt = (n * (n + 1) * m4 - 3 * m2 * m2 * (n - 1)) / ((n - 1) * (n - 2) * (n - 3) * var * var)
            tiny = (var < _TINY_VAR) | (var <= (1e-13 * mean) ** 2)
        # a constant attribute has no skewness/kurtosis (0/0): NaN, left out of the summaries
        # (OpenML's values leave constant attributes out; rounding noise must not make them huge)
        skew = np.where((n < 3) | tiny, np.nan, skew)
        kurt = np.where((n <= 3) | tiny, np.nan, kurt)
        out["count"][a:b] = n
        out["mean"][a:b] = mean
        out["std"][a:b] = std
        out["skew"][a:b] = skew
        out["kurt"][a:b] = kurt
    return out


def _pearson_with(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson correlation of each column of ``x`` with ``y`` on pairwise complete rows.

    Columns are centred first (by their mean) and the sums are matrix products, so a block
    of columns costs a few passes over memory.
    """
    p = x.shape[1]
    r = np.full(p, np.nan)
    if p == 0:
        return r
    yok = np.isfinite(y)
    y0 = np.where(yok, y, 0.0)
    if yok.any():
        y0 = np.where(yok, y0 - y0[yok].mean(), 0.0)
    step = max(1, _BLOCK_CELLS // max(x.shape[0], 1))
    for a in range(0, p, step):
        blk = x[:, a:a + step]
        ok = ~np.isnan(blk)
        ok &= yok[:, None]
        okf = ok.astype(float)
        n = okf.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            x0 = np.where(ok, blk, 0.0)
            x0 -= np.where(ok, x0.sum(axis=0) / n, 0.0)  # centre (on the complete rows)
            sx = x0.sum(axis=0)
            sy = y0 @ okf
            sxy = y0 @ x0 - sx * sy / n
            sxx = np.einsum("ij,ij->j", x0, x0) - sx * sx / n
            syy = (y0 * y0) @ okf - sy * sy / n
            rr = sxy / np.sqrt(sxx * syy)
        rr[(n < 3) | ~(sxx > 1e-300) | ~(syy > 1e-300)] = np.nan
        r[a:a + step] = np.clip(rr, -1.0, 1.0)
    return r


def _outlier_share(num: np.ndarray, rng: np.random.Generator, max_rows: int = 20_000) -> float:
    """Share of numeric attributes with a value outside [Q1 - 3 IQR, Q3 + 3 IQR]."""
    p = num.shape[1]
    if p == 0:
        return float("nan")
    x = num
    if x.shape[0] > max_rows:
        x = x[np.sort(rng.choice(x.shape[0], size=max_rows, replace=False))]
    flags = np.zeros(p, dtype=bool)
    valid = np.zeros(p, dtype=bool)
    step = max(1, _BLOCK_CELLS // max(x.shape[0], 1))
    for a in range(0, p, step):
        blk = np.sort(x[:, a:a + step], axis=0)  # NaN last
        cnt = (~np.isnan(blk)).sum(axis=0)
        has = cnt >= 4
        c1 = np.maximum(cnt - 1, 0)
        q1 = np.take_along_axis(blk, (0.25 * c1).astype(int)[None, :], axis=0)[0]
        q3 = np.take_along_axis(blk, (0.75 * c1).astype(int)[None, :], axis=0)[0]
        lo = np.take_along_axis(blk, np.zeros_like(c1)[None, :], axis=0)[0]
        hi = np.take_along_axis(blk, c1[None, :], axis=0)[0]
        iqr = q3 - q1
        out = (lo < q1 - 3 * iqr) | (hi > q3 + 3 * iqr)
        flags[a:a + step] = out & has & (iqr > 0)
        valid[a:a + step] = has
    if not valid.any():
        return float("nan")
    return float(100.0 * flags[valid].sum() / valid.sum())


# ----------------------------------------------------------------------------- group
def statistical(ctx: Context) -> dict[str, float]:
    """The statistical group (see module docstring); every name in :data:`NAMES`."""
    out: dict[str, float] = {}
    mom = column_moments(ctx.num)
    if ctx.kind == "regression" and ctx.y_num is not None:  # OpenML counts a numeric target
        ymom = column_moments(np.where(np.isfinite(ctx.y_num), ctx.y_num, np.nan)[:, None])
        mom = {k: np.concatenate([mom[k], ymom[k]]) for k in mom}
    n_numeric = mom["mean"].size
    per_kind = {"Means": mom["mean"], "StdDev": mom["std"], "Kurtosis": mom["kurt"],
                "Skewness": mom["skew"]}
    for kind, vals in per_kind.items():
        s = summarize(vals) if n_numeric else {k: float("nan") for k in SUMMARIES}
        for summ, v in s.items():
            out[f"{summ}{kind}OfNumericAtts"] = v

    nan = float("nan")
    extra = dict.fromkeys(EXTRA_NAMES, nan)
    if ctx.kind == "regression" and ctx.y_num is not None:
        ym = ymom
        mean, std = float(ym["mean"][0]), float(ym["std"][0])
        extra["mo_TargetMean"] = mean
        extra["mo_TargetStdDev"] = std
        extra["mo_TargetSkewness"] = float(ym["skew"][0])
        extra["mo_TargetKurtosis"] = float(ym["kurt"][0])
        if abs(mean) > 1e-12 * max(std, 1e-300):
            extra["mo_TargetCoefficientOfVariation"] = std / abs(mean)
        # lag-1 autocorrelation of the target in row order (on the full data: row order matters)
        yfull = ctx.dataset.y.to_numpy(dtype="float64")
        yfull = yfull[np.isfinite(yfull)]
        if yfull.size > 3:
            extra["mo_TargetLag1Correlation"] = float(_pearson_with(yfull[:-1, None], yfull[1:])[0])
        xs, ys = ctx.num, ctx.y_num
        if xs.shape[0] > _CORR_ROWS:  # |r| is estimated very precisely from 20k rows
            pick = np.sort(ctx.rng(13).choice(xs.shape[0], size=_CORR_ROWS, replace=False))
            xs, ys = xs[pick], ys[pick]
        r = np.abs(_pearson_with(xs, ys))
        r = r[np.isfinite(r)]
        if r.size:
            extra["mo_MeanAbsCorrelationWithTarget"] = float(r.mean())
            extra["mo_MaxAbsCorrelationWithTarget"] = float(r.max())
    extra["mo_PercentageOfNumericAttsWithOutliers"] = _outlier_share(ctx.num, ctx.rng(11))
    out.update(extra)
    return {k: (float(v) if np.isfinite(v) else nan) for k, v in out.items()}
