"""scikit-learn forests: ``random_forest`` and ``extra_trees``.

Both get :class:`~metaopt.learners._base.EncodingPreprocessor` (median
imputation, capped one-hot / ordinal encoding).  ``n_estimators`` is fixed at
100 (scikit-learn's default and the value of the OpenML random-forest
histories) and not part of the search space: more trees never hurt a forest in
expectation, they only cost time.  Under a time limit the forest is grown in
chunks of 25 trees (``warm_start``; the result is identical to a one-shot fit)
and growth stops once the limit has passed.  A regression forest whose target is never negative and
right-skewed splits on the Poisson deviance unless the configuration names a ``criterion``
(``_target.py``; measured in ``docs/learners.md``, "Regression loss").
"""

from __future__ import annotations

import math
import time
from typing import Any

from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from metaopt.learners._base import MIN_LEAVES, Learner, Param, training_rows
from metaopt.learners._preprocess import EncodingPreprocessor
from metaopt.learners._target import poisson_note

_CLS_CRITERIA = ("gini", "entropy", "log_loss")
_REG_CRITERIA = ("squared_error", "friedman_mse", "absolute_error", "poisson")
_CHUNK = 25


class _ForestLearner(Learner):
    """Everything the two forests share; a subclass names its estimators and default ``bootstrap``."""

    classifier: str = ""
    regressor: str = ""
    default_bootstrap: bool = True
    # the Poisson split criterion from a skewness of 2 (less gains below): docs/learners.md, "Regression loss"
    poisson_min_skew = 2.0

    def default_params(self, kind: str | None = None) -> dict[str, Any]:
        regression = kind == "regression"
        return {"n_estimators": 100, **({} if regression else {"criterion": "gini"}),
                "max_features": 1.0 if regression else "sqrt", "min_samples_leaf": 1,
                "min_samples_split": 2, "bootstrap": self.default_bootstrap}

    def param_specs(self) -> dict[str, Param]:
        return {
            "n_estimators": Param("int", 1, 100_000),
            "criterion": Param("choice", choices_by_kind={
                "binary": _CLS_CRITERIA, "multiclass": _CLS_CRITERIA, "regression": _REG_CRITERIA}),
            "max_features": _MaxFeatures(),
            "min_samples_leaf": Param("int", 1, 1_000_000),
            "min_samples_split": Param("int", 2, 1_000_000),
            "max_depth": Param("int", 1, 100_000, allow_none=True),
            "max_leaf_nodes": Param("int", 2, 10_000_000, allow_none=True),
            "min_weight_fraction_leaf": Param("float", 0.0, 0.5),
            "min_impurity_decrease": Param("float", 0.0),
            "bootstrap": Param("bool"),
            "max_samples": Param("float", 0.0, 1.0, low_open=True, allow_none=True),
            "class_weight": Param("choice", choices=("balanced", "balanced_subsample"), allow_none=True),
            "ccp_alpha": Param("float", 0.0),
        }

    def search_space(self, kind: str | None = None) -> dict[str, Any]:
        space: dict[str, Any] = {}
        if kind is None or kind != "regression":
            space["criterion"] = CategoricalDistribution(["gini", "entropy"])
        space.update({
            "max_features": FloatDistribution(0.05, 1.0),
            "min_samples_leaf": IntDistribution(1, 20),
            "min_samples_split": IntDistribution(2, 20),
            "bootstrap": CategoricalDistribution([True, False]),
        })
        return space

    def make_estimator(self, params: dict[str, Any], kind: str, random_state: int = 0) -> Any:
        import sklearn.ensemble as ens

        self.check_kind(kind)
        params = dict(self.validate_params(params, kind))
        cls = getattr(ens, self.regressor if kind == "regression" else self.classifier)
        if params.get("max_samples") is not None and not params.get("bootstrap", self.default_bootstrap):
            params.pop("max_samples")  # only meaningful with bootstrap
        return cls(**params, random_state=random_state, n_jobs=1)

    def preprocess(self) -> EncodingPreprocessor:
        return EncodingPreprocessor(max_onehot=10)

    def into_space(self, params: dict[str, Any], kind: str | None = None,
                   n_features: int | None = None) -> dict[str, Any]:
        """``max_features='sqrt'``/``'log2'`` become the fraction that picks as many of ``n_features`` columns.

        scikit-learn uses ``int(sqrt(n))`` features for 'sqrt' and ``int(f * n)`` for a
        fraction ``f``; ``(m + 0.5) / n`` gives the same ``m`` (clipped into the space,
        which then is no longer the same on more than ~400 columns).
        """
        out = super().into_space(params, kind, n_features)
        value = out.get("max_features")
        if isinstance(value, str) and n_features:
            n = int(n_features)
            m = max(1, int(math.sqrt(n) if value == "sqrt" else math.log2(n)))
            dist = self.search_space(kind)["max_features"]
            out["max_features"] = min(max(float(f"{min(1.0, (m + 0.5) / n):.4g}"), dist.low), dist.high)
        return out

    def known_good_configs(self, kind: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """Literature variants of the default: half the features; Breiman's regression settings or entropy."""
        base = self.default_params(kind)
        if kind == "regression":
            # Breiman's regression recommendation (randomForest in R): mtry = p/3, nodesize 5
            found = [({**base, "max_features": 0.333, "min_samples_leaf": 5}, "breiman-regression-mtry-p/3-nodesize5"),
                     ({**base, "max_features": 0.5}, "max_features-0.5")]
        else:
            # scikit-learn's default already is Breiman's sqrt(p); add the half-of-features variant
            # common in tuned defaults and the entropy criterion
            found = [({**base, "max_features": 0.5}, "max_features-0.5"),
                     ({**base, "criterion": "entropy"}, "entropy-criterion")]
        return [(params, {"source": "literature", "name": note}) for params, note in found]

    def adapt_to_data(self, params: dict[str, Any], kind: str, n_rows: int, cv: int = 5) -> dict[str, Any]:
        """Cap ``min_samples_leaf`` (and ``min_samples_split``) so a training fold can grow a few leaves."""
        out = dict(params)
        n_fit = training_rows(n_rows, cv)
        caps = {"min_samples_leaf": max(1, n_fit // MIN_LEAVES), "min_samples_split": max(2, n_fit // 2)}
        for name, cap in caps.items():
            if name in out and out[name] > cap:
                out[name] = cap
        return out

    def data_notes(self, X: Any, y: Any, kind: str) -> list[str]:
        return [poisson_note(self.name, "split criterion", y)] if self.fits_poisson(y, kind) else []

    def fit_estimator(self, est, Z, y, params, kind, Z_valid, y_valid, time_limit_s, random_state):
        if "criterion" not in params and self.fits_poisson(y, kind):
            est.set_params(criterion="poisson")
        total = int(est.get_params()["n_estimators"])
        if time_limit_s is None or total <= _CHUNK:
            est.fit(Z, y)
            return est, float(total), False, False
        start = time.perf_counter()
        est.set_params(warm_start=True)
        grown, timed_out = 0, False
        while grown < total:
            grown = min(total, grown + _CHUNK)
            est.set_params(n_estimators=grown)
            est.fit(Z, y)
            if grown < total and time.perf_counter() - start > time_limit_s:
                timed_out = True
                break
        est.set_params(warm_start=False)
        return est, float(grown), timed_out, False


class RandomForestLearner(_ForestLearner):
    """Random forest; the space follows the OpenML (van Rijn & Hutter 2018) histories."""

    name = "random_forest"
    id_prefix = "rf"
    classifier = "RandomForestClassifier"
    regressor = "RandomForestRegressor"
    default_bootstrap = True
    # openml-pimp's runs (flow 6969): the forest's parameters behind its pipeline step name
    foreign_names = {"openml_pimp": {f"randomforestclassifier__{n}": n for n in (
        "bootstrap", "criterion", "max_features", "min_samples_leaf", "min_samples_split", "n_estimators")}}


class ExtraTreesLearner(_ForestLearner):
    """Extremely randomised trees (random split thresholds; no bootstrap by default)."""

    name = "extra_trees"
    id_prefix = "et"
    classifier = "ExtraTreesClassifier"
    regressor = "ExtraTreesRegressor"
    default_bootstrap = False


class _MaxFeatures(Param):
    """``max_features``: a fraction in (0, 1], an integer count, or 'sqrt'/'log2'."""

    def __init__(self) -> None:
        super().__init__("float", 0.0, 1.0, low_open=True)

    def check(self, name: str, value: Any, kind: str | None) -> Any:
        if isinstance(value, str):
            if value in ("sqrt", "log2"):
                return value
            from metaopt.exceptions import ConfigError

            raise ConfigError(f"parameter {name!r} must be a fraction in (0, 1], 'sqrt' or 'log2', got {value!r}")
        return super().check(name, value, kind)
