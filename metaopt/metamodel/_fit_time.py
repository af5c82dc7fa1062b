"""Predicted fit time of a configuration on a dataset of a given size (for ``time_budget``).

:class:`FitTimeModel`: log fit time = linear in log rows, log features and log
classes, plus a per-configuration offset (the mean residual of that
configuration, shrunk towards 0).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from metaopt.metamodel._normalise import ScoreMatrix


class FitTimeModel:
    """Predicted fit time (seconds) of a configuration on a task of a given size."""

    def fit(self, sm: ScoreMatrix, shrink: float = 5.0) -> FitTimeModel:
        ft = sm.fit_time.stack().rename("t").reset_index()
        ft.columns = ["task_id", "key", "t"]
        ft = ft[np.isfinite(ft["t"]) & (ft["t"] > 0)]
        self.keys_ = list(sm.configs.index)
        if ft.empty:
            self.coef_ = None
            return self
        ntr = sm.n_train_rows.stack().rename("n").reset_index()
        ntr.columns = ["task_id", "key", "n"]
        ft = ft.merge(ntr, on=["task_id", "key"], how="left")
        rows = sm.tasks["n_rows"].astype("float64").fillna(sm.meta.get("NumberOfInstances", np.nan))
        ft["n"] = ft["n"].fillna(ft["task_id"].map(rows))
        feats = sm.tasks["n_features"].astype("float64")
        ft["f"] = ft["task_id"].map(feats)
        ncls = sm.meta["NumberOfClasses"] if "NumberOfClasses" in sm.meta else pd.Series(np.nan, index=sm.meta.index)
        ft["c"] = ft["task_id"].map(ncls).fillna(0.0)
        ft = ft.dropna(subset=["n", "f"])
        X = self._design(ft["n"].to_numpy(), ft["f"].to_numpy(), ft["c"].to_numpy())
        y = np.log(ft["t"].to_numpy())
        self.coef_, *_ = np.linalg.lstsq(X, y, rcond=None)
        resid = y - X @ self.coef_
        g = pd.DataFrame({"key": ft["key"].to_numpy(), "r": resid}).groupby("key")["r"]
        self.offset_ = (g.sum() / (g.count() + shrink)).to_dict()
        self.sigma_ = float(np.std(resid)) if len(resid) > 1 else 1.0
        return self

    @staticmethod
    def _design(n, f, c) -> np.ndarray:
        n, f, c = (np.asarray(a, dtype="float64") for a in (n, f, c))
        return np.column_stack([np.ones_like(n), np.log1p(n), np.log1p(f), np.log1p(np.maximum(c, 0))])

    def predict(self, keys: list[str], n_rows: int, n_features: int, n_classes: int = 0) -> pd.Series:
        """Median predicted seconds of one fit (NaN where the KB has no timings)."""
        if self.coef_ is None:
            return pd.Series(np.nan, index=keys)
        base = float((self._design([n_rows], [n_features], [n_classes]) @ self.coef_)[0])
        return pd.Series([float(np.exp(base + self.offset_.get(k, 0.0))) for k in keys], index=keys)
