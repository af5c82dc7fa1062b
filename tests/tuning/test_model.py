"""The saved model file: atomic writes, the writability check, the schema's ID columns, value range and dtypes."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from metaopt.exceptions import DataError
from metaopt.tuning import ColumnSchema, ModelFileError, SchemaMismatchError, TunedModel, load_model
from metaopt.tuning._model import MAX_FEATURE_MAGNITUDE, check_feature_magnitude, check_output_path


def _model(**metadata) -> TunedModel:
    schema = ColumnSchema(input_columns=["a"], features=["a"], types={"a": "numeric"}, target="y",
                          dropped={"row_id": "id-like", "junk": "openml-ignore", "rid": "openml-row-id"})
    return TunedModel(None, schema, learner="lightgbm", kind="regression", params={}, metadata=metadata)


def test_save_replaces_atomically_and_a_failed_save_keeps_the_previous_file(tmp_path):
    path = tmp_path / "model.joblib"
    assert _model(version=1).save(path) == path
    assert _model(version=2).save(path) == path  # replaces the previous file
    assert load_model(path).metadata == {"version": 2}
    with pytest.raises((pickle.PicklingError, AttributeError, TypeError)):
        _model(callback=lambda: None).save(path)  # cannot be pickled: fails half-way through the dump
    assert load_model(path).metadata == {"version": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["model.joblib"]  # no temporary file left


def test_output_path_check_names_the_problem(tmp_path):
    (tmp_path / "file").write_text("x")
    for bad, fragment in [(tmp_path, "is a directory"), (tmp_path / "nope" / "m.joblib", "does not exist"),
                          (tmp_path / "file" / "m.joblib", "is not a directory"),
                          (tmp_path / "m.csv", "the name says csv data, but a model file is a joblib pickle"),
                          (tmp_path / "M.Parquet", "the name says parquet data"),
                          (tmp_path / "m.arff.gz", "the name says arff data")]:
        with pytest.raises(ModelFileError, match=fragment):
            check_output_path(bad)
        with pytest.raises(ModelFileError, match=fragment):
            _model().save(bad)


def test_schema_id_columns():
    assert _model().schema.id_columns == ["row_id", "rid"]


def test_value_range_is_checked_in_training_and_prediction():
    ok = pd.DataFrame({"a": [MAX_FEATURE_MAGNITUDE, -1.0, np.inf, np.nan], "c": pd.Categorical(list("xyxy"))})
    check_feature_magnitude(ok)  # the limit itself, inf (= missing for the learners) and NaN pass
    bad = ok.assign(a=[1e39, -1e300, 0.0, 1.0])
    with pytest.raises(DataError, match=r"'a' \(2 value\(s\), up to 1e\+300\)"):
        check_feature_magnitude(bad)
    with pytest.raises(SchemaMismatchError, match="trained on values within that range"):
        _model().prepare(bad[["a"]])
    assert _model().prepare(ok[["a"]])["a"].iloc[0] == MAX_FEATURE_MAGNITUDE


def test_the_raw_frame_of_every_pandas_dtype_is_prepared_as_the_features_it_was_trained_on():
    """Nullable integers, floats and booleans, pyarrow strings, zoned datetimes and timedeltas: what the model
    receives at prediction is what metaopt.data made of the same frame in training (a timedelta column was
    refused at prediction before)."""
    from metaopt.data import load_data

    rng = np.random.default_rng(0)
    n = 60
    raw = pd.DataFrame({
        "i": pd.array(rng.integers(0, 10, n), dtype="Int64"),
        "f": pd.array(rng.normal(size=n), dtype="Float64"),
        "b": pd.array(rng.choice([True, False], n), dtype="boolean"),
        "s": pd.Series(rng.choice(["a", "b", "c"], n), dtype="string[pyarrow]"),
        "t": pd.date_range("2021-01-01", periods=n, freq="D", tz="Europe/Berlin"),
        "d": pd.to_timedelta(rng.integers(0, 100, n), unit="h"),
        "y": rng.normal(size=n),
    })
    raw.loc[::7, "i"], raw.loc[::5, "b"], raw.loc[::9, "s"], raw.loc[::4, "d"] = pd.NA, pd.NA, pd.NA, pd.NaT
    ds = load_data(raw, target="y")
    prepared = ColumnSchema.from_dataset(ds).prepare(raw)
    pd.testing.assert_frame_equal(prepared, ds.X, check_categorical=False)
    assert prepared["d"].iloc[1] == raw["d"].iloc[1].total_seconds() and np.isnan(prepared["d"].iloc[0])
    pd.testing.assert_frame_equal(ColumnSchema.from_dataset(ds).prepare(raw.iloc[5:9].drop(columns="y")),
                                  ds.X.iloc[5:9], check_categorical=False)


def test_values_not_seen_in_training_are_said_once_and_predicted_as_missing(tmp_path, capsys):
    """A real model of credit-g: a new 'purpose' level is read as missing by the fitted preprocessing, and
    both ``predict`` and ``metaopt predict`` say so; the training rows raise no warning."""
    import warnings
    from pathlib import Path

    from metaopt.cli import main
    from metaopt.tuning import tune

    rows = pd.read_csv(Path(__file__).resolve().parents[2] / "examples" / "data" / "credit-g.csv").iloc[:300]
    model = tune(rows, target="class", learner="lightgbm", n_trials=1, cv=2, ensemble=False, progress=False,
                 random_state=0).model
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        known = model.predict_proba(rows)
    new = rows.head(3).assign(purpose=["spaceship", "spaceship", rows["purpose"].iloc[2]])
    with pytest.warns(UserWarning, match=r"not seen in training, predicted as missing: 'purpose' \(2 row\(s\), "
                                         r"e\.g\. 'spaceship'\)"):
        proba = model.predict_proba(new)
    as_missing = model.predict_proba(rows.head(3).assign(purpose=[np.nan, np.nan, rows["purpose"].iloc[2]]))
    np.testing.assert_allclose(proba, as_missing)
    np.testing.assert_allclose(proba[2], known[2])
    model.save(tmp_path / "m.joblib")
    new.to_csv(tmp_path / "new.csv", index=False)
    assert main(["predict", str(tmp_path / "m.joblib"), str(tmp_path / "new.csv"),
                 "--output", str(tmp_path / "p.csv")]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["metaopt: warning: values not seen in training, predicted as missing: 'purpose' (2 row(s), "
                   "e.g. 'spaceship')"], err
    assert len(pd.read_csv(tmp_path / "p.csv")) == 3
