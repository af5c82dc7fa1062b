"""LightGBM (``LGBMClassifier`` / ``LGBMRegressor``), metaopt's primary learner.

Boosting rounds: a configuration *without* ``n_estimators`` is fitted with
early stopping (patience :data:`ES_PATIENCE` on the validation data, or on an
inner split of the training rows, up to :data:`MAX_ROUNDS` rounds); a
configuration *with* ``n_estimators`` is fitted for exactly that many rounds
(this is how the library default is reproduced).  The search space does not
contain ``n_estimators``; see ``docs/learners.md`` for the measurement behind
that choice.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from metaopt.learners._base import MIN_LEAVES, Learner, Param, holdout_fraction, inner_split, training_rows
from metaopt.learners._preprocess import NativePreprocessor, _is_cat
from metaopt.learners._target import poisson_note

#: upper bound on boosting rounds under early stopping
MAX_ROUNDS = 2000
#: early-stopping patience (rounds without improvement of the validation loss)
ES_PATIENCE = 50
#: LightGBM's default ``min_data_per_group``: rows each side of a many-vs-many categorical split must hold
LGBM_MIN_DATA_PER_GROUP = 100
#: the regression losses a configuration may name (``objective``); without one the target decides
REGRESSION_OBJECTIVES = ("regression", "tweedie", "poisson")

#: LightGBM's native names of the scikit-learn API's parameters (alias -> ours), from LightGBM's
#: parameter list; Optuna's LightGBM examples and TabRepo's configurations use them
ALIASES: dict[str, str] = {
    "eta": "learning_rate", "shrinkage_rate": "learning_rate",
    "num_leaf": "num_leaves", "max_leaves": "num_leaves", "max_leaf": "num_leaves",
    "min_data_in_leaf": "min_child_samples", "min_data": "min_child_samples",
    "min_data_per_leaf": "min_child_samples",
    "feature_fraction": "colsample_bytree", "sub_feature": "colsample_bytree",
    "bagging_fraction": "subsample", "sub_row": "subsample",
    "lambda_l1": "reg_alpha", "l1_regularization": "reg_alpha",
    "lambda_l2": "reg_lambda", "l2_regularization": "reg_lambda", "lambda": "reg_lambda",
    "extra_tree": "extra_trees",
    "min_sum_hessian_in_leaf": "min_child_weight", "min_gain_to_split": "min_split_gain",
    "bagging_freq": "subsample_freq", "num_iterations": "n_estimators", "num_boost_round": "n_estimators",
}
#: the parameters TabRepo's LightGBM configurations vary, in LightGBM's native names
_TABREPO_NAMES = ("learning_rate", "num_leaves", "min_data_in_leaf", "feature_fraction", "extra_trees")
#: known-good configurations: configs_lightgbm.json of TabRepo (autogluon/tabrepo @ c027dbd4), hyperparameters
#: as given there (AutoGluon's defaults c1..c4), and the two random ones with the best mean rank over its 93
#: tasks (results_ranked_valid.csv: 32.6 and 33.2 of 104)
TABREPO_KNOWN_GOOD: dict[str, dict[str, Any]] = {
    "LightGBM_c1": {},
    "LightGBM_c2": {"extra_trees": True},
    "LightGBM_c3": {"learning_rate": 0.03, "num_leaves": 128, "feature_fraction": 0.9, "min_data_in_leaf": 5},
    "LightGBM_c4": {"extra_trees": True, "learning_rate": 0.03, "num_leaves": 128, "feature_fraction": 0.9,
                    "min_data_in_leaf": 5},
    "LightGBM_r76": {"extra_trees": True, "feature_fraction": 0.8622664110240015,
                     "learning_rate": 0.011190886215344456, "min_data_in_leaf": 18, "num_leaves": 72},
    "LightGBM_r37": {"extra_trees": True, "feature_fraction": 0.8000690453310182,
                     "learning_rate": 0.008241525040355085, "min_data_in_leaf": 13, "num_leaves": 54},
}


def _time_limit_callback(limit_s: float, start: float, state: dict[str, Any]):
    import lightgbm

    def _callback(env: Any) -> None:
        if time.perf_counter() - start > limit_s:
            state["timed_out"] = True
            raise lightgbm.callback.EarlyStopException(env.iteration, env.evaluation_result_list or [])

    _callback.order = 100  # after early stopping
    return _callback


class LightGBMLearner(Learner):
    name = "lightgbm"
    id_prefix = "lgbm"
    max_rounds = MAX_ROUNDS
    es_patience = ES_PATIENCE
    reserved = ("n_jobs", "random_state", "verbose", "verbosity", "num_threads",
                "seed", "num_class", "early_stopping_round", "early_stopping_rounds")
    # an L1/L2 penalty of 1e-3 (the log-scale space's lower bound) is as good as none
    zero_is_low = ("reg_alpha", "reg_lambda")
    aliases = ALIASES
    foreign_names = {"tabrepo": {n: ALIASES.get(n, n) for n in _TABREPO_NAMES}}
    # AutoGluon sets learning_rate=0.05 (and rounds by early stopping); the rest are LightGBM's defaults
    foreign_defaults = {"tabrepo": {"learning_rate": 0.05}}
    # the Poisson objective (log link) from a skewness of 1: docs/learners.md, "Regression loss"
    poisson_min_skew = 1.0
    pool_sobol = 64

    def known_good_configs(self, kind: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """AutoGluon's LightGBM defaults and TabRepo's two best random configurations (early stopping)."""
        return [(self.from_foreign_params("tabrepo", hp, kind), {"source": "tabrepo", "name": name,
                                                                  "hyperparameters": hp})
                for name, hp in TABREPO_KNOWN_GOOD.items()]

    def param_specs(self) -> dict[str, Param]:
        return {
            "n_estimators": Param("int", 1, 100_000),
            "learning_rate": Param("float", 0.0, 10.0, low_open=True),
            "num_leaves": Param("int", 2, 131_072),
            "max_depth": Param("int", -1, 1000),
            "min_child_samples": Param("int", 1, 1_000_000),
            "min_child_weight": Param("float", 0.0),
            "min_split_gain": Param("float", 0.0),
            "colsample_bytree": Param("float", 0.0, 1.0, low_open=True),
            "subsample": Param("float", 0.0, 1.0, low_open=True),
            "subsample_freq": Param("int", 0, 1_000_000),
            "reg_alpha": Param("float", 0.0),
            "reg_lambda": Param("float", 0.0),
            "extra_trees": Param("bool"),
            "max_bin": Param("int", 2, 100_000),
            "path_smooth": Param("float", 0.0),
            "cat_smooth": Param("float", 0.0),
            "cat_l2": Param("float", 0.0),
            "max_cat_threshold": Param("int", 1, 100_000),
            "min_data_per_group": Param("int", 1, 1_000_000),
            "boosting_type": Param("choice", choices=("gbdt",)),
            "class_weight": Param("choice", choices=("balanced",), allow_none=True),
            # regression only; without it the target decides (:meth:`Learner.fits_poisson`)
            "objective": Param("choice", choices=(), choices_by_kind={"regression": REGRESSION_OBJECTIVES}),
        }

    def search_space(self, kind: str | None = None) -> dict[str, Any]:
        return {
            "learning_rate": FloatDistribution(0.005, 0.3, log=True),
            "num_leaves": IntDistribution(4, 256, log=True),
            "min_child_samples": IntDistribution(2, 100, log=True),
            "colsample_bytree": FloatDistribution(0.3, 1.0),
            "subsample": FloatDistribution(0.5, 1.0),
            "reg_alpha": FloatDistribution(1e-3, 10.0, log=True),
            "reg_lambda": FloatDistribution(1e-3, 10.0, log=True),
            "extra_trees": CategoricalDistribution([False, True]),
        }

    def default_params(self, kind: str | None = None) -> dict[str, Any]:
        # LightGBM 4.x defaults, written out (100 rounds, no early stopping)
        return {"n_estimators": 100, "learning_rate": 0.1, "num_leaves": 31, "min_child_samples": 20,
                "colsample_bytree": 1.0, "subsample": 1.0, "reg_alpha": 0.0, "reg_lambda": 0.0,
                "extra_trees": False}

    def adapt_to_data(self, params: dict[str, Any], kind: str, n_rows: int, cv: int = 5) -> dict[str, Any]:
        """Cap ``min_child_samples`` so a training fold can grow :data:`MIN_LEAVES` leaves.

        Rows of a fit: the largest training fold, less the early-stopping split where the
        configuration has no ``n_estimators``.  Where the cap applies, ``num_leaves`` is cut
        to ``n_rows // min_child_samples``: no tree on these data can have more leaves, so
        that cut changes no model.
        """
        out = dict(params)
        space = self.search_space(kind)
        n_fit = training_rows(n_rows, cv)
        if "n_estimators" not in out:
            n_fit -= max(1, int(round(holdout_fraction(n_fit) * n_fit)))
        defaults = self.default_params(kind)
        cap = max(int(space["min_child_samples"].low), n_fit // MIN_LEAVES)
        if out.get("min_child_samples", defaults["min_child_samples"]) > cap:
            out["min_child_samples"] = cap
            leaves = max(int(space["num_leaves"].low), n_rows // cap)
            if out.get("num_leaves", defaults["num_leaves"]) > leaves:
                out["num_leaves"] = leaves
        return out

    def data_notes(self, X: Any, y: Any, kind: str) -> list[str]:
        return [poisson_note(self.name, "loss", y)] if self.fits_poisson(y, kind) else []

    def preprocess(self) -> NativePreprocessor:
        return NativePreprocessor()

    def make_estimator(self, params: dict[str, Any], kind: str, random_state: int = 0) -> Any:
        import lightgbm

        self.check_kind(kind)
        params = dict(self.validate_params(params, kind))
        if params.get("subsample", 1.0) < 1.0 and "subsample_freq" not in params:
            params["subsample_freq"] = 1  # bagging is inactive in LightGBM without a frequency
        params.setdefault("n_estimators", self.max_rounds)
        cls = lightgbm.LGBMRegressor if kind == "regression" else lightgbm.LGBMClassifier
        return cls(**params, random_state=random_state, n_jobs=1, verbose=-1)

    def refit_params(self, params: dict[str, Any], rounds: float | None) -> dict[str, Any]:
        """All rows for the mean rounds of the search's folds (AutoGluon's ``refit_full``), where the folds
        stopped early: early stopping on an inner split would train on 80-90 % of the rows and redraw that
        split with every seed of a seed bag (``docs/tuning.md``, "Refit rounds")."""
        if rounds is None or "n_estimators" in params:
            return dict(params)
        return dict(params, n_estimators=max(1, int(round(rounds))))

    def fit_estimator(self, est, Z, y, params, kind, Z_valid, y_valid, time_limit_s, random_state):
        import lightgbm

        if kind == "regression" and "objective" not in params:
            est.set_params(objective="poisson" if self.fits_poisson(y, kind) else "regression")
        early = "n_estimators" not in params
        callbacks = []
        state: dict[str, Any] = {"timed_out": False}
        if time_limit_s is not None:
            callbacks.append(_time_limit_callback(float(time_limit_s), time.perf_counter(), state))
        fit_kw: dict[str, Any] = {}
        if early:
            if Z_valid is None or y_valid is None or len(y_valid) == 0:
                tr, va = inner_split(y, kind, holdout_fraction(len(y)), random_state)
                Z, Z_valid = Z.iloc[tr], Z.iloc[va]
                y, y_valid = y[tr], y[va]
            if kind != "regression":  # the validation labels must be a subset of the training labels
                keep = np.isin(y_valid, np.unique(y))
                if not keep.all():
                    Z_valid, y_valid = Z_valid.iloc[np.flatnonzero(keep)], y_valid[keep]
            callbacks.append(lightgbm.early_stopping(self.es_patience, first_metric_only=True, verbose=False))
            fit_kw = _eval_kwargs(Z_valid, y_valid)
        if "min_data_per_group" not in params:
            est.set_params(min_data_per_group=min_data_per_group(Z, len(y)))
        est.fit(Z, y, callbacks=callbacks or None, **fit_kw)
        best = getattr(est, "best_iteration_", None)
        used = float(best) if best else float(est.booster_.current_iteration())
        return est, used, bool(state["timed_out"]), early


def min_data_per_group(Z: Any, n_fit: int) -> int:
    """LightGBM's ``min_data_per_group`` for a fit on ``n_fit`` rows: its default, capped at ``n_fit // MIN_LEAVES``.

    Both sides of a many-vs-many categorical split (a column with more than
    ``max_cat_to_onehot`` levels) must hold that many rows.  The default of 100 is
    made for large data: on a fit of fewer than 200 rows no such split is possible,
    and a small table's categorical columns are never used (``docs/learners.md``,
    "Categorical columns on small tables").  Without categorical columns nothing changes.
    """
    if not any(_is_cat(Z[c]) for c in Z.columns):
        return LGBM_MIN_DATA_PER_GROUP
    return max(1, min(LGBM_MIN_DATA_PER_GROUP, int(n_fit) // MIN_LEAVES))


def _eval_kwargs(Z_valid: Any, y_valid: np.ndarray) -> dict[str, Any]:
    import inspect

    import lightgbm

    if "eval_X" in inspect.signature(lightgbm.LGBMModel.fit).parameters:  # lightgbm >= 4.7
        return {"eval_X": (Z_valid,), "eval_y": (y_valid,)}
    return {"eval_set": [(Z_valid, y_valid)]}
