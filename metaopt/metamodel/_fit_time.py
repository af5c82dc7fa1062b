"""Predicted fit time of a configuration on a dataset of a given size (for time budgets).

:class:`FitTimeModel`: log fit time = linear in log rows, log features and log
classes, plus an offset: per learner and history source (TabRepo's timings are
AutoGluon's on its hardware, ours per fold), and per configuration the mean
residual beyond that, shrunk towards 0.  A configuration the KB never timed (a
sampled trial) gets its learner's offset on our own timings (:meth:`predict_config`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from metaopt.metamodel._normalise import PREFERRED_SOURCES, SEP, ScoreMatrix


class FitTimeModel:
    """Predicted fit time (seconds) of a configuration on a task of a given size."""

    def fit(self, sm: ScoreMatrix, shrink: float = 5.0) -> FitTimeModel:
        ft = self.timed_fits(sm)
        self.keys_ = list(sm.configs.index)
        self.learner_offset_: dict[str, float] = {}
        if ft.empty:
            self.coef_ = None
            return self
        X = self._design(ft["n"].to_numpy(), ft["f"].to_numpy(), ft["c"].to_numpy())
        y = np.log(ft["t"].to_numpy())
        self.coef_, *_ = np.linalg.lstsq(X, y, rcond=None)
        resid = pd.Series(y - X @ self.coef_, index=ft.index)
        learner = ft["key"].astype(str).str.split(SEP, n=1).str[0]
        source = ft["task_id"].map(sm.tasks["source"]).fillna("").astype(str)
        # what a learner costs on each source's machine; a configuration's offset is its deviation from that
        base = resid.groupby([learner, source]).transform("mean")
        g = (resid - base).groupby(ft["key"])
        self.offset_ = ((g.sum() / (g.count() + shrink)) + base.groupby(ft["key"]).mean()).to_dict()
        ours = source.isin(PREFERRED_SOURCES)
        for lr in learner.unique():
            mine = learner == lr
            sel = mine & ours if (mine & ours).any() else mine
            self.learner_offset_[str(lr)] = float(resid[sel].mean())
        self.sigma_ = float(np.std(resid)) if len(resid) > 1 else 1.0
        return self

    @staticmethod
    def timed_fits(sm: ScoreMatrix) -> pd.DataFrame:
        """One row per timed fit of the KB: ``task_id``, ``key``, seconds ``t``, training rows ``n``, raw
        columns ``f`` and classes ``c`` (0: regression), what the model regresses on."""
        # only the timed cells: the matrix is tasks x every configuration of the KB, mostly empty
        t = sm.fit_time.to_numpy(dtype="float64")
        i, j = np.nonzero(np.isfinite(t) & (t > 0))
        n = sm.n_train_rows.reindex(index=sm.fit_time.index, columns=sm.fit_time.columns).to_numpy(dtype="float64")
        ft = pd.DataFrame({"task_id": sm.fit_time.index.to_numpy()[i], "key": sm.fit_time.columns.to_numpy()[j],
                           "t": t[i, j], "n": n[i, j]})
        rows = sm.tasks["n_rows"].astype("float64").fillna(sm.meta.get("NumberOfInstances", np.nan))
        ft["n"] = ft["n"].fillna(ft["task_id"].map(rows))
        ft["f"] = ft["task_id"].map(sm.tasks["n_features"].astype("float64"))
        ncls = sm.meta["NumberOfClasses"] if "NumberOfClasses" in sm.meta else pd.Series(np.nan, index=sm.meta.index)
        ft["c"] = ft["task_id"].map(ncls).fillna(0.0)
        return ft.dropna(subset=["n", "f"])

    @staticmethod
    def _design(n, f, c) -> np.ndarray:
        n, f, c = (np.asarray(a, dtype="float64") for a in (n, f, c))
        return np.column_stack([np.ones_like(n), np.log1p(n), np.log1p(f), np.log1p(np.maximum(c, 0))])

    def _base(self, n_rows: int, n_features: int, n_classes: int) -> float:
        return float((self._design([n_rows], [n_features], [n_classes]) @ self.coef_)[0])

    def predict(self, keys: list[str], n_rows: int, n_features: int, n_classes: int = 0) -> pd.Series:
        """Median predicted seconds of one fit (NaN where the KB has no timings)."""
        if self.coef_ is None:
            return pd.Series(np.nan, index=keys)
        base = self._base(n_rows, n_features, n_classes)
        return pd.Series([float(np.exp(base + self._offset(k))) for k in keys], index=keys)

    def _offset(self, key: str) -> float:
        if key in self.offset_:
            return float(self.offset_[key])
        return float(getattr(self, "learner_offset_", {}).get(str(key).split(SEP, 1)[0], 0.0))

    def predict_config(self, learner: str, config_id: str | None, n_rows: int, n_features: int,
                       n_classes: int = 0) -> float:
        """Median predicted seconds of one fit of ``learner``'s configuration ``config_id``.

        A configuration the KB has timed gets its own offset; any other (``config_id``
        None or unknown, e.g. a sampled trial) its learner's offset on our own timings.
        NaN where the KB has no timings.
        """
        if self.coef_ is None:
            return float("nan")
        key = f"{learner}{SEP}{config_id}" if config_id is not None else f"{learner}{SEP}"
        return float(np.exp(self._base(n_rows, n_features, n_classes) + self._offset(key)))
