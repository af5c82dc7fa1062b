"""``metaopt tune`` / ``metaopt predict`` end to end, and the saved model's checks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest

from metaopt.cli import main
from metaopt.tuning import ModelFileError, SchemaMismatchError, load_model

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "data" / "credit-g.csv"


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "metaopt", *args], capture_output=True, text=True)


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    """``metaopt tune examples/data/credit-g.csv --target class --trials 3 --output ...`` (console script)."""
    path = tmp_path_factory.mktemp("model") / "credit.joblib"
    proc = _cli("tune", str(EXAMPLE), "--target", "class", "--trials", "3", "--cv", "3", "--output", str(path))
    assert proc.returncode == 0, proc.stderr
    return path, proc


def test_tune_end_to_end_prints_summary_and_saves(model_file):
    path, proc = model_file
    assert path.is_file()
    out = proc.stdout
    assert "credit-g: 1000 rows x 20 features" in out
    assert "best CV roc_auc" in out and "library default" in out and "best configuration:" in out
    assert f"model saved to {path}" in out
    assert "trial" in proc.stderr  # the progress bar goes to stderr
    model = load_model(path)
    assert model.learner in ("lightgbm", "random_forest") and model.kind == "binary"
    assert model.metadata["summary"]["n_trials"] == 3


def test_predict_round_trip_csv_with_header(model_file, tmp_path, capsys):
    path, _ = model_file
    proc = _cli("predict", str(path), str(EXAMPLE))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "class" and len(lines) == 1001
    assert set(lines[1:]) <= {"good", "bad"}
    # same predictions as the Python API
    frame = pd.read_csv(EXAMPLE)
    assert lines[1:] == list(load_model(path).predict(frame))
    # probabilities to a file, rows in input order; the target column may be absent
    rows = frame.drop(columns=["class"]).head(7)
    rows.to_csv(tmp_path / "rows.csv", index=False)
    out = tmp_path / "proba.csv"
    assert main(["predict", str(path), str(tmp_path / "rows.csv"), "--proba", "--output", str(out)]) == 0
    assert capsys.readouterr().out == ""
    proba = pd.read_csv(out)
    assert list(proba.columns) == ["proba_bad", "proba_good"] and len(proba) == 7
    assert np.allclose(proba.sum(axis=1), 1)


def test_predict_refuses_mismatched_columns(model_file, tmp_path, capsys):
    path, _ = model_file
    frame = pd.read_csv(EXAMPLE).head(20)
    frame.drop(columns=["age", "duration"]).assign(extra=1).to_csv(tmp_path / "cols.csv", index=False)
    proc = _cli("predict", str(path), str(tmp_path / "cols.csv"))
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "'age'" in proc.stderr and "'duration'" in proc.stderr and "'extra'" in proc.stderr
    assert "missing" in proc.stderr and "unexpected" in proc.stderr
    # a numeric training column holding text
    frame.assign(duration="long").to_csv(tmp_path / "dtype.csv", index=False)
    assert main(["predict", str(path), str(tmp_path / "dtype.csv")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'duration'" in err and "numeric" in err


def test_predict_refuses_files_that_are_not_models(tmp_path, capsys):
    junk = tmp_path / "junk.joblib"
    junk.write_text("not a pickle")
    other = tmp_path / "other.joblib"
    joblib.dump({"weights": [1, 2, 3]}, other)
    for bad, fragment in [(junk, "not a metaopt model"), (other, "no metaopt model marker"),
                          (tmp_path / "missing.joblib", "not found")]:
        assert main(["predict", str(bad), str(EXAMPLE)]) == 2
        err = capsys.readouterr().err
        assert fragment in err and err.count("\n") == 1
    with pytest.raises(ModelFileError):
        load_model(other)


def test_tune_json_output(tmp_path, capsys):
    small = tmp_path / "small.csv"
    pd.read_csv(EXAMPLE).sample(200, random_state=1).to_csv(small, index=False)
    code = main(["tune", str(small), "--target", "class", "--trials", "2", "--cv", "2", "--json", "--quiet",
                 "--learner", "random_forest", "--no-warm-start", "--sampler", "random", "--metric", "accuracy"])
    captured = capsys.readouterr()
    assert code == 0
    doc = json.loads(captured.out)
    assert doc["learner"] == "random_forest" and doc["metric"] == "accuracy" and doc["n_trials"] == 2
    assert doc["warm_start"] == "off" and doc["model_path"] is None
    assert {"best_score", "best_params", "default_score", "beaten_after", "n_pruned", "n_failed"} <= set(doc)
    assert captured.err == ""  # --quiet: no progress bar


def test_tune_bad_metric_is_one_line(capsys):
    assert main(["tune", str(EXAMPLE), "--target", "class", "--metric", "rmse", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "does not apply to binary" in err and err.count("\n") == 1


def test_schema_accepts_reordered_and_target_columns(model_file):
    model = load_model(model_file[0])
    frame = pd.read_csv(EXAMPLE).head(30)
    base = model.predict(frame.drop(columns=["class"]))
    shuffled = frame[list(reversed(frame.columns))]
    assert list(model.predict(shuffled)) == list(base)
    with pytest.raises(SchemaMismatchError, match="missing column"):
        model.predict(frame.drop(columns=["age"]))
