"""scikit-learn estimators that tune themselves: :class:`MetaTunedClassifier`, :class:`MetaTunedRegressor`.

``fit`` runs :func:`metaopt.tuning.tune` (warm-started search with a small
budget, K-fold CV, pruning) on the training data and refits the best
configuration on all of it.  They follow scikit-learn's conventions
(parameters stored unchanged by ``__init__``, validation in ``fit``, fitted
attributes ending in ``_``), so they work inside ``Pipeline``,
``cross_val_score`` and ``GridSearchCV``::

    from sklearn.pipeline import make_pipeline
    from sklearn.model_selection import cross_val_score
    from metaopt.estimators import MetaTunedClassifier

    clf = MetaTunedClassifier(n_trials=10, cv=3)
    cross_val_score(clf, X, y, cv=5)

Input: arrays (numeric; NaN allowed and handled by the learner) or
DataFrames, whose categorical/string columns are kept as nominal features
(arrays go through :func:`sklearn.utils.validation.validate_data`; DataFrames
only get their feature names and count checked, so that their column types
survive).  ``random_state=None`` means seed 0: results are reproducible.
Fitted attributes: ``model_`` (:class:`metaopt.tuning.TunedModel`),
``best_params_``, ``best_score_`` (mean CV score of ``metric_``), ``learner_``,
``summary_`` (dict), ``n_features_in_``, ``feature_names_in_`` (DataFrames with
string column names), ``classes_`` (classifier).
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from metaopt.core import aligned_proba
from metaopt.utils import check_scalar


def _is_frame(X: Any) -> bool:
    return isinstance(X, pd.DataFrame)


def _has_non_numeric(X: pd.DataFrame) -> bool:
    return any(not pd.api.types.is_numeric_dtype(X[c].dtype) or pd.api.types.is_bool_dtype(X[c].dtype)
               for c in X.columns)


class _MetaTunedBase(BaseEstimator):
    _kind: str = ""

    def __init__(self, learner: str = "auto", n_trials: int = 10, cv: int = 3, metric: str | None = None,
                 timeout: float | None = None, random_state: int | None = None, warm_start: bool = True,
                 sampler: str = "meta", k: int = 5, n_jobs: int = 1, ensemble: bool = True,
                 ensemble_size: int = 25, time_column: str | int | None = None):
        self.learner = learner
        self.n_trials = n_trials
        self.cv = cv
        self.metric = metric
        self.timeout = timeout
        self.random_state = random_state
        self.warm_start = warm_start
        self.sampler = sampler
        self.k = k
        self.n_jobs = n_jobs
        self.ensemble = ensemble
        self.ensemble_size = ensemble_size
        self.time_column = time_column

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    # ------------------------------------------------------------------ validation
    def _validate_X(self, X: Any, *, reset: bool, y: Any = "no_validation") -> tuple[pd.DataFrame, Any]:
        """(features as a DataFrame with string column names, validated y)."""
        if reset and y is None:
            raise ValueError(f"This {type(self).__name__} estimator requires y to be passed, but the target y "
                             f"is None.")
        fitting = not (isinstance(y, str) and y == "no_validation")
        if _is_frame(X) and _has_non_numeric(X):
            # keep nominal columns: only names / count are checked here
            if fitting:
                X, y = validate_data(self, X, y, reset=reset, skip_check_array=True)
            else:
                X = validate_data(self, X, reset=reset, skip_check_array=True)
            if X.shape[0] == 0:
                raise ValueError(f"Found array with 0 sample(s) (shape={X.shape}) while a minimum of 1 is required.")
            frame = X.copy(deep=False)
            frame.columns = [str(c) for c in X.columns]
        else:
            kw = dict(reset=reset, ensure_all_finite="allow-nan", dtype="numeric")
            if fitting:
                arr, y = validate_data(self, X, y, y_numeric=self._kind == "regression", **kw)
            else:
                arr = validate_data(self, X, **kw)
            arr = np.asarray(arr, dtype="float64")
            if np.isinf(arr).any():
                raise ValueError("Input X contains infinity or a value too large for dtype('float64').")
            names = getattr(self, "feature_names_in_", None)
            cols = [str(c) for c in names] if names is not None else [f"x{i}" for i in range(arr.shape[1])]
            frame = pd.DataFrame(arr, columns=cols)
        if fitting:
            if len(frame) != len(y):
                raise ValueError(f"Found input variables with inconsistent numbers of samples: "
                                 f"[{len(frame)}, {len(y)}]")
            if len(frame) < 2:
                raise ValueError(f"{type(self).__name__} needs at least 2 samples to cross-validate, got "
                                 f"n_samples={len(frame)}")
        return frame.reset_index(drop=True), y

    def _tune(self, frame: pd.DataFrame, y: pd.Series, kind: str, groups: Any = None) -> None:
        from metaopt.data import as_dataset
        from metaopt.tuning import tune

        groups = None if groups is None else np.asarray(groups, dtype=object).ravel()
        ds = as_dataset(frame, y, kind=kind, name=type(self).__name__, drop_id_like=False, min_rows=2,
                        groups=groups, time_column=self._time_column(frame))
        seed = 0 if self.random_state is None else self.random_state
        if isinstance(seed, np.random.RandomState):
            seed = int(seed.randint(0, 2**31 - 1))
        cv = min(check_scalar(self.cv, "cv", numbers.Integral, min_val=2), len(y))  # no more folds than rows
        result = tune(ds, learner=self.learner, n_trials=self.n_trials, timeout=self.timeout, cv=cv,
                      metric=self.metric, random_state=int(seed), warm_start=self.warm_start, sampler=self.sampler,
                      progress=False, n_jobs=self.n_jobs, k=self.k, ensemble=self.ensemble,
                      ensemble_size=self.ensemble_size)
        self.model_ = result.model
        self.best_params_ = result.best_params
        self.best_score_ = result.best_score
        self.metric_ = result.metric
        self.learner_ = result.learner
        self.summary_ = result.summary.to_dict()

    def _time_column(self, frame: pd.DataFrame) -> str | None:
        """The name of the ``time_column`` feature: a position (arrays, any frame) or a column name."""
        tc = self.time_column
        if tc is None or isinstance(tc, str):
            return tc
        pos = check_scalar(tc, "time_column", numbers.Integral, min_val=0, max_val=frame.shape[1] - 1)
        return str(frame.columns[pos])

    def _features(self, X: Any) -> pd.DataFrame:
        check_is_fitted(self, "model_")
        frame, _ = self._validate_X(X, reset=False)
        return self.model_.prepare(frame)


class MetaTunedClassifier(ClassifierMixin, _MetaTunedBase):
    """A classifier whose hyperparameters are tuned by a warm-started search in ``fit``.

    Parameters
    ----------
    learner : str, default="auto"
        ``"auto"`` (the learners of metaopt's top recommendations, searched side by side) or a learner name
        (``"lightgbm"``, ``"random_forest"``, ``"extra_trees"``).
    n_trials : int, default=10
        Trials of the search (the first are the recommendations when ``warm_start``).
    cv : int, default=3
        Cross-validation folds inside ``fit``.
    metric : str or None
        ``roc_auc``, ``log_loss``, ``accuracy``, ``balanced_accuracy`` or ``f1``
        (macro for more than two classes), and ``average_precision`` for two
        classes; default ``roc_auc`` for two classes, ``log_loss`` for more.
    timeout : float or None
        Seconds for the search.
    random_state : int or None
        Seed (``None`` means 0).
    warm_start : bool, default=True
        Start from metaopt's recommended configurations.  (Not scikit-learn's
        ``warm_start`` meaning of reusing a previous fit.)
    sampler : {"meta", "tpe", "random"}
        Sampler after the warm start.
    k : int, default=5
        Number of recommended configurations.
    n_jobs : int, default=1
        Parallel trials in worker processes (every fit uses one thread).
    ensemble : bool, default=True
        Predict with the greedy ensemble of the search's trials (selected on their out-of-fold
        predictions); ``False``: one configuration, the best CV mean minus one standard error.
    ensemble_size : int, default=25
        Rounds of greedy ensemble selection.
    time_column : str, int or None
        A feature holding the rows' times (numbers or dates; a column name, or a position for arrays):
        the folds then fit on earlier rows and test on later ones (``docs/tuning.md``, step 1).
    """

    _kind = "classification"

    def fit(self, X: Any, y: Any, groups: Any = None) -> MetaTunedClassifier:
        """Tune on ``X, y``; ``groups``: one label per row, rows of a group never split between folds."""
        from sklearn.utils.multiclass import check_classification_targets

        frame, y = self._validate_X(X, reset=True, y=y)
        y = np.asarray(y)
        if y.ndim != 1:
            y = y.ravel() if y.ndim == 2 and y.shape[1] == 1 else y
        check_classification_targets(y)
        self.classes_, codes = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"{type(self).__name__} needs samples of at least 2 classes in the data, but the "
                             f"data contain only one class: {self.classes_[0]!r}")
        kind = "binary" if len(self.classes_) == 2 else "multiclass"
        self._tune(frame, pd.Series(codes.astype("int64"), name="target"), kind, groups)
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        Z = self._features(X)
        labels = np.arange(len(self.classes_), dtype="int64")
        return aligned_proba(self.model_.fitted, Z, labels)

    def predict(self, X: Any) -> np.ndarray:
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]


class MetaTunedRegressor(RegressorMixin, _MetaTunedBase):
    """A regressor whose hyperparameters are tuned by a warm-started search in ``fit``.

    Same parameters as :class:`MetaTunedClassifier`; ``metric`` is ``rmse``
    (default), ``r2`` or ``mae``.
    """

    _kind = "regression"

    def fit(self, X: Any, y: Any, groups: Any = None) -> MetaTunedRegressor:
        """Tune on ``X, y``; ``groups``: one label per row, rows of a group never split between folds."""
        frame, y = self._validate_X(X, reset=True, y=y)
        y = np.asarray(y, dtype="float64").ravel()
        if not np.isfinite(y).all():
            raise ValueError("Input y contains NaN or infinity.")
        self._tune(frame, pd.Series(y, name="target"), "regression", groups)
        return self

    def predict(self, X: Any) -> np.ndarray:
        Z = self._features(X)
        return np.asarray(self.model_.fitted.predict(Z), dtype="float64")


__all__ = ["MetaTunedClassifier", "MetaTunedRegressor"]
