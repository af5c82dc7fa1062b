"""Property-based robustness: random messy frames never crash and give finite-or-NaN values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metaopt.data import Dataset
from metaopt.features import extract_meta_features
from metaopt.features._context import prepare
from metaopt.features._extra import NAMES as EXTRA_NAMES
from metaopt.features._extra import extras
from metaopt.features._general import NAMES as GENERAL_NAMES
from metaopt.features._infotheory import NAMES as INFO_NAMES
from metaopt.features._statistical import NAMES as STAT_NAMES

CORE = ("general", "statistical", "info-theory")
SPECIAL = [np.nan, np.inf, -np.inf, 0.0, 1e300, -1e300, 1e-300]


@st.composite
def messy_dataset(draw):
    n = draw(st.integers(min_value=2, max_value=40))
    p = draw(st.integers(min_value=1, max_value=6))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    cols = {}
    for j in range(p):
        kind = draw(st.sampled_from(["float", "const", "allnan", "bool", "cat", "hicat", "special"]))
        if kind == "float":
            x = rng.normal(size=n) * 10 ** draw(st.integers(-5, 8))
            x[rng.random(n) < draw(st.floats(0, 0.9))] = np.nan
        elif kind == "const":
            x = np.full(n, draw(st.floats(-1e6, 1e6, allow_nan=False)))
        elif kind == "allnan":
            x = np.full(n, np.nan)
        elif kind == "bool":
            x = rng.random(n) < 0.5
        elif kind == "special":
            x = rng.choice(SPECIAL, size=n)
        else:
            k = 2 if kind == "cat" else max(n, 2)
            codes = rng.integers(-1, k, n)  # -1 = missing
            x = pd.Categorical.from_codes(codes, categories=[f"l{i}" for i in range(k)])
        cols[f"c{j}"] = x
    X = pd.DataFrame(cols)
    for c in X.columns:
        if not isinstance(X[c].dtype, pd.CategoricalDtype):
            X[c] = X[c].astype("float64")
    task = draw(st.sampled_from(["binary", "multiclass", "regression"]))
    if task == "regression":
        y = pd.Series(rng.choice([rng.normal(), 0.0, 1e9, -3.0], size=n) + rng.normal(size=n)
                      * draw(st.sampled_from([0.0, 1.0])), dtype="float64")
    else:
        k = 2 if task == "binary" else draw(st.integers(3, 5))
        codes = rng.integers(0, k, n)
        codes[:k] = np.arange(k)[: min(k, n)] if n >= k else codes[:k]
        y = pd.Series(pd.Categorical.from_codes(codes, categories=[f"k{i}" for i in range(k)]))
    return Dataset(X=X, y=y, kind=task)


def _check(values: dict, expected: tuple) -> None:
    assert set(expected) <= set(values)
    for k, v in values.items():
        assert isinstance(v, float), k
        assert math.isnan(v) or math.isfinite(v), (k, v)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ds=messy_dataset(), seed=st.integers(0, 3))
def test_never_crashes_and_values_are_finite_or_nan(ds, seed):
    mf = extract_meta_features(ds, groups=CORE, random_state=seed, max_rows=25)
    _check(mf.values, GENERAL_NAMES + STAT_NAMES + INFO_NAMES)
    assert mf["NumberOfInstances"] == ds.X.shape[0]
    assert mf["NumberOfFeatures"] == ds.X.shape[1] + 1
    ex = extras(prepare(ds, random_state=seed, max_rows=25))
    assert tuple(ex) == EXTRA_NAMES
    for k, v in ex.items():
        assert math.isnan(v) or math.isfinite(v), (k, v)


@settings(max_examples=20, deadline=None)
@given(ds=messy_dataset())
def test_deterministic(ds):
    a = extract_meta_features(ds, groups=CORE, random_state=3, max_rows=25).values
    b = extract_meta_features(ds, groups=CORE, random_state=3, max_rows=25).values
    assert a.keys() == b.keys()
    for k in a:
        assert (math.isnan(a[k]) and math.isnan(b[k])) or a[k] == b[k], k
