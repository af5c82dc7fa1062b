"""``MetaTunedClassifier`` / ``MetaTunedRegressor``: scikit-learn conventions and composition."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import check_estimator

from metaopt import recommend
from metaopt.estimators import MetaTunedClassifier, MetaTunedRegressor

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "data" / "credit-g.csv"

# check_estimator fits each estimator ~100 times on tiny synthetic data.  It runs here with the
# smallest budget and without the warm start / MetaSampler, only to keep the test fast: the
# recommendation step (meta-features + knowledge-base lookup, ~0.5-1 s per fit) would dominate.
# The same checks pass with the defaults (warm_start=True, sampler="meta"); no check is expected
# to fail, so no expected-failure list is given.
CHECK_KW = dict(n_trials=1, cv=2, learner="lightgbm", warm_start=False, sampler="tpe")


@pytest.mark.parametrize("est", [MetaTunedClassifier(**CHECK_KW), MetaTunedRegressor(**CHECK_KW)],
                         ids=["classifier", "regressor"])
def test_check_estimator(est):
    check_estimator(est)


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    rng = np.random.default_rng(0)
    idx = rng.choice(len(y), 240, replace=False)
    return X[idx], y[idx]


def test_params_are_stored_unchanged_and_clone():
    est = MetaTunedClassifier(learner="random_forest", n_trials=3, cv=4, metric="accuracy", random_state=7)
    params = est.get_params()
    assert params["learner"] == "random_forest" and params["n_trials"] == 3 and params["cv"] == 4
    assert params["metric"] == "accuracy" and params["random_state"] == 7 and params["warm_start"] is True
    assert clone(est).get_params() == params


def test_pipeline_cross_val_score(cancer):
    X, y = cancer
    pipe = make_pipeline(StandardScaler(), MetaTunedClassifier(n_trials=2, cv=3))
    scores = cross_val_score(pipe, X, y, cv=3, scoring="roc_auc")
    assert scores.shape == (3,) and scores.mean() > 0.9


def test_grid_search_over_learners(cancer):
    X, y = cancer
    grid = GridSearchCV(MetaTunedClassifier(n_trials=1, cv=2, warm_start=False, sampler="tpe"),
                        {"learner": ["lightgbm", "random_forest"]}, cv=2, scoring="accuracy")
    grid.fit(X, y)
    assert grid.best_params_["learner"] in ("lightgbm", "random_forest")
    assert grid.best_estimator_.learner_ == grid.best_params_["learner"]
    assert grid.score(X, y) > 0.85


def test_dataframe_with_nominal_columns_is_warm_started():
    df = pd.read_csv(EXAMPLE).sample(300, random_state=0).reset_index(drop=True)
    X, y = df.drop(columns=["class"]), df["class"]
    clf = MetaTunedClassifier(n_trials=3, cv=3, random_state=0).fit(X, y)
    assert list(clf.classes_) == ["bad", "good"]
    assert list(clf.feature_names_in_) == list(X.columns) and clf.n_features_in_ == 20
    assert clf.summary_["n_warm_started"] >= 1
    assert clf.learner_ == recommend(X, y, k=1)[0].learner  # auto: the KB's top pick (four learners are offered)
    assert clf.metric_ == "roc_auc" and 0.5 < clf.best_score_ < 1
    proba = clf.predict_proba(X.head(10))
    assert proba.shape == (10, 2) and np.allclose(proba.sum(axis=1), 1)
    assert np.array_equal(clf.predict(X.head(10)), clf.classes_[proba.argmax(axis=1)])
    with pytest.raises(ValueError, match="feature names"):
        clf.predict(X.drop(columns=["age"]).assign(other=1.0))


def test_string_labels_multiclass_and_nan_inputs():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(150, 4))
    y = np.array(["a", "b", "c"])[(X[:, 0] > 0.5).astype(int) + (X[:, 1] > 0).astype(int)]
    X[rng.random(X.shape) < 0.05] = np.nan  # missing values are allowed
    clf = MetaTunedClassifier(n_trials=2, cv=3, learner="lightgbm").fit(X, y)
    assert list(clf.classes_) == ["a", "b", "c"] and clf.metric_ == "log_loss"
    assert clf.predict_proba(X).shape == (150, 3)
    assert (clf.predict(X) == y).mean() > 0.7


def test_regressor_on_real_data():
    X, y = load_diabetes(return_X_y=True)
    reg = MetaTunedRegressor(n_trials=2, cv=3).fit(X[:300], y[:300])
    assert reg.metric_ == "rmse" and reg.n_features_in_ == 10
    assert reg.score(X[300:], y[300:]) > 0.2
