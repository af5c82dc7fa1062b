"""Shared helpers for the meta-feature tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from metaopt.data import Dataset

# the groups written in this package's core (landmarkers are tested in test_landmarkers.py)
CORE_GROUPS = ("general", "statistical", "info-theory")


def make_dataset(X: pd.DataFrame, y, kind: str) -> Dataset:
    """A Dataset built directly (no loader heuristics), for exact hand-computed checks."""
    X = X.copy()
    for c in X.columns:
        if not isinstance(X[c].dtype, pd.CategoricalDtype):
            X[c] = X[c].astype("float64")
    y = pd.Series(y, index=X.index, name="target")
    y = y.astype("float64") if kind == "regression" else y.astype("category")
    return Dataset(X=X, y=y, kind=kind)


@pytest.fixture
def mixed_dataset() -> Dataset:
    rng = np.random.default_rng(0)
    n = 300
    X = pd.DataFrame({
        "a": rng.normal(size=n),
        "b": rng.exponential(size=n),
        "c": pd.Categorical.from_codes(rng.integers(0, 3, n), categories=["x", "y", "z"]),
        "d": pd.Categorical.from_codes(rng.integers(0, 2, n), categories=["u", "v"]),
    })
    X.loc[::17, "a"] = np.nan
    y = np.where(X["b"] > 1, "pos", "neg")
    return make_dataset(X, y, "binary")


@pytest.fixture
def make_ds():
    """The :func:`make_dataset` factory, as a fixture (test modules do not import conftest)."""
    return make_dataset
