"""The fixed evaluation protocol: how every configuration is scored, in the KB build and in tuning.

Protocol (``Protocol().name`` = ``"cv5-s0-max10000"`` by default):

1. Subsampling: data with more than ``max_rows`` rows are reduced to
   ``max_rows`` rows, stratified by class for classification, with seed
   ``seed`` (recorded in the protocol string and in ``n_train_rows``).
2. Cross-validation: ``StratifiedKFold`` (classification) or ``KFold``
   (regression) with ``n_folds`` folds, ``shuffle=True``, ``random_state=seed``.
   Every configuration of a task sees exactly the same folds.
3. Per fold the learner's preprocessing (encoding, imputation) is fitted on
   the training rows only; the estimator gets ``random_state = seed + fold``
   and one thread.  Early stopping (LightGBM configurations without
   ``n_estimators``) uses an inner split of the *training* rows, never the test
   fold.
4. Metrics on the test fold: binary ``roc_auc``, ``log_loss``, ``accuracy``;
   multiclass ``log_loss``, ``accuracy``, ``roc_auc`` (one-vs-rest, weighted by
   prevalence; NaN in folds that miss a class); regression ``rmse``, ``r2``.
   Probabilities are aligned to all classes of the task (a class absent from a
   training fold gets probability 0) and clipped to [1e-15, 1] before the log
   loss.  The stored value is the mean over folds; per-fold values are kept.
5. Time limit per fit (``time_limit_s``): LightGBM stops boosting past the limit
   (a callback); forests stop adding trees.  Such a configuration is marked
   ``timeout``, the remaining folds are skipped and the metrics are the means
   over the folds done.  Any exception marks the configuration ``failed`` with
   its error text; it never stops a build.
"""

from __future__ import annotations

import math
import time
import traceback
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from metaopt.core._metrics import ALL_METRICS, KIND_METRICS, score_model

@dataclass(frozen=True)
class Protocol:
    n_folds: int = 5
    seed: int = 0
    max_rows: int | None = 10_000
    time_limit_s: float | None = 300.0

    @property
    def name(self) -> str:
        cap = f"max{self.max_rows}" if self.max_rows else "full"
        return f"cv{self.n_folds}-s{self.seed}-{cap}"

    # ------------------------------------------------------------------ rows and folds
    def subsample(self, y: pd.Series, kind: str) -> np.ndarray:
        """Positions of the rows used (all rows when within ``max_rows``)."""
        n = len(y)
        if not self.max_rows or n <= self.max_rows:
            return np.arange(n)
        from sklearn.model_selection import train_test_split

        idx = np.arange(n)
        strat = None
        if kind != "regression":
            codes = _codes(y)
            if np.bincount(codes).min() >= 2:
                strat = codes
        try:
            keep, _ = train_test_split(idx, train_size=self.max_rows, random_state=self.seed, stratify=strat)
        except ValueError:  # too many tiny classes for a stratified draw
            keep, _ = train_test_split(idx, train_size=self.max_rows, random_state=self.seed)
        return np.sort(keep)

    def folds(self, y: pd.Series, kind: str, groups: pd.Series | None = None, order: pd.Series | None = None
              ) -> list[tuple[np.ndarray, np.ndarray]]:
        """``(train, test)`` positions into ``y`` for each fold; with ``groups``, no group in both; with
        ``order`` (times), each fold fitted on earlier rows than it is tested on."""
        from sklearn.model_selection import KFold, StratifiedKFold

        if order is not None:
            return self._time_folds(order)
        if groups is not None:
            return self._group_folds(y, kind, groups)
        n = len(y)
        k = min(self.n_folds, n)
        if kind == "regression":
            splitter: Any = KFold(k, shuffle=True, random_state=self.seed)
            return list(splitter.split(np.zeros(n)))
        codes = _codes(y)
        counts = np.bincount(codes)
        if counts[counts > 0].max() < k:  # every class smaller than k: plain k-fold
            return list(KFold(k, shuffle=True, random_state=self.seed).split(np.zeros(n)))
        import warnings

        with warnings.catch_warnings():  # "least populated class has fewer members than n_splits"
            warnings.simplefilter("ignore", UserWarning)
            return list(StratifiedKFold(k, shuffle=True, random_state=self.seed).split(np.zeros(n), codes))

    def _group_folds(self, y: pd.Series, kind: str, groups: pd.Series) -> list[tuple[np.ndarray, np.ndarray]]:
        """scikit-learn's group splitters, shuffled with the seed: stratified where the classes allow."""
        import warnings

        from sklearn.model_selection import GroupKFold, StratifiedGroupKFold

        codes = pd.Series(groups).astype("category").cat.codes.to_numpy()
        k = min(self.n_folds, len(np.unique(codes)))
        n = len(y)
        if kind == "regression":
            return list(GroupKFold(k, shuffle=True, random_state=self.seed).split(np.zeros(n), groups=codes))
        with warnings.catch_warnings():  # "least populated class has fewer members than n_splits"
            warnings.simplefilter("ignore", UserWarning)
            return list(StratifiedGroupKFold(k, shuffle=True, random_state=self.seed)
                        .split(np.zeros(n), _codes(y), groups=codes))

    def _time_folds(self, order: pd.Series) -> list[tuple[np.ndarray, np.ndarray]]:
        """scikit-learn's ``TimeSeriesSplit`` blocks on the rows sorted by time, each boundary moved to the
        nearest change of time: the rows of one time (a day) are never split between training and test.
        The latest test block comes first, so a plan's first fold, or its holdout, is the most recent one.
        At most one fold per distinct time after the first."""
        from sklearn.model_selection import TimeSeriesSplit

        times = np.asarray(order, dtype="float64")
        ranked = np.argsort(times, kind="stable")
        changes = np.flatnonzero(np.diff(times[ranked]) != 0) + 1  # sorted positions where a new time starts
        k = min(self.n_folds, len(changes))
        if k < 1:
            return []
        ideal = [len(ranked) - len(ranked) // 2] if k == 1 else \
            [int(te[0]) for _, te in TimeSeriesSplit(k).split(ranked)]
        bounds = _nearest_increasing(ideal, changes)
        ends = [*bounds[1:], len(ranked)]
        return [(ranked[:b], ranked[b:e]) for b, e in zip(bounds, ends)][::-1]

    # ------------------------------------------------------------------ evaluation
    def prepare(self, dataset: Any) -> PreparedTask:
        """Subsample and split once per task; reuse for every configuration."""
        rows = self.subsample(dataset.y, dataset.kind)
        X = dataset.X.iloc[rows]
        y = dataset.y.iloc[rows]
        groups, order = (_at_rows(getattr(dataset, key, None), rows) for key in ("groups", "time_order"))
        return PreparedTask(X=X, y=y, kind=dataset.kind, folds=self.folds(y, dataset.kind, groups, order),
                            labels=class_labels(dataset.y, dataset.kind), groups=groups, order=order)

    def evaluate(self, learner: Any, params: dict[str, Any], task: Any) -> dict[str, Any]:
        """Cross-validate one configuration; returns the evaluation fields of the KB schema.

        ``learner`` is a :class:`metaopt.learners.Learner` (the caller resolves names, so
        this bottom layer never imports the learner registry).  ``task`` is a :class:`PreparedTask` or a :class:`~metaopt.data.Dataset`.
        Never raises for a failing configuration (``status="failed"``).
        """
        if not isinstance(task, PreparedTask):
            task = self.prepare(task)
        row: dict[str, Any] = {"protocol": self.name, "status": "ok", "error": None}
        fold_metrics: dict[str, list[float]] = {m: [] for m in KIND_METRICS[task.kind]}
        fit_times: list[float] = []
        pred_times: list[float] = []
        used: list[float] = []
        train_rows: list[int] = []
        try:
            params = learner.validate_params(params, task.kind)
            for i, (tr, te) in enumerate(task.folds):
                t0 = time.perf_counter()
                model = learner.fit(task.X.iloc[tr], task.y.iloc[tr], params, task.kind,
                                    random_state=self.seed + i, time_limit_s=self.time_limit_s)
                fit_times.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                scores = score_model(model, task.X.iloc[te], task.y.iloc[te], task.kind, task.labels)
                pred_times.append(time.perf_counter() - t0)
                for m, v in scores.items():
                    fold_metrics[m].append(v)
                train_rows.append(len(tr))
                if model.n_estimators_used is not None:
                    used.append(float(model.n_estimators_used))
                if model.timed_out or (self.time_limit_s is not None and fit_times[-1] > self.time_limit_s):
                    row["status"] = "timeout"
                    row["error"] = f"fit of fold {i} took {fit_times[-1]:.1f} s > limit {self.time_limit_s:g} s"
                    break
        except Exception as exc:  # a failing configuration is data, not a crash
            row["status"] = "failed"
            msg = f"{type(exc).__name__}: {exc}".strip()
            tb = traceback.extract_tb(exc.__traceback__)
            where = f" [{tb[-1].filename.rsplit('/', 1)[-1]}:{tb[-1].lineno}]" if tb else ""
            row["error"] = (msg[:900] + where)
            fold_metrics = {m: [] for m in fold_metrics}
        row["n_folds"] = len(fit_times) if row["status"] != "failed" and fit_times else None
        row["n_train_rows"] = int(round(np.mean(train_rows))) if train_rows else None
        row["fit_time_s"] = float(np.mean(fit_times)) if fit_times else None
        row["predict_time_s"] = float(np.mean(pred_times)) if pred_times else None
        row["n_estimators_used"] = float(np.mean(used)) if used and row["status"] != "failed" else None
        for m in ALL_METRICS:
            vals = fold_metrics.get(m) or []
            finite = [v for v in vals if v is not None and math.isfinite(v)]
            row[m] = float(np.mean(finite)) if finite else None
            row[f"{m}_folds"] = [float(v) for v in vals] if vals else None
        return row


def _nearest_increasing(ideal: list[int], candidates: np.ndarray) -> list[int]:
    """For each of the increasing ``ideal`` positions the nearest of the sorted ``candidates``, all distinct and
    increasing (each pick leaves enough candidates for the picks after it).  Written here: scikit-learn's time
    splitter has no notion of tied times."""
    picks: list[int] = []
    lo = 0
    for j, want in enumerate(ideal):
        hi = len(candidates) - (len(ideal) - j)  # the last index that leaves one candidate per later pick
        i = int(np.clip(np.searchsorted(candidates, want), lo, hi))
        if i > lo and abs(int(candidates[i - 1]) - want) <= abs(int(candidates[i]) - want):
            i -= 1
        picks.append(int(candidates[i]))
        lo = i + 1
    return picks


@dataclass
class PreparedTask:
    X: pd.DataFrame
    y: pd.Series
    kind: str
    folds: list[tuple[np.ndarray, np.ndarray]]
    labels: np.ndarray | None
    groups: pd.Series | None = None  #: the rows' groups (folds never split one), None: independent rows
    order: pd.Series | None = None  #: the rows' times (folds test later rows than they fit), None: no order

    @property
    def n_rows(self) -> int:
        return len(self.y)


def _at_rows(keys: pd.Series | None, rows: np.ndarray) -> pd.Series | None:
    """A dataset's row keys (groups, times) on the subsampled ``rows``."""
    return None if keys is None else keys.iloc[rows].reset_index(drop=True)


def _codes(y: pd.Series) -> np.ndarray:
    s = y if isinstance(y.dtype, pd.CategoricalDtype) else y.astype("category")
    codes = s.cat.codes.to_numpy(dtype="int64")
    # re-index the present codes densely (unused categories would give zero counts)
    _, dense = np.unique(codes, return_inverse=True)
    return dense


def class_labels(y: pd.Series, kind: str) -> np.ndarray | None:
    """The task's classes in the order of prediction columns and target codes (the target's category
    order: sorted labels unless the file declares an order); None for regression."""
    if kind == "regression":
        return None
    s = y if isinstance(y.dtype, pd.CategoricalDtype) else y.astype("category")
    present = set(s.dropna().unique().tolist())
    return np.asarray([c for c in s.cat.categories if c in present], dtype=object)
