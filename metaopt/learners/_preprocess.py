"""Preprocessing a learner's estimator needs, fitted on the training rows only.

:class:`NativePreprocessor` keeps pandas categoricals (LightGBM reads them),
:class:`EncodingPreprocessor` imputes and encodes for scikit-learn estimators.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from metaopt.exceptions import ConfigError


def _is_cat(s: pd.Series) -> bool:
    return isinstance(s.dtype, pd.CategoricalDtype)


def _as_frame(X: Any) -> pd.DataFrame:
    if isinstance(X, pd.DataFrame):
        return X
    return pd.DataFrame(np.asarray(X))


class NativePreprocessor:
    """For LightGBM: keeps pandas categoricals, renames columns to ``f0..fn``.

    LightGBM rejects feature names containing JSON special characters, so the
    columns get neutral names; categorical columns are re-based on the
    categories seen at fit time (unseen values become missing), numeric
    columns become float64 with +-inf turned into missing.
    """

    def fit(self, X: pd.DataFrame, y: Any = None) -> NativePreprocessor:
        X = _as_frame(X)
        self.columns_ = list(X.columns)
        self.categories_ = {c: X[c].cat.categories for c in X.columns if _is_cat(X[c])}
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        X = _as_frame(X)
        missing = [c for c in self.columns_ if c not in X.columns]
        if missing:
            raise ConfigError(f"columns missing at predict time: {missing[:5]}")
        out = {}
        for i, c in enumerate(self.columns_):
            s = X[c]
            if c in self.categories_:
                cats = self.categories_[c]
                if not _is_cat(s):
                    s = s.astype("category")
                if not s.cat.categories.equals(cats):
                    obj = s.astype(object)
                    obj = obj.where(obj.isin(list(cats)), None)  # unseen levels -> missing
                    s = pd.Categorical(obj, categories=cats)
                out[f"f{i}"] = pd.Series(s, index=X.index)
            else:
                v = pd.to_numeric(s, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
                v = np.where(np.isinf(v), np.nan, v)
                out[f"f{i}"] = pd.Series(v, index=X.index)
        return pd.DataFrame(out, index=X.index)

    def fit_transform(self, X: pd.DataFrame, y: Any = None) -> pd.DataFrame:
        return self.fit(X, y).transform(X)


class EncodingPreprocessor:
    """For scikit-learn models: numeric median imputation, categorical encoding.

    Fitted on the training rows only.  Numeric columns: +-inf -> missing ->
    training median (0 where a column is all missing).  Nominal columns with at
    most ``max_onehot`` levels seen in training get one indicator column per
    level (plus one for "missing" when training has missing values; unseen
    levels encode as all zeros); columns with more levels are ordinal-encoded
    by training frequency rank (missing/unseen -> -1).  Output: dense float64.
    """

    def __init__(self, max_onehot: int = 10):
        self.max_onehot = max_onehot

    def fit(self, X: pd.DataFrame, y: Any = None) -> EncodingPreprocessor:
        X = _as_frame(X)
        self.columns_ = list(X.columns)
        self.plan_: list[tuple[str, str, Any]] = []
        for c in self.columns_:
            s = X[c]
            if _is_cat(s) or not pd.api.types.is_numeric_dtype(s):
                vals = s.astype(object).where(s.notna(), None)
                counts = pd.Series(vals.dropna()).value_counts(sort=True)
                levels = [str(v) for v in counts.index]
                has_missing = bool(s.isna().any())
                if len(levels) <= self.max_onehot:
                    self.plan_.append((c, "onehot", (levels, has_missing)))
                else:
                    self.plan_.append((c, "ordinal", {lv: float(i) for i, lv in enumerate(levels)}))
            else:
                v = pd.to_numeric(s, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
                v = np.where(np.isinf(v), np.nan, v)
                med = float(np.nanmedian(v)) if np.isfinite(v).any() else 0.0
                self.plan_.append((c, "numeric", med))
        # output columns (what transform returns; e.g. what a forest's max_features counts)
        self.width_ = sum(len(info[0]) + info[1] if how == "onehot" else 1 for _, how, info in self.plan_)
        return self

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        X = _as_frame(X)
        blocks: list[np.ndarray] = []
        n = len(X)
        for c, how, info in self.plan_:
            if c not in X.columns:
                raise ConfigError(f"column {c!r} missing at predict time")
            s = X[c]
            if how == "numeric":
                v = pd.to_numeric(s, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
                v = np.where(np.isfinite(v), v, info)
                blocks.append(v.reshape(n, 1))
            else:
                strs = s.astype(object).where(s.notna(), None).map(lambda v: None if v is None else str(v))
                if how == "onehot":
                    levels, has_missing = info
                    cols = [(strs == lv).to_numpy(dtype="float64") for lv in levels]
                    if has_missing:
                        cols.append(strs.isna().to_numpy(dtype="float64"))
                    if cols:
                        blocks.append(np.column_stack(cols))
                else:
                    blocks.append(strs.map(lambda v: info.get(v, -1.0) if v is not None else -1.0)
                                  .to_numpy(dtype="float64").reshape(n, 1))
        if not blocks:
            return np.zeros((n, 0))
        return np.hstack(blocks)

    def fit_transform(self, X: pd.DataFrame, y: Any = None) -> np.ndarray:
        return self.fit(X, y).transform(X)
