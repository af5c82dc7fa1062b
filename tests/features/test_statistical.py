"""Statistical qualities: commons-math estimators and quartiles."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from metaopt.features._context import prepare
from metaopt.features._statistical import NAMES, cm_percentile, column_moments, statistical


def test_cm_percentile_legacy_estimator():
    v = [1.0, 2.0, 3.0, 4.0]
    # pos = p (n + 1) / 100
    assert cm_percentile(v, 25) == pytest.approx(1.25)
    assert cm_percentile(v, 50) == pytest.approx(2.5)
    assert cm_percentile(v, 75) == pytest.approx(3.75)
    assert cm_percentile([5.0], 25) == 5.0
    assert cm_percentile([1.0, 9.0], 25) == 1.0       # pos < 1 -> minimum
    assert cm_percentile([1.0, 9.0], 75) == 9.0       # pos >= n -> maximum
    assert math.isnan(cm_percentile([], 50))


def test_moments_match_bias_corrected_sample_estimators():
    rng = np.random.default_rng(3)
    x = rng.gamma(2.0, size=(200, 3))
    x[::7, 1] = np.nan
    m = column_moments(x)
    for j in range(3):
        col = x[:, j][~np.isnan(x[:, j])]
        assert m["mean"][j] == pytest.approx(col.mean())
        assert m["std"][j] == pytest.approx(col.std(ddof=1))
        assert m["skew"][j] == pytest.approx(stats.skew(col, bias=False))
        assert m["kurt"][j] == pytest.approx(stats.kurtosis(col, bias=False))  # excess


def test_known_skewness_value():
    # 1, 2, 3, 10: mean 4, deviations -3 -2 -1 6, sum d^2 = 50, sum d^3 = 180
    x = np.array([1.0, 2.0, 3.0, 10.0])
    n, mu = 4, x.mean()
    s = x.std(ddof=1)
    g1 = n / ((n - 1) * (n - 2)) * (((x - mu) / s) ** 3).sum()
    assert column_moments(x[:, None])["skew"][0] == pytest.approx(g1)
    assert g1 == pytest.approx(1.7636, abs=1e-4)  # 4/6 * 180 / (50/3)**1.5


def test_small_and_constant_columns():
    x = np.array([[1.0, 5.0, np.nan], [2.0, 5.0, np.nan], [np.nan, 5.0, np.nan]])
    m = column_moments(x)
    assert math.isnan(m["skew"][0]) and math.isnan(m["kurt"][0])    # 2 values
    assert m["std"][1] == 0.0
    assert math.isnan(m["skew"][1]) and math.isnan(m["kurt"][1])    # constant
    assert math.isnan(m["mean"][2]) and m["count"][2] == 0           # all missing


def test_group_summaries_and_regression_target_included(make_ds):
    X = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0, 5.0], "b": [2.0, 2.0, 2.0, 2.0, 7.0]})
    ds = make_ds(X, [10.0, 20.0, 30.0, 40.0, 50.0], "regression")
    v = statistical(prepare(ds))
    assert set(v) == set(NAMES)
    # OpenML counts the numeric target as a numeric attribute: means 3, 3, 30
    assert v["MaxMeansOfNumericAtts"] == pytest.approx(30.0)
    assert v["MeanMeansOfNumericAtts"] == pytest.approx(12.0)
    assert v["Quartile2MeansOfNumericAtts"] == pytest.approx(3.0)
    assert v["mo_TargetMean"] == pytest.approx(30.0)
    assert v["mo_TargetSkewness"] == pytest.approx(0.0, abs=1e-12)
    assert v["mo_TargetCoefficientOfVariation"] == pytest.approx(np.std([1, 2, 3, 4, 5], ddof=1) / 3)
    assert v["mo_MaxAbsCorrelationWithTarget"] == pytest.approx(1.0)
    assert v["mo_TargetLag1Correlation"] == pytest.approx(1.0)


def test_classification_has_no_target_moments(make_ds):
    X = pd.DataFrame({"a": np.arange(10.0)})
    v = statistical(prepare(make_ds(X, [0, 1] * 5, "binary")))
    assert math.isnan(v["mo_TargetSkewness"])
    assert math.isnan(v["mo_MeanAbsCorrelationWithTarget"])
    assert v["MeanMeansOfNumericAtts"] == pytest.approx(4.5)


def test_no_numeric_attributes_all_nan(make_ds):
    X = pd.DataFrame({"c": pd.Categorical(["a", "b", "a", "b"])})
    v = statistical(prepare(make_ds(X, [0, 1, 0, 1], "binary")))
    assert all(math.isnan(v[f"{s}MeansOfNumericAtts"]) for s in ("Mean", "Min", "Max"))


def test_outlier_share(make_ds):
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"clean": rng.uniform(size=200), "spiky": rng.uniform(size=200)})
    X.loc[0, "spiky"] = 1e6
    v = statistical(prepare(make_ds(X, rng.integers(0, 2, 200), "binary")))
    assert v["mo_PercentageOfNumericAttsWithOutliers"] == pytest.approx(50.0)
