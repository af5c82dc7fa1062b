"""General qualities on small hand-computed frames."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from metaopt.features._context import prepare
from metaopt.features._general import NAMES, general


def _frame(make_ds):
    X = pd.DataFrame({
        "num": [1.0, np.nan, 3.0, 4.0, 5.0, 6.0],
        "flag": pd.Categorical(["a", "b", "a", None, "a", "b"], categories=["a", "b"]),
        "col": pd.Categorical(["r", "g", "b", "r", "r", "r"], categories=["r", "g", "b", "w"]),
    })
    y = ["p", "p", "q", "q", "q", "p"]
    return make_ds(X, y, "binary")


def test_counts_follow_openml_conventions(make_ds):
    v = general(prepare(_frame(make_ds)))
    assert set(v) == set(NAMES)
    assert v["NumberOfInstances"] == 6
    assert v["NumberOfFeatures"] == 4                  # 3 inputs + target
    assert v["NumberOfNumericFeatures"] == 1
    assert v["NumberOfSymbolicFeatures"] == 3          # flag, col, nominal target
    assert v["NumberOfBinaryFeatures"] == 2            # flag (2 declared levels) + binary target
    assert v["NumberOfClasses"] == 2
    assert v["NumberOfMissingValues"] == 2
    assert v["NumberOfInstancesWithMissingValues"] == 2
    assert v["PercentageOfMissingValues"] == pytest.approx(100 * 2 / 24)
    assert v["PercentageOfInstancesWithMissingValues"] == pytest.approx(100 * 2 / 6)
    assert v["PercentageOfSymbolicFeatures"] == pytest.approx(75.0)
    assert v["Dimensionality"] == pytest.approx(4 / 6)
    assert v["MajorityClassSize"] == 3 and v["MinorityClassSize"] == 3
    assert v["MajorityClassPercentage"] == pytest.approx(50.0)
    # classes p p q q q p: 2 changes in 5 transitions
    assert v["AutoCorrelation"] == pytest.approx((5 - 2) / 5)
    # observed distinct values: flag 2, col 3 (w never occurs), target 2
    assert v["MaxNominalAttDistinctValues"] == 3
    assert v["MinNominalAttDistinctValues"] == 2
    assert v["MeanNominalAttDistinctValues"] == pytest.approx(7 / 3)
    assert v["StdvNominalAttDistinctValues"] == pytest.approx(np.std([2, 3, 2], ddof=1))
    # one-hot width: 1 numeric + 2 + 4 declared levels
    assert v["NumberOfFeaturesAfterBinarization"] == 7


def test_regression_class_qualities(make_ds):
    X = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "c": pd.Categorical(["a", "b", "a", "b"])})
    v = general(prepare(make_ds(X, [10.0, 12.0, 11.0, 13.0], "regression")))
    assert v["NumberOfClasses"] == 0
    for q in ("MajorityClassSize", "MinorityClassSize", "MajorityClassPercentage",
              "MinorityClassPercentage"):
        assert math.isnan(v[q])
    assert v["NumberOfNumericFeatures"] == 2          # x + numeric target
    assert v["NumberOfSymbolicFeatures"] == 1
    # OpenML: sum of y[i-1] - y[i] telescopes to y[0] - y[-1] = -3
    assert v["AutoCorrelation"] == pytest.approx((3 - (-3)) / 3)
    assert v["MaxNominalAttDistinctValues"] == 2      # no nominal target in the summary


def test_no_nominal_inputs_regression_gives_nan_distinct_values(make_ds):
    X = pd.DataFrame({"x": [1.0, 2.0, 3.0]})
    v = general(prepare(make_ds(X, [1.0, 2.0, 3.0], "regression")))
    assert math.isnan(v["MaxNominalAttDistinctValues"])
    assert v["NumberOfSymbolicFeatures"] == 0
    assert v["PercentageOfSymbolicFeatures"] == 0.0


def test_general_uses_full_data_when_sampling(make_ds):
    rng = np.random.default_rng(1)
    n = 5000
    X = pd.DataFrame({"x": rng.normal(size=n)})
    X.loc[:9, "x"] = np.nan
    ds = make_ds(X, rng.integers(0, 2, n), "binary")
    v = general(prepare(ds, max_rows=500))
    assert v["NumberOfInstances"] == n
    assert v["NumberOfMissingValues"] == 10


def test_all_missing_column_left_out_of_binarization(make_ds):
    X = pd.DataFrame({"x": [np.nan] * 4, "z": [1.0, 2.0, 3.0, 4.0]})
    v = general(prepare(make_ds(X, [0, 1, 0, 1], "binary")))
    assert v["NumberOfFeaturesAfterBinarization"] == 1
    assert v["NumberOfMissingValues"] == 4
