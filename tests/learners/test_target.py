"""The regression target's shape picks the loss: LightGBM's objective and the forests' split criterion."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from shared_support import kb_protocol_scores

from metaopt.exceptions import ConfigError
from metaopt.learners import get_learner
from metaopt.learners._target import poisson_target, skewness

RNG = np.random.default_rng(0)
COUNTS = RNG.poisson(RNG.gamma(1.0, 3.0, 400)).astype(float)
X = pd.DataFrame(RNG.normal(size=(400, 2)), columns=["a", "b"])


def test_the_rule_on_the_target_shape():
    assert 2.0 < skewness(COUNTS) < 3.0
    assert poisson_target(COUNTS, 1.0) and poisson_target(COUNTS, 2.0) and not poisson_target(COUNTS, 3.0)
    assert not poisson_target(COUNTS - 1.0, 1.0)  # the Poisson deviance needs y >= 0
    assert not poisson_target(RNG.normal(50.0, 5.0, 400), 1.0)  # symmetric
    assert not poisson_target(np.full(50, 3.0), 1.0)  # constant: no skewness
    assert not poisson_target(np.array([0.0, 9.0]), 1.0)  # too few values to say


def test_each_learner_has_its_threshold():
    """LightGBM's log-link loss pays from a skewness of 1, the forests' split criterion from 2; linear has none."""
    assert get_learner("lightgbm").poisson_min_skew == 1.0
    assert get_learner("random_forest").poisson_min_skew == get_learner("extra_trees").poisson_min_skew == 2.0
    assert get_learner("linear").poisson_min_skew is None and not get_learner("linear").fits_poisson(COUNTS, "regression")
    skew_1_5 = np.r_[np.zeros(200), np.random.default_rng(1).gamma(4.0, 1.0, 200)]
    assert 1.0 < skewness(skew_1_5) < 2.0
    assert get_learner("lightgbm").fits_poisson(skew_1_5, "regression")
    assert not get_learner("random_forest").fits_poisson(skew_1_5, "regression")
    assert not get_learner("lightgbm").fits_poisson(COUNTS, "binary")


def test_lightgbm_objective_follows_the_target_unless_configured():
    lg = get_learner("lightgbm")
    assert lg.fit(X, COUNTS, {"n_estimators": 20}, "regression").estimator.get_params()["objective"] == "poisson"
    fixed = lg.fit(X, COUNTS, {"n_estimators": 20, "objective": "regression"}, "regression")
    assert fixed.estimator.get_params()["objective"] == "regression"
    assert (lg.fit(X, COUNTS - 1.0, {"n_estimators": 20}, "regression").estimator.get_params()["objective"]
            == "regression")
    assert "lightgbm fits the Poisson loss" in lg.data_notes(X, COUNTS, "regression")[0]
    assert lg.data_notes(X, COUNTS - 1.0, "regression") == []
    with pytest.raises(ConfigError, match="does not apply to binary tasks"):
        lg.validate_params({"objective": "poisson"}, "binary")
    with pytest.raises(ConfigError, match="must be one of"):
        lg.validate_params({"objective": "huber"}, "regression")


@pytest.mark.parametrize("name", ["random_forest", "extra_trees"])
def test_forest_criterion_follows_the_target_unless_configured(name):
    forest = get_learner(name)
    small = {"n_estimators": 10}
    assert forest.fit(X, COUNTS, small, "regression").estimator.get_params()["criterion"] == "poisson"
    fixed = forest.fit(X, COUNTS, {**small, "criterion": "squared_error"}, "regression")
    assert fixed.estimator.get_params()["criterion"] == "squared_error"
    assert forest.fit(X, COUNTS - 1.0, small, "regression").estimator.get_params()["criterion"] == "squared_error"
    assert f"{name} fits the Poisson split criterion" in forest.data_notes(X, COUNTS, "regression")[0]
    assert forest.data_notes(X, COUNTS - 1.0, "regression") == []
    assert forest.data_notes(X, (COUNTS > 2).astype(int), "binary") == []
    # under a time limit the forest grows in chunks; the criterion holds for all of them
    chunked = forest.fit(X, COUNTS, {"n_estimators": 60}, "regression", time_limit_s=60)
    assert chunked.estimator.get_params()["criterion"] == "poisson" and len(chunked.estimator.estimators_) == 60


def test_poisson_loss_scores_better_on_a_skewed_count_target():
    """Real data: transplant (131 rows; target a count, skewness 1.8), 5-fold CV as the KB scores."""
    config = {"learning_rate": 0.05}  # AutoGluon's LightGBM default, early stopping
    squared_error, ours = kb_protocol_scores("transplant", "lightgbm", config, {"objective": "regression"})
    assert ours["r2"] > squared_error["r2"] + 0.05


def test_poisson_criterion_scores_better_for_a_forest_on_a_skewed_target():
    """Real data: arsenic-female-lung (559 rows; skewness 9.3), the forest's defaults, 5-fold CV as the KB scores."""
    config = get_learner("random_forest").default_params("regression")
    squared_error, ours = kb_protocol_scores("arsenic-female-lung", "random_forest", config,
                                             {"criterion": "squared_error"})
    assert ours["r2"] > squared_error["r2"] + 0.1
