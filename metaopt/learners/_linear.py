"""Regularised linear models: ``linear`` (logistic regression / ridge regression).

The only learner that is not a tree ensemble: it wins where the signal is additive in
the (transformed) features - FLAML's ``lrl1`` took waveform-5000 and breast-w from metaopt
in the time race - and it adds members to an ensemble whose errors differ from the
trees'.  Classification is scikit-learn's ``LogisticRegression`` (L2, lbfgs, multinomial),
regression ``Ridge``.  The search space is the penalty (``C`` / ``alpha``) and how numeric
columns are scaled: standardised, or mapped to a normal distribution by their quantiles
(robust to the skewed and heavy-tailed columns trees never notice).  Categorical columns
are one-hot encoded (up to 20 levels; more are ordinal codes) and left unscaled.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from optuna.distributions import CategoricalDistribution, FloatDistribution

from metaopt.learners._base import Learner, Param
from metaopt.learners._preprocess import EncodingPreprocessor

_SCALERS = ("standard", "quantile")
#: lbfgs iterations: scikit-learn's 100 leave many of the pool's weakly penalised fits unconverged
_MAX_ITER = 500


def _not_binary(Z: np.ndarray) -> np.ndarray:
    """Columns to scale: all but the 0/1 indicators of the one-hot encoding."""
    Z = np.asarray(Z)
    if Z.shape[0] == 0:
        return np.zeros(Z.shape[1], dtype=bool)
    return ~np.all((Z == 0.0) | (Z == 1.0), axis=0)


def _scaler(name: str) -> Any:
    """``ColumnTransformer`` scaling the non-indicator columns (sklearn picks them with a callable)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import QuantileTransformer, StandardScaler

    if name == "quantile":
        step = QuantileTransformer(n_quantiles=200, output_distribution="normal", subsample=100_000,
                                   random_state=0)
    else:
        step = StandardScaler()
    return ColumnTransformer([("scale", step, _not_binary)], remainder="passthrough")


class LinearLearner(Learner):
    """L2-regularised logistic regression (classification) and ridge regression."""

    name = "linear"
    seeded = False  # lbfgs and the normal equations: the same fit for every seed
    id_prefix = "lin"
    pool_sobol = 16

    def param_specs(self) -> dict[str, Param]:
        return {
            "C": Param("float", 0.0, low_open=True),
            "alpha": Param("float", 0.0),
            "class_weight": Param("choice", choices=("balanced",), allow_none=True),
            "fit_intercept": Param("bool"),
            "scaler": Param("choice", choices=_SCALERS),
        }

    def search_space(self, kind: str | None = None) -> dict[str, Any]:
        penalty = ({"alpha": FloatDistribution(1e-3, 1e4, log=True)} if kind == "regression"
                   else {"C": FloatDistribution(1e-4, 1e3, log=True)})
        return {**penalty, "scaler": CategoricalDistribution(list(_SCALERS))}

    def default_params(self, kind: str | None = None) -> dict[str, Any]:
        penalty = {"alpha": 1.0} if kind == "regression" else {"C": 1.0}
        return {**penalty, "scaler": "standard"}

    def known_good_configs(self, kind: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """FLAML's ``lrl1`` starts at ``C=1``; a quantile-scaled default is the robust variant."""
        base = self.default_params(kind)
        return [({**base, "scaler": "quantile"}, {"source": "literature", "name": "quantile-normal-scaling"})]

    def make_estimator(self, params: dict[str, Any], kind: str, random_state: int = 0) -> Any:
        from sklearn.linear_model import LogisticRegression, Ridge
        from sklearn.pipeline import Pipeline

        self.check_kind(kind)
        params = dict(self.validate_params(params, kind))
        scaler = params.pop("scaler", "standard")
        if kind == "regression":
            params.pop("C", None)
            params.pop("class_weight", None)
            model = Ridge(**params)
        else:
            params.pop("alpha", None)
            model = LogisticRegression(**params, max_iter=_MAX_ITER, random_state=random_state)
        return Pipeline([("scale", _scaler(scaler)), ("model", model)])

    def preprocess(self) -> EncodingPreprocessor:
        return EncodingPreprocessor(max_onehot=20)

    def fit_estimator(self, est, Z, y, params, kind, Z_valid, y_valid, time_limit_s, random_state):
        # lbfgs and the normal equations call BLAS, which threads by default: one thread per fit
        from sklearn.exceptions import ConvergenceWarning
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1), warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            # a small fold has fewer rows than quantiles: scikit-learn then uses one per row
            warnings.filterwarnings("ignore", message="n_quantiles", category=UserWarning)
            est.fit(Z, y)
        return est, None, False, False
