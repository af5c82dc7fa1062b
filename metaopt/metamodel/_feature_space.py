"""The scaled meta-feature space in which tasks are compared.

``MetaFeatureSpace.fit(meta)`` takes the task x meta-feature frame of the KB
tasks it may learn from and

1. adds a few derived features computable from OpenML's general qualities
   (log rows per feature, share of numeric and symbolic features, class
   imbalance, share of missing values) where they are missing;
2. keeps the features known for at least ``min_coverage`` of the tasks and not
   constant;
3. takes ``log1p`` of count-like features (``NumberOf*``, ``*Size``,
   ``*DistinctValues``, ``mo_SampleRows``) - counts span six orders of magnitude;
4. scales each feature robustly: ``(x - median) / IQR`` (std, then 1, where the
   IQR is 0), clipped to [-5, 5] so one extreme value cannot dominate a distance.

Distances are NaN-aware: the root mean squared difference over the features
known for both tasks (at least 2, else infinite), so tasks from sources with
different meta-feature sets (TabRepo: 10 general qualities; openml-pimp: 107;
metaopt's corpus: ~100) still compare.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

#: FLAML's zero-shot meta-features (flaml.default): rows, features, classes, share of numeric features
FLAML_FEATURES = ("NumberOfInstances", "NumberOfFeatures", "NumberOfClasses", "PercentageOfNumericFeatures")
_CLIP = 5.0
_MIN_COMMON = 2


def _is_count(name: str) -> bool:
    return (name.startswith("NumberOf") or name.endswith("Size") or name.endswith("DistinctValues")
            or name in ("mo_SampleRows",))


def derive(meta: pd.DataFrame) -> pd.DataFrame:
    """``meta`` plus derived general features, filled only where missing."""
    m = meta.copy()
    get = lambda c: m[c].astype("float64") if c in m.columns else pd.Series(np.nan, index=m.index)  # noqa: E731
    n, f = get("NumberOfInstances"), get("NumberOfFeatures")
    derived = {
        "PercentageOfNumericFeatures": 100.0 * get("NumberOfNumericFeatures") / f,
        "PercentageOfSymbolicFeatures": 100.0 * get("NumberOfSymbolicFeatures") / f,
        "PercentageOfMissingValues": 100.0 * get("NumberOfMissingValues") / (n * f),
        "PercentageOfInstancesWithMissingValues": 100.0 * get("NumberOfInstancesWithMissingValues") / n,
        "Dimensionality": f / n,
        "mo_LogRowsPerFeature": np.log(n / f.clip(lower=1)),
        "mo_ClassImbalanceRatio": get("MinorityClassSize") / get("MajorityClassSize"),
    }
    for name, values in derived.items():
        values = values.replace([np.inf, -np.inf], np.nan)
        if name in m.columns:
            m[name] = m[name].astype("float64").fillna(values)
        else:
            m[name] = values
    return m


class MetaFeatureSpace:
    """Robustly scaled, log-transformed meta-features with a NaN-aware distance."""

    def __init__(self, features: Sequence[str] | None = None, min_coverage: float = 0.5,
                 log_counts: bool = True):
        self.features = list(features) if features is not None else None
        self.min_coverage = min_coverage
        self.log_counts = log_counts

    def fit(self, meta: pd.DataFrame) -> MetaFeatureSpace:
        m = derive(meta)
        if self.features is not None:
            cols = [c for c in self.features if c in m.columns]
        else:
            cov = m.notna().mean()
            cols = [c for c in m.columns if cov[c] >= self.min_coverage and m[c].nunique(dropna=True) > 1]
        self.columns_ = cols
        self.log_ = np.array([self.log_counts and _is_count(c) for c in cols], dtype=bool)
        x = self._pre(m)
        med = np.nanmedian(x, axis=0) if len(x) else np.zeros(len(cols))
        q75, q25 = (np.nanpercentile(x, 75, axis=0), np.nanpercentile(x, 25, axis=0)) if len(x) else (med, med)
        scale = q75 - q25
        std = np.nanstd(x, axis=0) if len(x) else np.ones(len(cols))
        scale = np.where(scale > 1e-12, scale, np.where(std > 1e-12, std, 1.0))
        self.center_, self.scale_ = np.nan_to_num(med), scale
        return self

    def _pre(self, m: pd.DataFrame) -> np.ndarray:
        # copy: under copy-on-write a single-dtype frame hands out a read-only view
        x = m.reindex(columns=self.columns_).to_numpy(dtype="float64", na_value=np.nan, copy=True)
        if self.log_.any():
            x[:, self.log_] = np.sign(x[:, self.log_]) * np.log1p(np.abs(x[:, self.log_]))
        x[~np.isfinite(x)] = np.nan
        return x

    def transform(self, meta: pd.DataFrame | Mapping[str, float]) -> np.ndarray:
        """Scaled features (n x d; NaN where unknown) of a frame or one task's mapping."""
        if not isinstance(meta, pd.DataFrame):
            meta = pd.DataFrame([dict(meta)])
        x = self._pre(derive(meta))
        return np.clip((x - self.center_) / self.scale_, -_CLIP, _CLIP)

    @staticmethod
    def distances(q: np.ndarray, x: np.ndarray) -> np.ndarray:
        """NaN-aware RMS distances between rows of ``q`` (m x d) and ``x`` (n x d) -> m x n."""
        q = np.atleast_2d(q)
        diff = q[:, None, :] - x[None, :, :]
        ok = np.isfinite(diff)
        cnt = ok.sum(axis=2)
        sq = np.where(ok, diff, 0.0) ** 2
        with np.errstate(invalid="ignore", divide="ignore"):
            d = np.sqrt(sq.sum(axis=2) / cnt)
        d[cnt < _MIN_COMMON] = np.inf
        return d

    def __repr__(self) -> str:
        return f"MetaFeatureSpace({len(getattr(self, 'columns_', []))} features)"
