"""Learner registry, search spaces, defaults, validation, preprocessing, early stopping."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from optuna.distributions import BaseDistribution

from metaopt.exceptions import ConfigError
from metaopt.learners import (
    MAX_ROUNDS,
    EncodingPreprocessor,
    NativePreprocessor,
    get_learner,
    holdout_fraction,
    list_learners,
)

KINDS = ("binary", "multiclass", "regression")


def make_data(kind: str, n: int = 240, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    b = rng.normal(size=n)
    c = rng.choice(["x", "y", "z"], size=n)
    hi = rng.choice([f"l{i}" for i in range(30)], size=n)  # high cardinality -> ordinal
    X = pd.DataFrame({"a [1]": a, "b,{2}": b, "c": pd.Categorical(c), "hi:card": pd.Categorical(hi)})
    X.loc[X.index[::7], "a [1]"] = np.nan
    X.loc[X.index[::11], "c"] = np.nan
    X.loc[X.index[3], "b,{2}"] = np.inf
    signal = np.nan_to_num(a) + (c == "x") * 1.5 + rng.normal(scale=0.3, size=n)
    if kind == "regression":
        y = pd.Series(signal, name="t", dtype="float64")
    elif kind == "binary":
        y = pd.Series(pd.Categorical(np.where(signal > 0.4, "pos", "neg")), name="t")
    else:
        y = pd.Series(pd.Categorical(np.digitize(signal, [-0.5, 0.5, 1.5]).astype(str)), name="t")
    return X, y


def random_params(learner, kind, rng):
    from metaopt.kb._pool import from_unit

    return {k: from_unit(d, rng.random()) for k, d in learner.search_space(kind).items()}


def test_registry():
    names = list_learners(include_unoffered=True)
    assert names[0] == "lightgbm"
    assert {"lightgbm", "random_forest", "extra_trees"} <= set(names)
    assert get_learner("random_forest").name == "random_forest"
    assert get_learner(get_learner("lightgbm")) is get_learner("lightgbm")
    with pytest.raises(ConfigError, match="unknown learner"):
        get_learner("xgboost")


@pytest.mark.parametrize("name", ["lightgbm", "random_forest", "extra_trees", "linear"])
@pytest.mark.parametrize("kind", KINDS)
def test_search_space_samples_fit(name, kind):
    learner = get_learner(name)
    space = learner.search_space(kind)
    assert space and all(isinstance(d, BaseDistribution) for d in space.values())
    assert "n_estimators" not in space and "n_jobs" not in space
    X, y = make_data(kind)
    rng = np.random.default_rng(1)
    for _ in range(2):
        params = random_params(learner, kind, rng)
        assert learner.validate_params(params, kind) == params
        model = learner.fit(X.iloc[:180], y.iloc[:180], params, kind, random_state=0)
        pred = model.predict(X.iloc[180:])
        assert len(pred) == 60
        if kind != "regression":
            proba = model.predict_proba(X.iloc[180:])
            assert proba.shape == (60, len(model.classes_))
            np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
            assert set(pred) <= set(y.cat.categories)
        else:
            assert np.isfinite(pred).all()


def test_log_scales():
    space = get_learner("lightgbm").search_space()
    for p in ("learning_rate", "reg_alpha", "reg_lambda", "num_leaves", "min_child_samples"):
        assert space[p].log, p


@pytest.mark.parametrize("name", ["lightgbm", "random_forest", "extra_trees", "linear"])
@pytest.mark.parametrize("kind", KINDS)
def test_defaults_are_valid_and_fit(name, kind):
    learner = get_learner(name)
    params = learner.default_params(kind)
    assert learner.validate_params(params, kind) == params
    X, y = make_data(kind)
    model = learner.fit(X, y, params, kind)
    # library defaults: 100 rounds / trees; a linear model has no rounds
    assert model.n_estimators_used == (None if name == "linear" else 100)
    assert not model.early_stopping


def test_default_params_match_library():
    import lightgbm
    import sklearn.ensemble as ens

    lg = lightgbm.LGBMClassifier().get_params()
    for k, v in get_learner("lightgbm").default_params().items():
        assert lg.get(k, {"extra_trees": False}.get(k)) == v, k  # extra_trees: a core-library default
    rf = ens.RandomForestClassifier().get_params()
    for k, v in get_learner("random_forest").default_params("binary").items():
        assert rf[k] == v, k
    et = ens.ExtraTreesRegressor().get_params()
    for k, v in get_learner("extra_trees").default_params("regression").items():
        assert et[k] == v, k
    from sklearn.linear_model import LogisticRegression, Ridge

    assert get_learner("linear").default_params("binary")["C"] == LogisticRegression().get_params()["C"]
    assert get_learner("linear").default_params("regression")["alpha"] == Ridge().get_params()["alpha"]


@pytest.mark.parametrize("name,params,match", [
    ("lightgbm", {"num_leavs": 31}, "unknown parameter 'num_leavs'"),
    ("lightgbm", {"n_jobs": 4}, "set by metaopt"),
    ("lightgbm", {"num_leaves": 1}, ">= 2"),
    ("lightgbm", {"learning_rate": 0}, "> 0"),
    ("lightgbm", {"learning_rate": float("nan")}, "finite"),
    ("lightgbm", {"colsample_bytree": 1.5}, "<= 1"),
    ("lightgbm", {"num_leaves": 3.5}, "integer"),
    ("lightgbm", {"extra_trees": "yes"}, "true or false"),
    ("lightgbm", {"learning_rate": "fast"}, "number"),
    ("random_forest", {"criterion": "gini"}, "regression"),
    ("random_forest", {"max_features": "all"}, "sqrt"),
    ("random_forest", {"min_samples_split": 1}, ">= 2"),
    ("extra_trees", {"bootstrap": 1}, "true or false"),
    ("linear", {"C": 0}, "> 0"),
    ("linear", {"scaler": "minmax"}, "one of"),
    ("linear", {"penalty": "l1"}, "unknown parameter"),
])
def test_validate_params_errors(name, params, match):
    kind = "regression" if "criterion" in params else "binary"
    with pytest.raises(ConfigError, match=match):
        get_learner(name).validate_params(params, kind)


def test_validate_params_coerces_json_numbers():
    lg = get_learner("lightgbm")
    out = lg.validate_params({"num_leaves": 31.0, "learning_rate": 1, "extra_trees": True})
    assert out == {"num_leaves": 31, "learning_rate": 1.0, "extra_trees": True}
    assert isinstance(out["num_leaves"], int)
    with pytest.raises(ConfigError):
        lg.validate_params(["learning_rate", 0.1])


def test_encoding_preprocessor_missing_and_categoricals():
    X, _ = make_data("binary", n=100)
    pre = EncodingPreprocessor(max_onehot=10).fit(X.iloc[:80])
    Z = pre.transform(X.iloc[80:])
    # a, b numeric; c one-hot (3 levels + missing); hi:card ordinal
    assert Z.shape == (20, 2 + 4 + 1)
    assert np.isfinite(Z).all()
    # imputation uses the training median only
    med = np.nanmedian(X["a [1]"].iloc[:80])
    rows = X.iloc[80:]["a [1]"].isna().to_numpy()
    assert rows.any() and np.allclose(Z[rows, 0], med)
    # inf -> median as well
    Zall = pre.transform(X)
    assert np.isfinite(Zall).all()
    # unseen category -> all zeros in the one-hot block, -1 ordinal
    X2 = X.iloc[:3].copy()
    X2["c"] = pd.Categorical(["new", "new", "new"])
    X2["hi:card"] = pd.Categorical(["zz", "zz", "zz"])
    Z2 = pre.transform(X2)
    assert (Z2[:, 2:6] == 0).all() and (Z2[:, 6] == -1).all()


def test_native_preprocessor_keeps_categoricals_and_renames():
    X, _ = make_data("binary", n=50)
    pre = NativePreprocessor().fit(X)
    Z = pre.transform(X)
    assert list(Z.columns) == ["f0", "f1", "f2", "f3"]
    assert isinstance(Z["f2"].dtype, pd.CategoricalDtype)
    assert Z["f2"].cat.categories.tolist() == X["c"].cat.categories.tolist()
    assert not np.isinf(Z["f1"]).any()
    # at predict time the training categories are enforced (unseen -> missing)
    X2 = X.iloc[:2].copy()
    X2["c"] = pd.Categorical(["x", "new"])
    Z2 = pre.transform(X2)
    assert Z2["f2"].cat.categories.tolist() == X["c"].cat.categories.tolist()
    assert Z2["f2"].isna().tolist() == [False, True]


def test_lightgbm_early_stopping_used():
    lg = get_learner("lightgbm")
    X, y = make_data("binary", n=400)
    model = lg.fit(X, y, {"learning_rate": 0.3}, "binary")
    assert model.early_stopping
    assert 1 <= model.n_estimators_used < MAX_ROUNDS  # stopped long before the cap
    # explicit validation data is used when given
    model2 = lg.fit(X.iloc[:300], y.iloc[:300], {"learning_rate": 0.3}, "binary",
                    X_valid=X.iloc[300:], y_valid=y.iloc[300:])
    assert model2.early_stopping and model2.n_estimators_used < MAX_ROUNDS
    # with n_estimators: exactly that many rounds, no early stopping
    model3 = lg.fit(X, y, {"learning_rate": 0.3, "n_estimators": 17}, "binary")
    assert not model3.early_stopping and model3.n_estimators_used == 17


def test_refit_params_fix_the_rounds_only_where_the_folds_stopped_early():
    lg, rf = get_learner("lightgbm"), get_learner("random_forest")
    assert lg.refit_params({"learning_rate": 0.3}, 211.6) == {"learning_rate": 0.3, "n_estimators": 212}
    assert lg.refit_params({"learning_rate": 0.3}, None) == {"learning_rate": 0.3}  # a study from before
    assert lg.refit_params({"n_estimators": 100}, 211.6) == {"n_estimators": 100}  # e.g. the library default
    assert lg.refit_params({"learning_rate": 0.3}, 0.2)["n_estimators"] == 1
    assert rf.refit_params({"max_features": 0.5}, 211.6) == {"max_features": 0.5}


def test_lightgbm_regression_and_multiclass_early_stopping():
    lg = get_learner("lightgbm")
    for kind in ("regression", "multiclass"):
        X, y = make_data(kind, n=300)
        m = lg.fit(X, y, {}, kind)
        assert m.early_stopping and m.n_estimators_used < MAX_ROUNDS


def test_time_limits():
    X, y = make_data("binary", n=300)
    m = get_learner("lightgbm").fit(X, y, {"learning_rate": 0.001}, "binary", time_limit_s=0.0)
    assert m.timed_out and m.n_estimators_used < 5
    assert m.predict(X).shape == (300,)
    rf = get_learner("random_forest").fit(X, y, {}, "binary", time_limit_s=0.0)
    assert rf.timed_out and rf.n_estimators_used == 25
    rf_full = get_learner("random_forest").fit(X, y, {}, "binary", time_limit_s=600)
    assert not rf_full.timed_out and rf_full.n_estimators_used == 100
    # chunked growth gives the same forest as a one-shot fit
    one = get_learner("random_forest").fit(X, y, {}, "binary")
    np.testing.assert_allclose(one.predict_proba(X), rf_full.predict_proba(X))


def test_holdout_fraction():
    assert holdout_fraction(100) == 0.2
    assert holdout_fraction(4000) == 0.125
    assert holdout_fraction(10_000) == 0.1
    assert holdout_fraction(1_000_000) == 0.01


def test_unsupported_kind():
    with pytest.raises(ConfigError):
        get_learner("lightgbm").make_estimator({}, "ranking")
