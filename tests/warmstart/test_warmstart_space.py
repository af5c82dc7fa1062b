"""Parameter-name matching and clipping into the study's distributions."""

from __future__ import annotations

import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from metaopt.warmstart import ParamNameMismatchError, fit_to_space, resolve_param_names


def test_identity_when_names_unknown():
    m = resolve_param_names("lightgbm", None, None)
    assert m["learning_rate"] == "learning_rate" and m["num_leaves"] == "num_leaves"


def test_prefix_and_alias_matching():
    m = resolve_param_names("lightgbm", None, ["model__learning_rate", "feature_fraction", "lambda_l1", "other"])
    assert m == {"learning_rate": "model__learning_rate", "colsample_bytree": "feature_fraction",
                 "reg_alpha": "lambda_l1"}


def test_no_match_raises_specific_error():
    with pytest.raises(ParamNameMismatchError, match="param_names"):
        resolve_param_names("lightgbm", None, ["x", "y"])


def test_explicit_mapping_checked():
    assert resolve_param_names("lightgbm", {"learning_rate": "lr"}, ["lr"]) == {"learning_rate": "lr"}
    with pytest.raises(ParamNameMismatchError, match="not parameters of learner"):
        resolve_param_names("lightgbm", {"lr": "lr"}, ["lr"])
    with pytest.raises(ParamNameMismatchError, match="none of the names"):
        resolve_param_names("lightgbm", {"learning_rate": "lr"}, ["eta2"])
    with pytest.raises(ParamNameMismatchError, match="two parameters"):
        resolve_param_names("lightgbm", {"learning_rate": "a", "num_leaves": "a"}, None)


def test_fit_to_space_clips_and_reports():
    space = {"a": FloatDistribution(0.01, 0.1, log=True), "b": IntDistribution(2, 10, step=2),
             "c": CategoricalDistribution([False]), "d": CategoricalDistribution([1, 4, 8]),
             "e": FloatDistribution(0.0, 1.0, step=0.25)}
    out, notes = fit_to_space({"a": 0.5, "b": 11, "c": True, "d": 5, "e": 0.6, "z": 1}, space, keep_unknown=False)
    assert out == {"a": 0.1, "b": 10, "d": 4, "e": 0.5}
    assert len(notes) == 5
    for name, v in out.items():
        assert space[name]._contains(space[name].to_internal_repr(v))
    with pytest.raises(ValueError, match="outside"):
        fit_to_space({"a": 0.5}, space, on_out_of_range="raise")
    inside, notes = fit_to_space({"a": 0.05, "c": False}, space)
    assert inside == {"a": 0.05, "c": False} and notes == []
