"""A surrogate: LightGBM predicting a configuration's normalised score from task
meta-features and configuration parameters, with a bootstrap ensemble for uncertainty.

Training rows are the (task, configuration) pairs of the KB with a normalised
score; features are the scaled meta-features of :class:`MetaFeatureSpace`, the
task kind and the configuration's parameters (numbers as is, booleans 0/1,
strings as codes, the learner as a code). ``n_models`` regressors are fitted on
bootstrap resamples of the *tasks* (not rows: rows of one task are not
independent); the prediction is their mean and the uncertainty their standard
deviation - the spread a new task of a kind we have seen before could show.
The row subsample (``max_rows``) and the bootstraps are keyed by task and
configuration ids (:mod:`~metaopt.metamodel._keyed_random`): a KB that gains
tasks keeps every earlier draw (old rows leave only where ``max_rows`` needs room).

The fitted regressors are kept as :class:`~metaopt.metamodel._trees.TreeEnsemble`
(their LightGBM model text, evaluated in NumPy with LightGBM's exact
arithmetic): predictions equal the regressors', the state can be stored without
pickle, and predicting does not import LightGBM.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from metaopt.metamodel._base import MetaModel, Query, candidates
from metaopt.metamodel._feature_space import MetaFeatureSpace
from metaopt.metamodel._keyed_random import id_hashes, keep_smallest, keyed_uniform, poisson_counts
from metaopt.metamodel._normalise import ScoreMatrix
from metaopt.metamodel._trees import TreeEnsemble
from metaopt.utils import usable_cores

#: the surrogate's numeric task-kind feature (also used by :class:`metaopt.warmstart.KBSurrogate`)
KIND_CODES = {"binary": 0.0, "multiclass": 1.0, "regression": 2.0}


def encode_params(configs: pd.DataFrame) -> pd.DataFrame:
    """Numeric encoding (configs x parameters) of the ``params`` dicts and the learner."""
    rows = []
    for key, params in configs["params"].items():
        rows.append({f"p_{n}": v for n, v in (params or {}).items()})
    df = pd.DataFrame(rows, index=configs.index)
    out = pd.DataFrame(index=configs.index)
    for c in sorted(df.columns):
        s = df[c]
        vals = s.dropna()
        if vals.map(lambda v: isinstance(v, (bool, np.bool_))).all():
            out[c] = s.map(lambda v: np.nan if v is None or (isinstance(v, float) and np.isnan(v)) else float(v))
        elif vals.map(lambda v: isinstance(v, (int, float, np.integer, np.floating))
                      and not isinstance(v, bool)).all():
            out[c] = pd.to_numeric(s, errors="coerce").astype("float64")
        else:  # strings or mixed: codes in sorted order of the text
            text = s.map(lambda v: None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v))
            levels = sorted(set(text.dropna()))
            out[c] = text.map({v: float(i) for i, v in enumerate(levels)}).astype("float64")
    learners = sorted(set(configs["learner"]))
    out["learner"] = configs["learner"].map({lr: float(i) for i, lr in enumerate(learners)}).astype("float64")
    return out


class Surrogate(MetaModel):
    name = "surrogate"

    def __init__(self, n_models: int = 5, n_estimators: int = 200, max_rows: int = 60_000,
                 random_state: int = 0, space: MetaFeatureSpace | None = None):
        self.n_models = n_models
        self.n_estimators = n_estimators
        self.max_rows = max_rows
        self.random_state = random_state
        self.space = space

    def fit(self, sm: ScoreMatrix) -> Surrogate:
        super().fit(sm)
        sp = self.space if self.space is not None else MetaFeatureSpace()
        self.space_ = MetaFeatureSpace(sp.features, sp.min_coverage, sp.log_counts).fit(sm.meta)
        self.params_ = encode_params(sm.configs)
        X, y, tasks, samples = self._training_rows(sm)

        def fit_one(m: int):
            rows = samples[m]
            return self._fit_one(X[rows], y[rows], tasks[rows], m)

        # one thread per core: LightGBM releases the GIL, each fit is single-threaded and deterministic
        with ThreadPoolExecutor(max_workers=min(self.n_models, usable_cores())) as pool:
            self.models_ = list(pool.map(fit_one, range(self.n_models)))
        return self

    def _target(self, sm: ScoreMatrix) -> np.ndarray:
        """What the regressors learn (tasks x configurations; NaN where not evaluated)."""
        return sm.norm.to_numpy()

    def _training_rows(self, sm: ScoreMatrix) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[np.ndarray]]:
        """Features, targets and task index of the (task, configuration) rows; each model's row sample."""
        xt = self.space_.transform(sm.meta)
        kinds = sm.tasks["kind"].map(KIND_CODES).to_numpy(dtype="float64")
        p = self._target(sm)
        ti, ci = np.nonzero(np.isfinite(p))
        # draws keyed by task and configuration ids (_keyed_random): a KB that grows keeps its old draws
        task_h, conf_h = id_hashes(sm.norm.index), id_hashes(sm.norm.columns)
        keep = keep_smallest(keyed_uniform(task_h[ti], conf_h[ci], salt=(self.random_state,)), self.max_rows)
        ti, ci = ti[keep], ci[keep]
        X = np.hstack([xt[ti], kinds[ti, None], self.params_.to_numpy()[ci]])
        y = p[ti, ci]
        samples = []  # drawn first, in model order: the same models however many fit at once
        for m in range(self.n_models):
            if self.n_models == 1:
                samples.append(np.arange(len(ti)))
            else:  # a bootstrap of the tasks, keyed: task t enters model m Poisson(1) times
                counts = poisson_counts(keyed_uniform(task_h, salt=(self.random_state, m)))
                if not counts[ti].any():  # a tiny KB can draw no task at all (e**-n_tasks): take each once
                    counts = np.ones_like(counts)
                samples.append(np.repeat(np.arange(len(ti)), counts[ti]))
        return X, y, ti, samples

    def _fit_one(self, X: np.ndarray, y: np.ndarray, tasks: np.ndarray, m: int) -> TreeEnsemble:
        """Regressor ``m`` on its rows (``tasks``: each row's task, for objectives that compare within one)."""
        import lightgbm as lgb

        model = lgb.LGBMRegressor(n_estimators=self.n_estimators, learning_rate=0.05, num_leaves=15,
                                  min_child_samples=20, subsample=0.8, subsample_freq=1,
                                  colsample_bytree=0.8, random_state=self.random_state + m,
                                  n_jobs=1, verbose=-1)
        model.fit(X, y)
        return TreeEnsemble(model.booster_.model_to_string())

    def predict(self, query: Query) -> tuple[pd.Series, pd.Series | None]:
        cand = candidates(self.sm_, query.kind, query.pool)
        q = self.space_.transform(query.meta)[0]
        P = self.params_.loc[cand].to_numpy()
        X = np.hstack([np.repeat(q[None, :], len(cand), axis=0),
                       np.full((len(cand), 1), KIND_CODES.get(query.kind, np.nan)), P])
        preds = np.vstack([m.predict(X) for m in self.models_])
        return pd.Series(preds.mean(axis=0), index=cand), pd.Series(preds.std(axis=0), index=cand)
