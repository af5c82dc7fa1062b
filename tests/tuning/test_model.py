"""The saved model file: atomic writes, the writability check, the schema's ID columns and value range."""

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
                          (tmp_path / "file" / "m.joblib", "is not a directory")]:
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
