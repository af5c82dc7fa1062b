"""The public API: extract_meta_features, MetaFeatures, groups, sampling, determinism."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from metaopt.exceptions import ConfigError
from metaopt.features import GROUPS, MetaFeatures, extract_meta_features
from metaopt.features._extra import NAMES as EXTRA_NAMES
from metaopt.features._general import NAMES as GENERAL_NAMES
from metaopt.features._infotheory import NAMES as INFO_NAMES
from metaopt.features._statistical import NAMES as STAT_NAMES

CORE = ("general", "statistical", "info-theory")


def test_exports():
    assert GROUPS == ("general", "statistical", "info-theory", "landmarking", "metaopt")
    X = pd.DataFrame({"a": np.random.default_rng(0).normal(size=12)})
    mf = extract_meta_features(X, [0, 1] * 6, groups=CORE)
    assert isinstance(mf, MetaFeatures)


def test_core_groups_are_complete_and_clean(mixed_dataset):
    mf = extract_meta_features(mixed_dataset, groups=CORE)
    assert mf.groups["general"] == list(GENERAL_NAMES)
    assert mf.groups["statistical"] == list(STAT_NAMES)
    assert mf.groups["info-theory"] == list(INFO_NAMES)
    assert mf.groups["sampling"] == ["mo_SampleRows", "mo_SampleFraction"]
    assert len(mf.values) == len(GENERAL_NAMES) + len(STAT_NAMES) + len(INFO_NAMES) + 2
    assert len([k for k in mf.values if not k.startswith("mo_")]) >= 60
    for k, v in mf.values.items():
        assert isinstance(v, float) and not math.isinf(v), k
    assert set(mf.timings) == {"prepare", *CORE}
    assert mf.sampling["subsampled"] is False
    assert mf.sampling["rows_per_group"] == {g: 300 for g in CORE}


def test_result_accessors(mixed_dataset):
    mf = extract_meta_features(mixed_dataset, groups=["general"])
    assert mf["NumberOfInstances"] == 300.0
    assert "NumberOfInstances" in mf
    d = mf.to_dict()
    assert d == mf.values and d is not mf.values
    s = mf.to_series()
    assert s.dtype == np.float64 and s["NumberOfFeatures"] == 5.0
    assert len(mf) == len(d) and list(mf) == list(d)


def test_group_validation():
    X = pd.DataFrame({"a": np.random.default_rng(0).normal(size=12)})
    y = [0, 1] * 6
    with pytest.raises(ConfigError):
        extract_meta_features(X, y, groups=("general", "complexity"))
    with pytest.raises(ConfigError):
        extract_meta_features(X, y, groups="nope")
    with pytest.raises(ConfigError):
        extract_meta_features(X, y, groups=CORE, max_rows=0)
    mf = extract_meta_features(X, y, groups="general")
    assert list(mf.groups) == ["general", "sampling"]


def test_all_groups(mixed_dataset):
    mf = extract_meta_features(mixed_dataset, groups="all")
    assert {"landmarking", "metaopt"} <= set(mf.groups)
    assert mf.groups["metaopt"][:len(EXTRA_NAMES)] == list(EXTRA_NAMES)
    assert "mo_LightGBMAUC" in mf.groups["metaopt"] and "DecisionStumpAUC" in mf.groups["landmarking"]


def test_input_forms_agree():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=50), "b": rng.normal(size=50)})
    y = (X["a"] > 0).astype(int).to_numpy()
    m1 = extract_meta_features(X, y, groups=CORE)
    m2 = extract_meta_features(X.assign(t=y), target="t", groups=CORE)
    m3 = extract_meta_features(X.to_numpy(), y, groups=CORE)
    for k, v in m1.values.items():
        for other in (m2, m3):
            assert (math.isnan(v) and math.isnan(other[k])) or v == pytest.approx(other[k]), k


def test_regression_kind_and_class_qualities_nan():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=80),
                      "c": pd.Categorical(rng.choice(["x", "y"], 80))})
    mf = extract_meta_features(X, rng.normal(size=80), kind="regression", groups=CORE)
    assert mf["NumberOfClasses"] == 0
    for q in ("ClassEntropy", "MeanMutualInformation", "MajorityClassSize"):
        assert math.isnan(mf[q])
    for q in ("mo_TargetSkewness", "mo_TargetEntropyBinned", "mo_MeanMutualInformationAll"):
        assert not math.isnan(mf[q])


def test_deterministic_and_seed_dependent_sampling():
    rng = np.random.default_rng(5)
    n = 4000
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.exponential(size=n),
                      "c": pd.Categorical(rng.choice(list("abcd"), n))})
    y = rng.integers(0, 3, n)
    a = extract_meta_features(X, y, kind="multiclass", groups=CORE, max_rows=1000, random_state=1)
    b = extract_meta_features(X, y, kind="multiclass", groups=CORE, max_rows=1000, random_state=1)
    c = extract_meta_features(X, y, kind="multiclass", groups=CORE, max_rows=1000, random_state=2)
    assert a.values.keys() == b.values.keys()
    for k in a.values:
        assert (math.isnan(a[k]) and math.isnan(b[k])) or a[k] == b[k], k
    assert a["MeanSkewnessOfNumericAtts"] != c["MeanSkewnessOfNumericAtts"]
    assert a.sampling["subsampled"] and a.sampling["random_state"] == 1
    assert a["mo_SampleRows"] == a.sampling["sample_rows"]
    assert 900 <= a["mo_SampleRows"] <= 1100
    assert a["mo_SampleFraction"] == pytest.approx(a["mo_SampleRows"] / n)
    assert a.sampling["rows_per_group"]["general"] == n
    # general stays exact under sampling
    assert a["NumberOfInstances"] == n and a["MajorityClassSize"] == c["MajorityClassSize"]


def test_wide_data_shrinks_row_budget():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(2500, 20)), columns=[f"f{i}" for i in range(20)])
    import metaopt.features._extract as ex
    old = ex.MAX_CELLS
    try:
        ex.MAX_CELLS = 10_000
        mf = extract_meta_features(X, rng.integers(0, 2, 2500), groups=CORE)
    finally:
        ex.MAX_CELLS = old
    assert mf.sampling["max_rows"] == ex.MIN_ROWS_WIDE
    assert mf.sampling["subsampled"]


def test_metaopt_extras_values(make_ds):
    X = pd.DataFrame({
        "a": np.arange(40.0), "b": np.arange(40.0) * 2 + 1, "k": np.ones(40),
        "hc": pd.Categorical([f"v{i}" for i in range(40)]),
        "m": np.r_[np.full(10, np.nan), np.arange(30.0)],
    })
    y = np.r_[np.zeros(30, int), np.ones(10, int)]
    mf = extract_meta_features(make_ds(X, y, "binary"), groups=["metaopt"])
    assert mf["mo_ImbalanceRatio"] == pytest.approx(3.0)
    assert mf["mo_LogNumberOfInstances"] == pytest.approx(np.log(40))
    assert mf["mo_NumberOfInputFeatures"] == 5
    assert mf["mo_MaxCatCardinality"] == 40
    assert mf["mo_NumberOfHighCardinalityCatFeatures"] == 1
    assert mf["mo_PercentageOfFeaturesWithMissingValues"] == pytest.approx(20.0)
    assert mf["mo_MaxFeatureMissingFraction"] == pytest.approx(0.25)
    assert mf["mo_PercentageOfConstantFeatures"] == pytest.approx(20.0)
    assert mf["mo_MaxAbsFeatureCorrelation"] == pytest.approx(1.0)
    assert mf["mo_PercentageOfHighlyCorrelatedPairs"] > 0
