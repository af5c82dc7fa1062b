"""A KB configuration made ready for one dataset: inside the search space, adapted to the data size."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from metaopt import load_data
from metaopt.exceptions import ConfigError
from metaopt.learners import check_offered, get_learner, list_learners, training_rows
from shared_support import kb_protocol_scores

CREDIT_G = Path(__file__).resolve().parents[2] / "examples" / "data" / "credit-g.csv"


@pytest.fixture(scope="module")
def credit_g():
    return load_data(str(CREDIT_G), target="class")


def _inside(space, params):
    return all(space[n]._contains(space[n].to_internal_repr(v)) for n, v in params.items() if n in space)


def test_lightgbm_zero_regulariser_is_the_space_lower_bound():
    lg = get_learner("lightgbm")
    default = lg.default_params("binary")  # what the KB's "default" configuration holds
    assert default["reg_alpha"] == 0.0
    params = lg.into_space(default, "binary")
    space = lg.search_space("binary")
    assert params["reg_alpha"] == space["reg_alpha"].low and params["reg_lambda"] == space["reg_lambda"].low
    assert _inside(space, params)
    assert lg.into_space({"reg_alpha": 0.5}, "binary") == {"reg_alpha": 0.5}  # other values untouched


@pytest.mark.parametrize("value", ["sqrt", "log2"])
def test_forest_max_features_string_becomes_the_same_fraction(credit_g, value):
    """The fraction picks exactly as many columns as 'sqrt'/'log2': the fitted forests are identical."""
    import sklearn.ensemble as ens

    rf = get_learner("random_forest")
    width = rf.model_width(credit_g.X)
    Z = rf.preprocess().fit_transform(credit_g.X)
    assert Z.shape[1] == width == 61  # 7 numeric + one-hot columns of the 13 nominal ones
    frac = rf.into_space({"max_features": value}, "binary", width)["max_features"]
    assert isinstance(frac, float) and _inside(rf.search_space("binary"), {"max_features": frac})
    y = credit_g.y.cat.codes.to_numpy()
    fits = [ens.RandomForestClassifier(n_estimators=8, max_features=mf, random_state=0, n_jobs=1).fit(Z, y)
            for mf in (value, frac)]
    assert fits[0].estimators_[0].max_features_ == fits[1].estimators_[0].max_features_
    np.testing.assert_array_equal(fits[0].predict_proba(Z), fits[1].predict_proba(Z))
    # any width up to ~400 columns (beyond, 'sqrt' is below the space's 0.05 and is clipped)
    for n in range(1, 400):
        f = rf.into_space({"max_features": value}, "binary", n)["max_features"]
        m = max(1, int(math.sqrt(n) if value == "sqrt" else math.log2(n)))
        assert f == 0.05 or max(1, int(f * n)) == m, (n, f)


def test_lightgbm_min_child_samples_capped_on_small_data(credit_g):
    """On 32 rows min_child_samples=50 allows no split at all; capped, a training fold grows leaves."""
    lg = get_learner("lightgbm")
    kb_config = {"learning_rate": 0.1, "min_child_samples": 50, "num_leaves": 140}
    params, changed = lg.ready_params(kb_config, "binary", n_rows=32)
    n_fit = training_rows(32) - round(0.2 * training_rows(32))  # less the early-stopping split
    assert params["min_child_samples"] == n_fit // 4 == 5
    assert params["num_leaves"] == 32 // 5 and set(changed) == {"min_child_samples", "num_leaves"}
    assert changed["min_child_samples"] == (50, 5)
    small = credit_g.X.iloc[:32], credit_g.y.iloc[:32]
    fixed = {"n_estimators": 5}
    before = lg.fit(*small, {**kb_config, **fixed}, "binary")
    after = lg.fit(*small, {**params, **fixed}, "binary")
    leaves = [t["num_leaves"] for t in before.estimator.booster_.dump_model()["tree_info"]]
    assert max(leaves) == 1  # the KB configuration: stumps only
    assert max(t["num_leaves"] for t in after.estimator.booster_.dump_model()["tree_info"]) > 1
    # cutting num_leaves to n_rows // min_child_samples changes no model
    wide = lg.fit(*small, {**params, **fixed, "num_leaves": 140}, "binary")
    np.testing.assert_array_equal(wide.predict_proba(small[0]), after.predict_proba(small[0]))


def test_lightgbm_default_min_child_samples_is_capped_too():
    params, changed = get_learner("lightgbm").ready_params({"learning_rate": 0.05}, "binary", n_rows=32)
    assert params["min_child_samples"] == 5 and changed["min_child_samples"] == (None, 5)


def test_forest_leaf_sizes_capped_on_small_data():
    rf = get_learner("random_forest")
    params, changed = rf.ready_params({"min_samples_leaf": 20, "min_samples_split": 20}, "binary", n_rows=32)
    n_fit = training_rows(32)
    assert params == {"min_samples_leaf": n_fit // 4, "min_samples_split": n_fit // 2}
    assert set(changed) == {"min_samples_leaf", "min_samples_split"}


@pytest.mark.parametrize("name,params", [
    ("lightgbm", {"min_child_samples": 100, "num_leaves": 256, "learning_rate": 0.05}),
    ("random_forest", {"min_samples_leaf": 20, "min_samples_split": 20, "max_features": 0.5}),
])
def test_normal_data_sizes_leave_configurations_alone(name, params):
    out, changed = get_learner(name).ready_params(params, "binary", n_rows=1000, n_features=20)
    assert out == params and changed == {}


def test_every_built_in_learner_is_offered_and_an_unoffered_one_is_refused(unoffered_learner):
    assert list_learners() == ["lightgbm", "random_forest", "extra_trees", "linear"]  # the shipped KB has all four pools
    assert unoffered_learner not in list_learners()
    assert unoffered_learner in list_learners(include_unoffered=True)
    assert get_learner(unoffered_learner).name == unoffered_learner  # registered for a future pool build
    assert check_offered("extra_trees").name == "extra_trees"
    with pytest.raises(ConfigError, match=f"no {unoffered_learner} results"):
        check_offered(unoffered_learner)


def _splits_on(model, columns: list[int]) -> int:
    """Split count of the fitted booster on the preprocessed columns ``f<i>``."""
    imp = dict(zip(model.estimator.booster_.feature_name(), model.estimator.booster_.feature_importance("split")))
    return int(sum(imp[f"f{i}"] for i in columns))


def test_lightgbm_splits_on_many_level_categoricals_of_a_small_table(credit_g):
    """LightGBM's min_data_per_group=100 forbids every split on a >4-level categorical in a 160-row fit."""
    lg = get_learner("lightgbm")
    X = credit_g.X.iloc[:160]
    many = [i for i, c in enumerate(X.columns) if str(X[c].dtype) == "category" and X[c].nunique() > 4]
    assert len(many) >= 2  # purpose, credit_history, ...
    fixed = {"n_estimators": 30, "min_child_samples": 5}
    library_default = lg.fit(X, credit_g.y.iloc[:160], {**fixed, "min_data_per_group": 100}, "binary")
    ours = lg.fit(X, credit_g.y.iloc[:160], fixed, "binary")
    assert _splits_on(library_default, many) == 0
    assert _splits_on(ours, many) > 0
    assert ours.estimator.get_params()["min_data_per_group"] == 160 // 4


def test_lightgbm_min_data_per_group_is_left_alone_without_categoricals_or_on_large_fits(credit_g):
    from metaopt.learners._lightgbm import min_data_per_group

    numeric = credit_g.X.select_dtypes("number")
    assert min_data_per_group(numeric.iloc[:50], 50) == 100
    assert min_data_per_group(credit_g.X, 1000) == 100
    assert min_data_per_group(credit_g.X.iloc[:50], 50) == 12


def test_capped_min_data_per_group_scores_better_on_a_small_categorical_table():
    """Real data: baseball-hitter (322 rows, categorical columns of many levels), 5-fold CV as the KB scores."""
    config = {"learning_rate": 0.05}  # AutoGluon's LightGBM default, early stopping
    library_default, ours = kb_protocol_scores("baseball-hitter", "lightgbm", config, {"min_data_per_group": 100})
    assert ours["log_loss"] < library_default["log_loss"] - 0.05


