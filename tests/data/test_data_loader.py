"""Target handling, task-kind inference, feature typing, ID/constant detection, datetime
expansion, in-memory inputs and content_hash."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from metaopt.data import Dataset, as_dataset, content_hash, infer_kind, load_data


def _feats(n=30, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"a": rng.normal(size=n), "b": rng.choice(["u", "v", "w"], n)})


# --------------------------------------------------------------------------- kind inference


@pytest.mark.parametrize("y, kind", [
    (np.arange(30) % 2, "binary"),                       # numeric, 2 values
    (np.where(np.arange(30) % 2, 0.5, 2.5), "binary"),   # float, 2 values
    (np.arange(30) % 3, "regression"),                   # integer codes, 3 values -> regression
    (np.linspace(0, 1, 30), "regression"),
    (np.array(["a", "b"] * 15), "binary"),
    (np.array(["a", "b", "c"] * 10), "multiclass"),
    (np.array([True, False] * 15), "binary"),
    (pd.Categorical(["lo", "mid", "hi"] * 10), "multiclass"),
])
def test_kind_inference(y, kind):
    ds = as_dataset(_feats(), y)
    assert ds.kind == kind
    if kind == "regression":
        assert ds.y.dtype == "float64"
    else:
        assert isinstance(ds.y.dtype, pd.CategoricalDtype)


def test_integer_coded_target_note_and_override():
    y = np.arange(30) % 4 + 1
    ds = as_dataset(_feats(), y)
    assert ds.kind == "regression"
    assert any("kind='multiclass'" in n for n in ds.notes)
    assert ds.essential_notes == [ds.meta["kind_note"]]  # every front end shows it, quiet or not
    assert "4 distinct integer values: treated as regression" in ds.meta["kind_note"]
    mc = as_dataset(_feats(), y, kind="multiclass")
    assert mc.kind == "multiclass"
    assert "kind_note" not in mc.meta and mc.essential_notes == []  # the user chose: nothing to say
    assert as_dataset(_feats(), np.arange(30) * 0.5).essential_notes == []  # not integer codes
    assert mc.y.cat.categories.tolist() == [1, 2, 3, 4]  # integral labels stay integers


def test_classification_alias_and_numeric_binary_labels():
    ds = as_dataset(_feats(), np.arange(30) % 2 * 1.0, kind="classification")
    assert ds.kind == "binary" and ds.y.cat.categories.tolist() == [0, 1]
    ds3 = as_dataset(_feats(), np.arange(30) % 3, kind="classification")
    assert ds3.kind == "multiclass"


def test_regression_override_on_numeric_strings():
    ds = as_dataset(_feats(), pd.Categorical(["1", "2", "3"] * 10), kind="regression")
    assert ds.kind == "regression" and ds.y.dtype == "float64" and ds.y.sum() == 60


def test_declared_but_unused_target_levels_removed(fixtures, tmp_path):
    p = tmp_path / "t.arff"
    p.write_text("@relation r\n@attribute x numeric\n@attribute y {a,b,c}\n@data\n"
                 + "".join(f"{i % 5},{'a' if i % 2 else 'b'}\n" for i in range(20)))
    ds = load_data(p)
    assert ds.kind == "binary" and ds.y.cat.categories.tolist() == ["a", "b"]


def test_target_keeps_declared_class_order(tmp_path):
    p = tmp_path / "order.arff"
    p.write_text("@relation r\n@attribute x numeric\n@attribute y {good,bad,ugly}\n@data\n"
                 + "".join(f"{i % 5},{['good', 'bad', 'ugly'][i % 3]}\n" for i in range(30)))
    assert load_data(p).y.cat.categories.tolist() == ["good", "bad", "ugly"]


def test_infer_kind_function():
    assert infer_kind(pd.Series([1.0, 2.0, 1.0])) == "binary"
    assert infer_kind(pd.Series(["a", "b", "c"])) == "multiclass"


# --------------------------------------------------------------------------- target


def test_missing_target_rows_dropped_and_reported(fixtures):
    ds = load_data(fixtures / "loans.csv")
    assert ds.target == "approved" and ds.kind == "binary"
    assert ds.n_rows == 12 and ds.meta["n_missing_target"] == 1 and ds.meta["n_rows_raw"] == 13
    assert any("dropped 1 row(s) with a missing target" in n for n in ds.notes)
    assert ds.X.index.equals(pd.RangeIndex(12)) and ds.y.index.equals(ds.X.index)
    assert not ds.y.isna().any()


def test_infinite_regression_target_treated_as_missing():
    y = np.linspace(0, 1, 30)
    y[3] = np.inf
    ds = as_dataset(_feats(), y)
    assert ds.n_rows == 29


def test_infinite_target_rows_are_reported_as_infinite_not_missing(tmp_path):
    """+-inf rows are dropped and said so (row_notes: shown by the CLI), apart from missing ones."""
    y = np.linspace(0, 1, 30)
    y[[3, 7]] = [np.inf, -np.inf]
    y[9] = np.nan
    ds = as_dataset(_feats(), y)
    assert ds.n_rows == 27 and ds.meta["n_infinite_target"] == 2 and ds.meta["n_missing_target"] == 1
    assert ds.meta["row_notes"] == ["dropped 1 row(s) with a missing target 'target'",
                                    "dropped 2 row(s) with an infinite target 'target' (+inf/-inf)"]
    assert all(n in ds.notes for n in ds.meta["row_notes"])
    # the same from a file ("inf" in a CSV is read as infinity)
    _feats().assign(y=y).to_csv(tmp_path / "inf.csv", index=False)
    ds = load_data(tmp_path / "inf.csv", target="y")
    assert ds.meta["n_infinite_target"] == 2 and any("infinite target 'y'" in n for n in ds.meta["row_notes"])
    assert load_data(tmp_path / "inf.csv", target="a").meta["row_notes"] == []


def test_target_by_position_and_by_y_name():
    f = _feats().assign(t=np.arange(30) % 2)
    assert as_dataset(f, target=-1).target == "t"
    assert as_dataset(f, "t").target == "t"                # y given as a column name
    assert load_data(f, "t").target == "t"
    ys = pd.Series(np.arange(30) % 2, name="outcome")
    ds = load_data(_feats(), ys)                            # Series as the 2nd positional arg
    assert ds.target == "outcome"


def test_default_target_of_file_is_last_column(fixtures):
    ds = load_data(fixtures / "weather.arff")
    assert ds.target == "label value" and ds.kind == "binary"
    assert ds.name == "weather" and ds.source.endswith("weather.arff")
    assert ds.meta["format"] == "arff"


# --------------------------------------------------------------------------- features


def test_feature_types_from_csv(fixtures):
    ds = load_data(fixtures / "loans.csv")
    X = ds.X
    assert X["amount"].dtype == "float64" and X["term"].dtype == "float64"
    assert isinstance(X["purpose"].dtype, pd.CategoricalDtype)
    # booleans -> nominal False/True
    assert X["is_online"].cat.categories.tolist() == ["False", "True"]
    assert X["is_online"].isna().sum() == 1
    assert ds.meta["bool_columns"] == ["is_online"]
    # id-like dropped, constant and all-missing kept and reported
    assert ds.dropped == {"loan_id": "id-like"}
    assert "constant" in X.columns and "empty" in X.columns
    assert "constant" in ds.meta["constant_columns"] and ds.meta["all_missing_columns"] == ["empty"]
    assert any(n.startswith("constant column(s) kept") for n in ds.notes)
    assert any(n.startswith("all-missing column(s) kept") for n in ds.notes)


def test_datetime_expansion_from_strings(fixtures):
    ds = load_data(fixtures / "loans.csv")
    X = ds.X
    assert "opened" not in X.columns
    cols = ds.meta["datetime_columns"]["opened"]
    assert cols == ["opened_year", "opened_month", "opened_day", "opened_dayofweek", "opened_days"]
    assert X.loc[0, "opened_year"] == 2021 and X.loc[0, "opened_month"] == 3
    assert X.loc[0, "opened_day"] == 1 and X.loc[0, "opened_dayofweek"] == 0  # 2021-03-01 = Monday
    assert X.loc[0, "opened_days"] == (pd.Timestamp("2021-03-01") - pd.Timestamp("1970-01-01")).days
    assert all(X[c].dtype == "float64" for c in cols)


def test_datetime_expansion_from_arff_date_with_time(fixtures):
    ds = load_data(fixtures / "weather.arff")
    cols = ds.meta["datetime_columns"]["observed"]
    assert "observed_hour" in cols and "observed_minute" in cols
    assert ds.X.loc[0, "observed_hour"] == 9 and ds.X.loc[0, "observed_minute"] == 30
    assert ds.X["observed_days"].isna().sum() == 1  # the '?' date
    assert ds.X.loc[0, "observed_days"] == pytest.approx(19723 + 9.5 / 24)


def test_datetime_dtype_and_tz_columns():
    n = 30
    f = pd.DataFrame({
        "when": pd.date_range("2020-01-01", periods=n, freq="D"),
        "tz": pd.date_range("2020-01-01 12:00", periods=n, freq="h", tz="Europe/Berlin"),
        "x": np.arange(n) * 1.5 % 7,
    })
    ds = as_dataset(f, np.arange(n) % 2)
    assert "when" not in ds.X.columns and "when_year" in ds.X.columns
    assert "tz_hour" in ds.X.columns and ds.X.loc[0, "tz_hour"] == 11  # converted to UTC
    assert set(ds.meta["datetime_columns"]) == {"when", "tz"}


def test_non_date_strings_stay_nominal():
    f = pd.DataFrame({"code": ["2020-1", "A-12", "x"] * 10, "num": [str(i % 4) for i in range(30)]})
    ds = as_dataset(f, np.arange(30) % 2)
    assert isinstance(ds.X["code"].dtype, pd.CategoricalDtype)
    assert ds.X["num"].dtype == "float64"  # numeric strings become numbers


def test_categorical_levels_kept_in_declared_order(fixtures):
    ds = load_data(fixtures / "weather.arff")
    assert ds.X["outlook"].cat.categories.tolist() == ["sunny", "overcast", "rainy"]
    assert ds.X["windy"].cat.categories.tolist() == ["TRUE", "FALSE"]  # ARFF nominal, not bool
    f = pd.DataFrame({"c": pd.Categorical(["b", "a"] * 10, categories=["b", "a", "z"])})
    ds2 = as_dataset(f, np.arange(20) % 2)
    assert ds2.X["c"].cat.categories.tolist() == ["b", "a", "z"]  # unused declared level kept


def test_non_string_categories_become_strings():
    f = pd.DataFrame({"c": pd.Categorical([1, 2, 3] * 10), "o": [1, "a", None] * 10})
    ds = as_dataset(f, np.arange(30) % 2)
    assert ds.X["c"].cat.categories.tolist() == ["1", "2", "3"]
    assert isinstance(ds.X["o"].dtype, pd.CategoricalDtype) and ds.X["o"].isna().sum() == 10


def test_numeric_variants_become_float64():
    n = 20
    f = pd.DataFrame({"i8": np.arange(n, dtype=np.int8) % 3, "nullable": pd.array([1, None] * 10, dtype="Int64"),
                      "u": np.arange(n, dtype=np.uint32) % 5, "inf": [np.inf, 1.0] * 10,
                      "obj": pd.Series([1, 2.5, None, 4] * 5, dtype=object)})
    ds = as_dataset(f, np.arange(n) % 2)
    assert all(ds.X[c].dtype == "float64" for c in ds.X.columns)
    assert ds.X["nullable"].isna().sum() == 10
    assert np.isinf(ds.X["inf"]).sum() == 10  # inf kept


def test_bool_dtypes_become_nominal():
    n = 20
    f = pd.DataFrame({"b": np.arange(n) % 2 == 0, "nb": pd.array([True, None] * 10, dtype="boolean"),
                      "ob": pd.Series([True, False, None, True] * 5, dtype=object), "x": np.arange(n) % 3})
    ds = as_dataset(f, np.arange(n) % 2)
    for c in ("b", "nb", "ob"):
        assert ds.X[c].cat.categories.tolist() == ["False", "True"]
    assert ds.X["nb"].isna().sum() == 10


def test_timedelta_becomes_seconds():
    f = pd.DataFrame({"d": pd.to_timedelta(np.arange(20), unit="m"), "x": np.arange(20) % 3})
    ds = as_dataset(f, np.arange(20) % 2)
    assert ds.X.loc[2, "d"] == 120.0


# --------------------------------------------------------------------------- ID-like detection


@pytest.mark.parametrize("col, values, dropped", [
    ("id", np.arange(1, 41), True),                                   # row counter named id
    ("counter", np.arange(40, 0, -1), True),                          # row counter, descending
    ("Patient_ID", np.random.default_rng(1).permutation(40) * 7, True),  # unique, named like id
    ("CustomerId", np.random.default_rng(2).permutation(40), True),   # camel case
    ("case_no", np.arange(40) * 3 + 5, True),                         # "no" as last token
    ("name", [f"person {i}" for i in range(40)], True),               # unique strings
    ("year", np.arange(1950, 1990), False),                           # time index: a feature
    ("Time_index", np.arange(40), False),
    ("value", np.random.default_rng(3).permutation(40), False),       # unique but not a counter
    ("number_of_rooms", np.random.default_rng(4).permutation(40), False),
    ("grp", ["a", "b", "c", "d"] * 10, False),
    ("score", np.linspace(0, 1, 40), False),                          # non-integer
])
def test_id_like_detection(col, values, dropped):
    f = pd.DataFrame({col: values, "x": np.arange(40) % 7})
    ds = as_dataset(f, np.arange(40) % 2)
    assert (col in ds.dropped) is dropped
    assert (col in ds.X.columns) is not dropped
    if dropped:
        assert ds.dropped[col] == "id-like"
        assert any("id-like" in n for n in ds.notes)


def test_id_like_kept_when_disabled():
    f = pd.DataFrame({"id": np.arange(40), "x": np.arange(40) % 7})
    ds = as_dataset(f, np.arange(40) % 2, drop_id_like=False)
    assert "id" in ds.X.columns and ds.dropped == {}


def test_nearly_unique_id_with_duplicates():
    ids = np.arange(100)
    ids[::10] = 0  # 91 % distinct, named Id (like breast-w's Id)
    f = pd.DataFrame({"Id": ids, "x": np.arange(100) % 7})
    assert "Id" in as_dataset(f, np.arange(100) % 2).dropped


# --------------------------------------------------------------------------- in-memory inputs


def test_numpy_inputs():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3))
    ds = as_dataset(X, (X[:, 0] > 0).astype(int))
    assert list(ds.X.columns) == ["x0", "x1", "x2"]
    assert ds.kind == "binary" and ds.target == "target"
    ds2 = load_data((X, X[:, 1]))
    assert ds2.kind == "regression"
    ds3 = load_data(X, y=rng.integers(0, 3, 50).astype(str))
    assert ds3.kind == "multiclass"


def test_list_inputs_and_column_vector_y():
    X = [[i % 4, i % 3] for i in range(20)]
    y = np.array([[i % 2] for i in range(20)])
    ds = as_dataset(X, y)
    assert ds.n_rows == 20 and ds.n_features == 2


def test_legacy_signatures(fixtures):
    # the calls other modules already make
    ds = load_data(str(fixtures / "weather.arff"), "label value")
    assert isinstance(ds, Dataset)
    f = _feats().assign(t=np.arange(30) % 2)
    ds2 = as_dataset(f.drop(columns="t"), f["t"], kind="binary", target="t", name="demo")
    assert ds2.name == "demo" and ds2.target == "t" and ds2.kind == "binary"
    assert as_dataset(ds2) is ds2 and load_data(ds2) is ds2
    assert load_data(ds2, kind="classification").kind == "binary"


def test_index_is_reset_and_input_untouched():
    f = _feats().assign(t=np.arange(30) % 2)
    f.index = np.arange(100, 130)
    before = f.copy()
    ds = as_dataset(f, target="t")
    assert ds.X.index.equals(pd.RangeIndex(30))
    pd.testing.assert_frame_equal(f, before)


def test_y_named_like_a_feature_rejected():
    from metaopt.exceptions import DuplicateColumnError

    with pytest.raises(DuplicateColumnError):
        as_dataset(_feats(), pd.Series(np.arange(30) % 2, name="a"))


def test_context_prepare_accepts_loaded_data(fixtures):
    from metaopt.features._context import prepare

    ctx = prepare(load_data(fixtures / "weather.arff"))
    assert ctx.n_classes == 2 and ctx.cat.shape[1] == 3
    assert ctx.cat_levels.tolist() == [3, 2, 6]  # outlook, windy, remark


# --------------------------------------------------------------------------- content_hash


def test_content_hash_stable_and_sensitive(fixtures):
    a = load_data(fixtures / "loans.csv")
    b = load_data(fixtures / "loans.csv", name="other")
    h = content_hash(a)
    assert len(h) == 64 and h == content_hash(b)  # name is not content
    c = load_data(fixtures / "loans.csv")
    c.X.loc[0, "amount"] += 1
    assert content_hash(c) != h
    d = load_data(fixtures / "loans.csv", kind="classification")
    assert content_hash(d) == h  # same kind
    e = load_data(fixtures / "loans.csv", drop_id_like=False)
    assert content_hash(e) != h


def test_content_hash_ignores_level_order_and_unused_levels():
    base = pd.DataFrame({"c": ["x", "y", "z"] * 10, "n": np.arange(30) % 4})
    y = np.arange(30) % 2
    a = as_dataset(base.assign(c=pd.Categorical(base["c"], categories=["x", "y", "z"])), y)
    b = as_dataset(base.assign(c=pd.Categorical(base["c"], categories=["z", "q", "y", "x"])), y)
    assert content_hash(a) == content_hash(b)


def test_content_hash_known_value():
    """Pins the digest so an accidental change of the hashing scheme is noticed."""
    f = pd.DataFrame({"n": [0.0, -0.0, np.nan, 1.5] * 3, "c": ["a", "b", None, "a"] * 3})
    ds = as_dataset(f, np.array([0, 1] * 6), min_rows=1)
    assert content_hash(ds) == content_hash(as_dataset(f.assign(n=[0.0, 0.0, np.nan, 1.5] * 3),
                                                       np.array([0, 1] * 6), min_rows=1))
    assert content_hash(ds) == _PINNED


_PINNED = "18571ffd98a6f3ec0460e9476d24c71c1de6ccb82230908b598da65a69a896ee"


def test_schema_hash_is_shared_by_versions_of_a_table_and_no_other_schema():
    """Last month's rows and this month's, in any column order, are one table; another column, target or
    kind is another."""
    from metaopt.data import schema_hash

    f = pd.DataFrame({"n": np.arange(40) % 7, "c": ["a", "b"] * 20, "y": np.arange(40) % 2})
    h = schema_hash(as_dataset(f, target="y"))
    assert len(h) == 64
    assert schema_hash(as_dataset(f.iloc[::-1].assign(n=lambda d: d["n"] * 2.5)[["c", "y", "n"]], target="y")) == h
    assert schema_hash(as_dataset(f.assign(m=np.arange(40) % 3), target="y")) != h  # a new column
    assert schema_hash(as_dataset(f.rename(columns={"y": "z"}), target="z")) != h  # another target name
    assert schema_hash(as_dataset(f, target="y", kind="regression")) != h  # another kind


def test_a_sparse_x_is_turned_dense_where_it_fits_and_refused_in_one_error_where_not():
    """A scikit-learn pipeline's sparse output (one-hot of credit-g's nominal columns); before: pandas made it
    one column of matrix objects and the loader failed with "unhashable type: 'csr_matrix'"."""
    import scipy.sparse
    from sklearn.preprocessing import OneHotEncoder

    from metaopt.data._loader import MAX_DENSE_CELLS
    from metaopt.exceptions import DataError
    from shared_support import REPO

    credit = load_data(REPO / "examples" / "data" / "credit-g.csv", target="class")
    nominal = [c for c in credit.X.columns if isinstance(credit.X[c].dtype, pd.CategoricalDtype)]
    sparse = OneHotEncoder().fit_transform(credit.X[nominal].astype(str))
    assert scipy.sparse.issparse(sparse)
    ds = as_dataset(sparse, credit.y)
    assert ds.X.shape == sparse.shape and list(ds.X.columns[:2]) == ["x0", "x1"]
    assert np.array_equal(ds.X.to_numpy(dtype="float64"), sparse.toarray())
    too_big = scipy.sparse.csr_matrix((MAX_DENSE_CELLS // 1000 + 1, 1000))  # no cell set: cheap to build
    with pytest.raises(DataError, match=r"sparse matrix of 50001 x 1000: dense, as metaopt needs it, it would "
                                        r"take 0.4 GB; reduce its columns first .* to at most 999"):
        as_dataset(too_big, np.zeros(too_big.shape[0]))
