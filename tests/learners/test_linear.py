"""The linear learner on real data: what it adds (an additive model), how it scales, that it pickles."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import r2_score, roc_auc_score
from sklearn.model_selection import KFold, StratifiedKFold
from shared_support import shared_data_dir

from metaopt.data import load_data
from metaopt.kb._pool import build_pool
from metaopt.learners import get_learner
from metaopt.learners._linear import _not_binary

CREDIT_G = Path(__file__).resolve().parents[2] / "examples" / "data" / "credit-g.csv"
CORPUS = shared_data_dir() / "corpus"
needs_corpus = pytest.mark.skipif(not (CORPUS / "catalog.csv").is_file(), reason="shared corpus data absent")


def _cv_score(name: str, params: dict, ds, n_splits: int = 5) -> float:
    """Mean test-fold AUC (binary) or R^2 of ``name`` with ``params``."""
    learner, X, y = get_learner(name), ds.X, pd.Series(ds.y)
    split = (KFold(n_splits, shuffle=True, random_state=0).split(X) if ds.kind == "regression"
             else StratifiedKFold(n_splits, shuffle=True, random_state=0).split(X, y))
    scores = []
    for tr, te in split:
        model = learner.fit(X.iloc[tr], y.iloc[tr], params, ds.kind)
        if ds.kind == "regression":
            scores.append(r2_score(y.iloc[te], model.predict(X.iloc[te])))
        else:
            proba = model.predict_proba(X.iloc[te])[:, 1]
            scores.append(roc_auc_score(y.iloc[te] == model.classes_[1], proba))
    return float(np.mean(scores))


def test_credit_g_default_is_a_real_model():
    ds = load_data(str(CREDIT_G), target="class")
    linear = _cv_score("linear", get_learner("linear").default_params("binary"), ds)
    assert linear > 0.75  # logistic regression's known level on credit-g; a constant scores 0.5
    strong_penalty = _cv_score("linear", {"C": 1e-4, "scaler": "standard"}, ds)
    assert strong_penalty < linear  # the search space's penalty matters


@needs_corpus
def test_quantile_scaling_helps_a_skewed_regression_target():
    """abalone's shell weights are skewed: the normal-quantile scaling fits them better than z-scores."""
    ds = load_data(str(CORPUS / "abalone.arff"), target="Class_Rings")
    standard = _cv_score("linear", {"alpha": 1.0, "scaler": "standard"}, ds)
    quantile = _cv_score("linear", {"alpha": 1.0, "scaler": "quantile"}, ds)
    assert 0.45 < standard < quantile


@pytest.mark.filterwarnings("ignore:n_quantiles")
def test_indicator_columns_are_not_scaled():
    Z = np.column_stack([np.r_[0.0, 1.0, 1.0, 0.0], np.r_[3.0, 10.0, -2.0, 7.5], np.r_[0.0, 0.0, 0.0, 0.0]])
    assert _not_binary(Z).tolist() == [False, True, False]
    est = get_learner("linear").make_estimator({"C": 1.0, "scaler": "quantile"}, "binary")
    scaled = est.named_steps["scale"].fit_transform(Z)
    np.testing.assert_array_equal(scaled[:, 1:], Z[:, [0, 2]])  # indicators pass through, after the scaled
    assert abs(scaled[:, 0].mean()) < 1e-9


def test_model_pickles_and_predicts_the_same():
    ds = load_data(str(CREDIT_G), target="class")
    model = get_learner("linear").fit(ds.X, ds.y, {"C": 0.1, "scaler": "quantile"}, ds.kind)
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(again.predict_proba(ds.X.iloc[:50]), model.predict_proba(ds.X.iloc[:50]))


@pytest.mark.parametrize("kind,penalty", [("binary", "C"), ("regression", "alpha")])
def test_pool_spans_the_penalty(kind, penalty):
    pool = build_pool("linear", kind)
    values = sorted(c.params[penalty] for c in pool)
    assert len(pool) == 18 and values[0] < 1e-2 and values[-1] > 1e2
    assert {c.params["scaler"] for c in pool} == {"standard", "quantile"}
