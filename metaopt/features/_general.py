"""General (simple) meta-features, exact on the full data.

Definitions follow OpenML's ``SimpleMetaFeatures`` and
``NominalAttDistinctValues`` characterizers:

* the target is an attribute: ``NumberOfFeatures`` = inputs + 1, and a nominal
  (numeric) target counts in ``NumberOfSymbolicFeatures``
  (``NumberOfNumericFeatures``); ``NumberOfBinaryFeatures`` counts nominal
  attributes (target included) with exactly two *declared* levels;
* ``Nominal*AttDistinctValues`` summarise the number of distinct *observed*
  non-missing values of every nominal attribute, target included
  (``Stdv`` is the sample standard deviation);
* ``NumberOfClasses`` is the number of observed classes, 0 for regression;
  the class-size qualities are NaN for regression;
* ``AutoCorrelation`` = (n - 1 - changes) / (n - 1) where changes counts
  consecutive rows with different classes; for a numeric target OpenML sums
  ``y[i-1] - y[i]`` (which telescopes to ``y[0] - y[n-1]``) and so do we;
* ``NumberOfFeaturesAfterBinarization`` (an LCDB column, not an OpenML quality)
  = numeric inputs + sum of declared levels of the nominal inputs (one-hot
  width; target excluded), all-missing columns left out;
* missing values are NaN in numeric and missing codes in nominal columns
  (inf is a value, not missing); rows with a missing target were dropped by the
  loader and are not counted.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from metaopt.features._context import Context

NAMES = (
    "NumberOfInstances", "NumberOfFeatures", "NumberOfClasses", "Dimensionality",
    "NumberOfInstancesWithMissingValues", "NumberOfMissingValues",
    "PercentageOfInstancesWithMissingValues", "PercentageOfMissingValues",
    "NumberOfNumericFeatures", "NumberOfSymbolicFeatures", "NumberOfBinaryFeatures",
    "PercentageOfNumericFeatures", "PercentageOfSymbolicFeatures", "PercentageOfBinaryFeatures",
    "MajorityClassSize", "MinorityClassSize", "MajorityClassPercentage", "MinorityClassPercentage",
    "AutoCorrelation",
    "MaxNominalAttDistinctValues", "MinNominalAttDistinctValues", "MeanNominalAttDistinctValues",
    "StdvNominalAttDistinctValues", "NumberOfFeaturesAfterBinarization",
)


def column_profile(ctx: Context) -> dict[str, np.ndarray]:
    """Per-input-column facts on the full data, computed once and cached on ``ctx``.

    Keys: ``is_cat`` (bool), ``n_missing`` (int), ``n_distinct`` (observed
    non-missing distinct values for nominal columns, -1 for numeric),
    ``declared`` (declared levels, 0 for numeric), ``row_missing`` (int, rows
    with at least one missing input value).
    """
    cached = ctx.cache.get("column_profile")
    if cached is not None:
        return cached
    X = ctx.dataset.X
    n, p = X.shape
    is_cat = np.zeros(p, dtype=bool)
    n_missing = np.zeros(p, dtype=np.int64)
    n_distinct = np.full(p, -1, dtype=np.int64)
    declared = np.zeros(p, dtype=np.int64)
    row_any = np.zeros(n, dtype=bool)
    num_cols = []
    for j, c in enumerate(X.columns):
        s = X[c]
        if isinstance(s.dtype, pd.CategoricalDtype):
            is_cat[j] = True
            codes = s.cat.codes.to_numpy()
            miss = codes < 0
            lv = len(s.cat.categories)
            declared[j] = lv
            cnt = np.bincount(codes[~miss], minlength=lv) if lv else np.zeros(0, dtype=np.int64)
            n_distinct[j] = int(np.count_nonzero(cnt))
            n_missing[j] = int(miss.sum())
            if n_missing[j]:
                row_any |= miss
        else:
            num_cols.append(j)
    if num_cols:
        # numeric columns in blocks: one isnan over a 2-D block is cheaper than per-column pandas
        step = max(1, 4_000_000 // max(n, 1))
        for a in range(0, len(num_cols), step):
            idx = num_cols[a:a + step]
            blk = X.iloc[:, idx].to_numpy(dtype="float64", na_value=np.nan)
            miss = np.isnan(blk)
            n_missing[idx] = miss.sum(axis=0)
            row_any |= miss.any(axis=1)
    prof = {"is_cat": is_cat, "n_missing": n_missing, "n_distinct": n_distinct,
            "declared": declared, "row_missing": np.int64(row_any.sum())}
    ctx.cache["column_profile"] = prof
    return prof


def general(ctx: Context) -> dict[str, float]:
    """The general group; every name in :data:`NAMES`."""
    nan = float("nan")
    ds = ctx.dataset
    prof = column_profile(ctx)
    n = int(ds.X.shape[0])
    p_in = int(ds.X.shape[1])
    regression = ctx.kind == "regression"
    n_feat = p_in + 1
    n_cat_in = int(prof["is_cat"].sum())
    n_num_in = p_in - n_cat_in
    n_num = n_num_in + (1 if regression else 0)
    n_sym = n_cat_in + (0 if regression else 1)
    n_bin = int((prof["declared"][prof["is_cat"]] == 2).sum())
    y = ds.y
    if not regression:
        ycodes = y.cat.codes.to_numpy()
        if len(y.cat.categories) == 2:
            n_bin += 1
    n_miss = int(prof["n_missing"].sum())
    n_row_miss = int(prof["row_missing"])

    out: dict[str, float] = dict.fromkeys(NAMES, nan)
    out.update({
        "NumberOfInstances": n, "NumberOfFeatures": n_feat,
        "Dimensionality": n_feat / n if n > 0 else 0.0,
        "NumberOfInstancesWithMissingValues": n_row_miss, "NumberOfMissingValues": n_miss,
        "PercentageOfInstancesWithMissingValues": 100.0 * n_row_miss / n if n else nan,
        "PercentageOfMissingValues": 100.0 * n_miss / (n * n_feat) if n else nan,
        "NumberOfNumericFeatures": n_num, "NumberOfSymbolicFeatures": n_sym,
        "NumberOfBinaryFeatures": n_bin,
        "PercentageOfNumericFeatures": 100.0 * n_num / n_feat,
        "PercentageOfSymbolicFeatures": 100.0 * n_sym / n_feat,
        "PercentageOfBinaryFeatures": 100.0 * n_bin / n_feat,
        "NumberOfFeaturesAfterBinarization": int(
            ((~prof["is_cat"]) & (prof["n_missing"] < n)).sum()
            + prof["declared"][prof["is_cat"] & (prof["n_missing"] < n)].sum()),
    })

    distinct = list(prof["n_distinct"][prof["is_cat"]])
    if regression:
        out["NumberOfClasses"] = 0
        yv = y.to_numpy(dtype="float64")
        if n > 1:
            out["AutoCorrelation"] = (n - 1 - float(yv[0] - yv[-1])) / (n - 1)
    else:
        counts = np.bincount(ycodes[ycodes >= 0], minlength=len(y.cat.categories))
        counts = counts[counts > 0]
        distinct.append(int(counts.size))
        out["NumberOfClasses"] = int(counts.size)
        if counts.size:
            out["MajorityClassSize"] = int(counts.max())
            out["MinorityClassSize"] = int(counts.min())
            out["MajorityClassPercentage"] = 100.0 * counts.max() / n
            out["MinorityClassPercentage"] = 100.0 * counts.min() / n
        if n > 1:
            changes = int(np.count_nonzero(ycodes[1:] != ycodes[:-1]))
            out["AutoCorrelation"] = (n - 1 - changes) / (n - 1)
    if distinct:
        d = np.asarray(distinct, dtype=float)
        out["MaxNominalAttDistinctValues"] = float(d.max())
        out["MinNominalAttDistinctValues"] = float(d.min())
        out["MeanNominalAttDistinctValues"] = float(d.mean())
        out["StdvNominalAttDistinctValues"] = float(d.std(ddof=1)) if d.size > 1 else 0.0
    return {k: (float(v) if np.isfinite(v) else nan) for k, v in out.items()}
