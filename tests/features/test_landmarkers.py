"""Tests of the landmarking group and the LightGBM landmarker."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from metaopt.data import Dataset, as_dataset
from metaopt.features._context import prepare
from metaopt.features._landmarkers import (
    CLASSIFICATION_LEARNERS,
    GBM_NAMES,
    LANDMARKER_NAMES,
    REGRESSION_LEARNERS,
    gbm_landmarker,
    landmarkers,
)
from metaopt.features._landmarkers._data import folds
from metaopt.features._landmarkers._measures import kappa, weighted_auc
from metaopt.features._landmarkers._trees import c45_add_errs


def _ctx(X, y, kind=None, random_state=0, max_rows=100_000):
    y = np.asarray(y)
    return prepare(as_dataset(pd.DataFrame(X), y, kind=kind, drop_id_like=False), random_state=random_state,
                   max_rows=max_rows)


def _raw_ctx(X, y, kind):
    """A context straight from a Dataset, bypassing the loader's cleaning (constant/all-NaN/id columns)."""
    X = pd.DataFrame({c: (s if isinstance(s.dtype, pd.CategoricalDtype) else s.astype("float64"))
                      for c, s in pd.DataFrame(X).items()})
    ys = pd.Series(np.asarray(y), index=X.index)
    ys = ys.astype("float64") if kind == "regression" else ys.astype(str).astype("category")
    return prepare(Dataset(X=X, y=ys, kind=kind), random_state=0)


def _all_finite_or_nan(d):
    return all(isinstance(v, float) and (math.isfinite(v) or math.isnan(v)) for v in d.values())


def _same(a, b):
    return a.keys() == b.keys() and all((math.isnan(a[k]) and math.isnan(b[k])) or a[k] == b[k] for k in a)


def _separable(n=600, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    y = np.where(X[:, 0] > 0, "a", "b")
    X[:, 0] += np.where(X[:, 0] > 0, 3.0, -3.0)          # a wide margin
    return pd.DataFrame(X, columns=list("pqrs")), y


# --------------------------------------------------------------------------------------------
# names and key sets
# --------------------------------------------------------------------------------------------

def test_openml_spelling_of_names():
    for name in ("DecisionStumpAUC", "DecisionStumpErrRate", "DecisionStumpKappa", "NaiveBayesAUC",
                 "kNN1NErrRate", "J48.00001.AUC", "J48.0001.ErrRate", "J48.001.Kappa",
                 "REPTreeDepth1AUC", "REPTreeDepth3Kappa", "RandomTreeDepth2ErrRate",
                 "CfsSubsetEval_kNN1NAUC", "CfsSubsetEval_NaiveBayesKappa", "CfsSubsetEval_DecisionStumpErrRate"):
        assert name in LANDMARKER_NAMES
    # everything that OpenML does not have is prefixed mo_
    openml_like = [n for n in LANDMARKER_NAMES if not n.startswith("mo_")]
    assert len(openml_like) == 15 * 3
    assert all(n.startswith("mo_") for n in GBM_NAMES)
    assert "mo_LinearDiscriminantAUC" in LANDMARKER_NAMES
    assert "mo_kNN1NR2" in LANDMARKER_NAMES and "mo_LinearRegressionNRMSE" in LANDMARKER_NAMES
    assert len(set(LANDMARKER_NAMES)) == len(LANDMARKER_NAMES)


def test_key_set_identical_across_kinds():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(200, 3)), columns=list("abc"))
    outs = [
        landmarkers(_ctx(X, (X["a"] > 0).map({True: "x", False: "y"}).to_numpy())),
        landmarkers(_ctx(X, rng.integers(0, 3, 200).astype(str))),
        landmarkers(_ctx(X, X["a"].to_numpy() * 2 + rng.normal(size=200), kind="regression")),
    ]
    assert [tuple(o) for o in outs] == [LANDMARKER_NAMES] * 3
    gbms = [gbm_landmarker(_ctx(X, (X["a"] > 0).astype(int).astype(str))),
            gbm_landmarker(_ctx(X, X["a"].to_numpy(), kind="regression"))]
    assert [tuple(g) for g in gbms] == [GBM_NAMES] * 2
    # classification values are NaN for regression and vice versa
    cls, reg = outs[0], outs[2]
    assert not math.isnan(cls["kNN1NErrRate"]) and math.isnan(cls["mo_kNN1NR2"])
    assert math.isnan(reg["kNN1NErrRate"]) and not math.isnan(reg["mo_kNN1NR2"])
    assert math.isnan(gbms[1]["mo_LightGBMAUC"]) and math.isnan(gbms[0]["mo_LightGBMR2"])


# --------------------------------------------------------------------------------------------
# values
# --------------------------------------------------------------------------------------------

def test_separable_data_is_easy():
    X, y = _separable()
    out = landmarkers(_ctx(X, y))
    for lm in ("kNN1N", "DecisionStump", "J48.001.", "REPTreeDepth2", "NaiveBayes", "mo_LinearDiscriminant"):
        assert out[f"{lm}ErrRate"] < 0.03, lm
        assert out[f"{lm}AUC"] > 0.97, lm
        assert out[f"{lm}Kappa"] > 0.94, lm
    g = gbm_landmarker(_ctx(X, y))
    assert g["mo_LightGBMErrRate"] < 0.05 and g["mo_LightGBMAUC"] > 0.97
    assert g["mo_LightGBMLogLoss"] < 0.3


def test_random_labels_give_chance_level():
    rng = np.random.default_rng(1)
    X = pd.DataFrame(rng.normal(size=(2000, 5)), columns=list("abcde"))
    y = rng.integers(0, 2, 2000).astype(str)
    out = landmarkers(_ctx(X, y))
    for lm in CLASSIFICATION_LEARNERS:
        assert abs(out[f"{lm}AUC"] - 0.5) < 0.06, lm
        assert abs(out[f"{lm}Kappa"]) < 0.1, lm
        assert 0.4 < out[f"{lm}ErrRate"] < 0.6, lm
    g = gbm_landmarker(_ctx(X, y))
    assert abs(g["mo_LightGBMAUC"] - 0.5) < 0.08


def test_multiclass_and_nominal_features():
    rng = np.random.default_rng(2)
    n = 900
    c = rng.integers(0, 3, n)
    X = pd.DataFrame({"nom": pd.Categorical(np.array(list("xyz"))[c]),
                      "noise": rng.normal(size=n)})
    y = np.array(["k0", "k1", "k2"])[c]
    out = landmarkers(_ctx(X, y))
    # the nominal column determines the class: every learner that can split on it is perfect
    for lm in ("NaiveBayes", "kNN1N", "J48.001.", "REPTreeDepth2", "CfsSubsetEval_NaiveBayes"):
        assert out[f"{lm}ErrRate"] < 0.01, lm
    # a single binary split can separate at most 2 of 3 equally frequent classes
    assert 0.25 < out["DecisionStumpErrRate"] < 0.42


def test_regression_r2_sensible():
    rng = np.random.default_rng(3)
    n = 1500
    X = pd.DataFrame(rng.normal(size=(n, 3)), columns=list("abc"))
    y = 3 * X["a"] + 0.5 * rng.normal(size=n)
    out = landmarkers(_ctx(X, y.to_numpy(), kind="regression"))
    assert out["mo_LinearRegressionR2"] > 0.95
    assert 0.4 < out["mo_DecisionStumpR2"] < 0.8
    assert out["mo_REPTreeDepth3R2"] > out["mo_DecisionStumpR2"]
    assert out["mo_kNN1NR2"] > 0.8
    for lm in REGRESSION_LEARNERS:
        r2, nrmse = out[f"mo_{lm}R2"], out[f"mo_{lm}NRMSE"]
        assert math.isclose(r2, 1 - nrmse ** 2, rel_tol=1e-9, abs_tol=1e-9)
    noise = landmarkers(_ctx(X, rng.normal(size=n), kind="regression"))
    assert noise["mo_LinearRegressionR2"] < 0.02 and noise["mo_kNN1NR2"] < 0.0
    g = gbm_landmarker(_ctx(X, y.to_numpy(), kind="regression"))
    assert g["mo_LightGBMR2"] > 0.9 and g["mo_LightGBMGain"] > 0.2


def test_deterministic_for_fixed_random_state():
    rng = np.random.default_rng(4)
    X = pd.DataFrame(rng.normal(size=(3000, 6)), columns=list("abcdef"))
    X["n"] = pd.Categorical(rng.choice(list("pqrs"), 3000))
    y = np.where(X["a"] + rng.normal(size=3000) > 0, "u", "v")
    a = landmarkers(_ctx(X, y, random_state=7, max_rows=2500))
    b = landmarkers(_ctx(X, y, random_state=7, max_rows=2500))
    assert _same(a, b)
    assert _same(gbm_landmarker(_ctx(X, y, random_state=7)), gbm_landmarker(_ctx(X, y, random_state=7)))
    c = landmarkers(_ctx(X, y, random_state=8, max_rows=2500))
    assert not _same(c, a)                       # another seed gives other folds


# --------------------------------------------------------------------------------------------
# robustness
# --------------------------------------------------------------------------------------------

def _messy_frame(n, rng):
    X = pd.DataFrame({
        "num": rng.normal(size=n),
        "withnan": np.where(rng.random(n) < 0.3, np.nan, rng.normal(size=n)),
        "withinf": np.where(rng.random(n) < 0.05, np.inf, rng.normal(size=n)),
        "const": np.ones(n),
        "allnan": np.full(n, np.nan),
        "nom": pd.Categorical(np.where(rng.random(n) < 0.2, None, rng.choice(list("abc"), n))),
        "highcard": pd.Categorical(rng.integers(0, 500, n).astype(str)),
        "constnom": pd.Categorical(["k"] * n),
    })
    return X


@pytest.mark.parametrize("kind", ["binary", "multiclass", "regression"])
def test_robust_messy_columns(kind):
    rng = np.random.default_rng(5)
    n = 400
    X = _messy_frame(n, rng)
    if kind == "regression":
        y = rng.normal(size=n)
    elif kind == "binary":
        y = rng.choice(["p", "q"], n)
    else:
        y = rng.choice(["p", "q", "r", "s"], n)
    ctx = _raw_ctx(X, y, kind)
    assert ctx.num.shape[1] == 5 and ctx.cat.shape[1] == 3       # nothing was cleaned away
    out, g = landmarkers(ctx), gbm_landmarker(ctx)
    assert tuple(out) == LANDMARKER_NAMES and tuple(g) == GBM_NAMES
    assert _all_finite_or_nan(out) and _all_finite_or_nan(g)
    key = "mo_kNN1NR2" if kind == "regression" else "kNN1NErrRate"
    assert math.isfinite(out[key])
    assert math.isfinite(g["mo_LightGBMR2" if kind == "regression" else "mo_LightGBMErrRate"])


@pytest.mark.parametrize("which", ["numeric_only", "nominal_only", "single_feature", "no_usable_feature"])
def test_robust_column_sets(which):
    rng = np.random.default_rng(6)
    n = 300
    y = rng.choice(["a", "b", "c"], n)
    if which == "numeric_only":
        X = pd.DataFrame({"x": rng.normal(size=n), "z": rng.normal(size=n)})
    elif which == "nominal_only":
        X = pd.DataFrame({"u": pd.Categorical(rng.choice(list("pq"), n)),
                          "v": pd.Categorical(np.array(["a", "b", "c"])[np.searchsorted(["a", "b", "c"], y)])})
    elif which == "single_feature":
        X = pd.DataFrame({"x": rng.normal(size=n)})
    else:
        X = pd.DataFrame({"const": np.zeros(n), "allnan": np.full(n, np.nan)})
    kind = "multiclass"
    for ctx in (_raw_ctx(X, y, kind), _raw_ctx(X, rng.normal(size=n), "regression")):
        out, g = landmarkers(ctx), gbm_landmarker(ctx)
        assert tuple(out) == LANDMARKER_NAMES and _all_finite_or_nan(out) and _all_finite_or_nan(g)
    out = landmarkers(_raw_ctx(X, y, kind))
    assert math.isfinite(out["NaiveBayesErrRate"])
    if which == "nominal_only":
        assert out["NaiveBayesErrRate"] < 0.01
    if which == "no_usable_feature":           # nothing to learn from: the training prior
        assert abs(out["DecisionStumpAUC"] - 0.5) < 0.05
        assert abs(out["DecisionStumpKappa"]) < 0.05


def test_singleton_and_rare_classes():
    rng = np.random.default_rng(7)
    n = 200
    X = pd.DataFrame(rng.normal(size=(n, 3)), columns=list("abc"))
    y = rng.choice(["a", "b"], n).astype(object)
    y[0] = "lonely"                             # one member: lands in one fold only
    y[1:3] = "pair"
    ctx = _raw_ctx(X, y, "multiclass")
    out, g = landmarkers(ctx), gbm_landmarker(ctx)
    assert _all_finite_or_nan(out) and _all_finite_or_nan(g)
    assert all(math.isfinite(out[f"{lm}ErrRate"]) for lm in CLASSIFICATION_LEARNERS)
    # tiny data: 5 rows, 2 classes
    tiny = _raw_ctx(pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0, 5.0]}), np.array(["x", "x", "y", "y", "x"]), "binary")
    assert _all_finite_or_nan(landmarkers(tiny)) and _all_finite_or_nan(gbm_landmarker(tiny))


def test_constant_target_regression_is_nan():
    X = pd.DataFrame({"a": np.arange(50.0)})
    out = landmarkers(_raw_ctx(X, np.ones(50), "regression"))
    assert all(math.isnan(v) for v in out.values())


def test_wide_data_and_many_classes():
    # (their speed is measured in benchmarks/bench_features.py, not asserted here)
    rng = np.random.default_rng(8)
    n, p = 1500, 3000
    X = pd.DataFrame(rng.normal(size=(n, p)).astype(np.float64), columns=[f"f{i}" for i in range(p)])
    y = np.where(X["f0"] > 0, "a", "b")
    out = landmarkers(_ctx(X, y))
    assert _all_finite_or_nan(out)
    # 40 classes, high-cardinality nominals
    n = 3000
    c = rng.integers(0, 40, n)
    X = pd.DataFrame({"x": c + rng.normal(size=n) * 0.3,
                      "h": pd.Categorical(rng.integers(0, 2000, n).astype(str))})
    out = landmarkers(_ctx(X, c.astype(str)))
    assert out["kNN1NErrRate"] < 0.9 and _all_finite_or_nan(out)


# --------------------------------------------------------------------------------------------
# helpers against known values
# --------------------------------------------------------------------------------------------

def test_weighted_auc_matches_sklearn_weighted_ovr():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(9)
    y = rng.integers(0, 3, 500)
    p = rng.dirichlet(np.ones(3), 500)
    p[np.arange(500), y] += 0.3
    p /= p.sum(1, keepdims=True)
    ours = weighted_auc(y, p)
    ref = roc_auc_score(y, p, multi_class="ovr", average="weighted")
    assert ours == pytest.approx(ref, abs=1e-12)
    yb = rng.integers(0, 2, 300)
    sb = rng.random(300)
    pb = np.column_stack([1 - sb, sb])
    assert weighted_auc(yb, pb) == pytest.approx(roc_auc_score(yb, sb), abs=1e-12)


def test_kappa_matches_sklearn():
    from sklearn.metrics import cohen_kappa_score

    rng = np.random.default_rng(10)
    y, pred = rng.integers(0, 4, 400), rng.integers(0, 4, 400)
    pred[:200] = y[:200]
    assert kappa(y, pred, 4) == pytest.approx(cohen_kappa_score(y, pred), abs=1e-12)


def test_c45_add_errs_known_values():
    from scipy.stats import norm

    z = float(norm.ppf(0.75))
    # Weka's U_0.25 for a leaf with 6 cases and no error (Quinlan's example: 6 * 0.206 = 1.236)
    assert 0 + c45_add_errs(6, 0, 0.25, z) == pytest.approx(6 * (1 - 0.25 ** (1 / 6)), rel=1e-12)
    assert c45_add_errs(6, 0, 0.25, z) == pytest.approx(1.236, abs=0.005)
    assert c45_add_errs(10, 9.6, 0.25, z) == pytest.approx(0.4)      # e + 0.5 >= n branch


def test_folds_are_stratified_and_keep_singletons():
    y = np.array([0] * 10 + [1] * 5 + [2])
    f = folds(y, y.size, np.random.default_rng(0), 2)
    for c in (0, 1):
        counts = np.bincount(f[y == c], minlength=2)
        assert abs(counts[0] - counts[1]) <= 1
    assert set(np.unique(f)) == {0, 1}


def test_huge_finite_values_do_not_crash_sklearn_float32():
    """Values beyond float32's range (found by hypothesis) must not reach scikit-learn's trees."""
    import pandas as pd

    from metaopt.features import extract_meta_features

    X = pd.DataFrame({"a": [-1e300, 1e300, 0.0, np.inf] * 10, "b": np.arange(40.0)})
    mf = extract_meta_features(X, pd.Series([0, 1] * 20), kind="binary")
    vals = np.array(list(mf.values.values()), dtype=float)
    assert not np.isinf(vals).any()
    assert np.isfinite(mf.values["DecisionStumpErrRate"])
