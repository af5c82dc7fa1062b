"""Information-theoretic qualities on hand-computed examples (bits)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from metaopt.features._context import prepare
from metaopt.features._infotheory import (NAMES, entropy_from_counts, equal_frequency_codes,
                                          infotheory, joint_entropies)


def test_entropy_from_counts():
    assert entropy_from_counts([5, 5]) == pytest.approx(1.0)
    assert entropy_from_counts([1, 1, 1, 1]) == pytest.approx(2.0)
    assert entropy_from_counts([7, 0]) == pytest.approx(0.0)
    assert entropy_from_counts([3, 1]) == pytest.approx(-(0.75 * np.log2(0.75) + 0.25 * np.log2(0.25)))


def test_joint_entropies_dense_and_sparse_agree():
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 4, size=(500, 3))
    t = rng.integers(0, 3, 500)
    h, hj = joint_entropies(codes, np.array([4, 4, 4]), t, 3)
    # huge declared level counts force the sparse (np.unique) path
    h2, hj2 = joint_entropies(codes, np.array([4, 10**7, 4]), t, 3)
    np.testing.assert_allclose(h, h2)
    np.testing.assert_allclose(hj, hj2)
    for j in range(3):
        assert h[j] == pytest.approx(entropy_from_counts(np.bincount(codes[:, j])))
        assert hj[j] == pytest.approx(entropy_from_counts(np.bincount(codes[:, j] * 3 + t)))


def test_known_mutual_information(make_ds):
    # attribute a determines the class, b is independent of it
    X = pd.DataFrame({
        "a": pd.Categorical(["x", "x", "y", "y"]),
        "b": pd.Categorical(["u", "v", "u", "v"]),
    })
    v = infotheory(prepare(make_ds(X, ["p", "p", "q", "q"], "binary")))
    assert set(v) == set(NAMES)
    assert v["ClassEntropy"] == pytest.approx(1.0)
    assert v["MaxMutualInformation"] == pytest.approx(1.0)
    assert v["MinMutualInformation"] == pytest.approx(0.0)
    assert v["MeanMutualInformation"] == pytest.approx(0.5)
    assert v["MeanAttributeEntropy"] == pytest.approx(1.0)
    assert v["EquivalentNumberOfAtts"] == pytest.approx(2.0)
    assert v["MeanNoiseToSignalRatio"] == pytest.approx((1.0 - 0.5) / 0.5)
    assert v["mo_NormalizedClassEntropy"] == pytest.approx(1.0)


def test_missing_nominal_value_counts_as_first_level_like_weka(make_ds):
    X = pd.DataFrame({"a": pd.Categorical(["x", None, "y", "y"], categories=["x", "y"])})
    v = infotheory(prepare(make_ds(X, ["p", "p", "q", "q"], "binary")))
    # the missing value joins level "x": a = x x y y, which determines the class
    assert v["MeanAttributeEntropy"] == pytest.approx(1.0)
    assert v["MeanMutualInformation"] == pytest.approx(1.0)


def test_zero_mutual_information_gives_nan_ratios(make_ds):
    X = pd.DataFrame({"b": pd.Categorical(["u", "v", "u", "v"])})
    v = infotheory(prepare(make_ds(X, ["p", "p", "q", "q"], "binary")))
    assert v["MeanMutualInformation"] == 0.0
    assert math.isnan(v["EquivalentNumberOfAtts"])
    assert math.isnan(v["MeanNoiseToSignalRatio"])


def test_numeric_only_and_regression(make_ds):
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=400), "b": rng.normal(size=400)})
    v = infotheory(prepare(make_ds(X, (X["a"] > 0).astype(int), "binary")))
    assert v["ClassEntropy"] > 0.9
    assert math.isnan(v["MeanMutualInformation"])        # OpenML: nominal attributes only
    assert v["mo_MaxMutualInformationAll"] > 0.8         # binned a determines the class
    r = infotheory(prepare(make_ds(X, X["a"] * 3 + rng.normal(size=400) * 0.01, "regression")))
    assert all(math.isnan(r[q]) for q in NAMES if not q.startswith("mo_"))
    assert r["mo_TargetEntropyBinned"] == pytest.approx(np.log2(10), abs=0.05)
    assert r["mo_MaxMutualInformationAll"] > 2.0
    assert math.isnan(r["mo_NormalizedClassEntropy"])


def test_equal_frequency_codes():
    x = np.column_stack([np.arange(100.0), np.r_[np.full(50, 1.0), np.full(50, 2.0)]])
    x[0, 1] = np.nan
    codes, levels = equal_frequency_codes(x, np.random.default_rng(0))
    assert levels.tolist() == [11, 11]
    assert np.bincount(codes[:, 0]).tolist() == [10] * 10
    assert codes[0, 1] == 10                              # missing -> own code
    assert len(np.unique(codes[1:, 1])) == 2              # ties stay together
    # a single column (whose transpose is contiguous) must not be sorted in place
    y = np.random.default_rng(1).normal(size=50)
    before = y.copy()
    c, _ = equal_frequency_codes(y[:, None], np.random.default_rng(0))
    np.testing.assert_array_equal(y, before)
    assert np.corrcoef(c[:, 0], y)[0, 1] > 0.9
