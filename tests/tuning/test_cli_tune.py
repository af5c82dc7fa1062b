"""``metaopt tune`` / ``metaopt predict`` end to end, and the saved model's checks."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest

from metaopt.cli import main
from metaopt.exceptions import ConfigError, DataError
from metaopt.tuning import ModelFileError, SchemaMismatchError, load_model, tune

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
    assert model.learner in ("lightgbm", "random_forest", "extra_trees") and model.kind == "binary"
    assert model.metadata["summary"]["n_trials"] == 3


def test_tune_extra_trees_warm_started_from_the_shipped_kb(tmp_path):
    path = tmp_path / "et.joblib"
    proc = _cli("tune", str(EXAMPLE), "--target", "class", "--learner", "extra_trees", "--trials", "4", "--cv", "3",
                "--no-ensemble", "--output", str(path))
    assert proc.returncode == 0, proc.stderr
    assert "4 warm-started" in proc.stdout
    model = load_model(path)
    assert model.learner == "extra_trees" and type(model.fitted.estimator).__name__ == "ExtraTreesClassifier"
    pred = _cli("predict", str(path), str(EXAMPLE))
    assert pred.returncode == 0 and len(pred.stdout.splitlines()) == 1001


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


def test_predict_and_tune_read_standard_input_for_a_pipeline(model_file):
    """``cat new.csv | metaopt predict model.joblib - > predictions.csv`` (gzip too, found by its magic bytes);
    ``-`` with nothing piped is one line."""
    import gzip

    path, _ = model_file
    by_file = _cli("predict", str(path), str(EXAMPLE)).stdout
    for piped in (EXAMPLE.read_bytes(), gzip.compress(EXAMPLE.read_bytes())):
        proc = subprocess.run([sys.executable, "-m", "metaopt", "predict", str(path), "-"], input=piped,
                              capture_output=True)
        assert proc.returncode == 0 and proc.stdout.decode() == by_file, proc.stderr
    proc = subprocess.run([sys.executable, "-m", "metaopt", "predict", str(path), "-"], input=b"", capture_output=True)
    assert proc.returncode == 2 and proc.stderr.decode().startswith("metaopt: error: standard input is empty")
    proc = subprocess.run([sys.executable, "-m", "metaopt", "tune", "-", "--target", "class", *QUICK, "--json"],
                          input=EXAMPLE.read_bytes(), capture_output=True)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["dataset"] == "stdin"


def test_predict_writes_the_format_the_output_file_names(model_file, tmp_path, capsys):
    path, _ = model_file
    want = list(load_model(path).predict(pd.read_csv(EXAMPLE)))
    read = {"p.parquet": pd.read_parquet, "p.tsv": lambda f: pd.read_csv(f, sep="\t"), "p.csv.gz": pd.read_csv}
    for name, reader in read.items():
        assert main(["predict", str(path), str(EXAMPLE), "--output", str(tmp_path / name)]) == 0
        assert reader(tmp_path / name)["class"].tolist() == want, name
    if (tmp_path / "p.csv.gz").read_bytes()[:2] != b"\x1f\x8b":
        pytest.fail("p.csv.gz is not gzip-compressed")
    capsys.readouterr()
    rows = tmp_path / "rows.csv"
    pd.read_csv(EXAMPLE).head(5).to_csv(rows, index=False)
    before = rows.read_bytes()
    for bad, says in ((tmp_path / "no" / "p.csv", "does not exist"), (tmp_path, "is a directory"),
                      (rows, "is the data file; the predictions would replace its rows")):
        assert main(["predict", str(path), str(rows), "--output", str(bad)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and says in err and "Traceback" not in err
    assert rows.read_bytes() == before


def test_predict_ignores_columns_the_model_was_not_trained_on_and_says_so(model_file, tmp_path, capsys):
    """A table of new rows with a bookkeeping column scores as without it (AutoGluon and H2O do the same); a
    new identifier named by --id-column is copied, not warned about."""
    path, _ = model_file
    frame = pd.read_csv(EXAMPLE).head(20).drop(columns=["class"])
    frame.to_csv(tmp_path / "plain.csv", index=False)
    frame.assign(scored_by="batch 7", order_no=[f"A{i:03d}" for i in range(20)]).to_csv(tmp_path / "extra.csv",
                                                                                         index=False)
    plain = _cli("predict", str(path), str(tmp_path / "plain.csv"))
    extra = _cli("predict", str(path), str(tmp_path / "extra.csv"))
    assert plain.returncode == 0 and extra.returncode == 0, extra.stderr
    assert extra.stdout == plain.stdout and plain.stderr == ""
    assert extra.stderr == ("metaopt: warning: column(s) the model was not trained on, ignored: 'scored_by', "
                            "'order_no'\n")
    ided = _cli("predict", str(path), str(tmp_path / "extra.csv"), "--id-column", "order_no", "--proba")
    assert ided.returncode == 0, ided.stderr
    out = pd.read_csv(io.StringIO(ided.stdout))
    assert list(out.columns) == ["order_no", "proba_bad", "proba_good"] and out["order_no"].iloc[3] == "A003"
    assert ided.stderr == "metaopt: warning: column(s) the model was not trained on, ignored: 'scored_by'\n"
    with pytest.warns(UserWarning, match="not trained on, ignored: 'scored_by'"):
        labels = load_model(path).predict(frame.assign(scored_by="x"))
    assert list(labels) == plain.stdout.splitlines()[1:]


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


# --------------------------------------------------------------------------- input checks before the search
QUICK = ["--trials", "2", "--cv", "2", "--learner", "random_forest", "--no-warm-start", "--sampler", "random"]


def _one_line_error(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("metaopt: error:"), proc.stderr
    assert "Traceback" not in proc.stderr
    return proc.stderr


def _cannot_create(path: Path) -> bool:
    if not path.parent.is_dir() or path.exists():
        return False
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except OSError:
        return True
    path.unlink()
    return False


@pytest.fixture(scope="module")
def small_csv(tmp_path_factory):
    """200 rows of credit-g (141 good, 59 bad)."""
    path = tmp_path_factory.mktemp("small") / "small.csv"
    pd.read_csv(EXAMPLE).sample(200, random_state=1).to_csv(path, index=False)
    return path


def test_unwritable_output_is_refused_before_the_search(small_csv, tmp_path):
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    targets = [(a_file / "model.joblib", "is not a directory")]
    if _cannot_create(Path("/sys/metaopt-probe.joblib")):  # even root cannot create files in sysfs
        targets.append((Path("/sys/metaopt-probe.joblib"), "cannot write model file"))
    for out, fragment in targets:
        # no --quiet: the progress bar would show on stderr if the search had started
        err = _one_line_error(_cli("tune", str(small_csv), "--target", "class", *QUICK, "--output", str(out)))
        assert fragment in err and str(out) in err
    assert a_file.read_text() == "x"


def test_a_model_file_named_like_the_data_is_refused_and_the_data_kept(small_csv, tmp_path):
    data = tmp_path / "train.data"  # a data file whose name does not say so
    data.write_bytes(small_csv.read_bytes())
    for out, says in ((data, "is the data file; the model would overwrite it"),
                      (small_csv, "the name says csv data")):
        err = _one_line_error(_cli("tune", str(out), "--target", "class", *QUICK, "--output", str(out)))
        assert says in err
    assert data.read_bytes() == small_csv.read_bytes()


def test_output_check_leaves_no_file_behind(tmp_path):
    from metaopt.tuning._model import check_output_path

    assert check_output_path(tmp_path / "new.joblib") == tmp_path / "new.joblib"
    old = tmp_path / "old.joblib"
    old.write_bytes(b"previous model")
    before = old.stat().st_mtime_ns
    check_output_path(old)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.joblib"]
    assert old.read_bytes() == b"previous model" and old.stat().st_mtime_ns == before


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (a device where every write fails)")
def test_failed_save_still_prints_the_summary(small_csv):
    """/dev/full passes the check (it opens for writing) but the write fails: summary, then one line."""
    proc = _cli("tune", str(small_csv), "--target", "class", *QUICK, "--quiet", "--output", "/dev/full")
    err = _one_line_error(proc)
    assert "cannot write model file '/dev/full'" in err and "No space left" in err
    assert "best CV roc_auc" in proc.stdout and "best configuration:" in proc.stdout
    assert "model saved" not in proc.stdout


def test_too_many_folds_are_refused_at_once(small_csv):
    # (before the fix this ran leave-one-out for many minutes: the subprocess timeout makes that a failure)
    proc = subprocess.run([sys.executable, "-m", "metaopt", "tune", str(small_csv), "--target", "class",
                           "--cv", "500", "--quiet"], capture_output=True, text=True, timeout=120)
    err = _one_line_error(proc)
    assert "cv=500" in err and "200 rows" in err and "use cv <= 200" in err
    with pytest.raises(ConfigError, match="largest class"):  # 141 'good' rows: stratified folds impossible
        tune(small_csv, target="class", cv=150, progress=False)


def test_a_study_name_without_storage_is_refused(small_csv, capsys):
    """--study-name alone would run an in-memory study, lost at exit: refused before any work."""
    rc = main(["tune", str(small_csv), "--target", "class", "--trials", "1", "--study-name", "mine"])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "--study-name 'mine' names a study in --storage" in err


def test_a_study_of_two_objectives_or_the_other_direction_is_refused_and_kept(small_csv, tmp_path):
    """A user's own study under the name given (before: a traceback from Optuna for two objectives)."""
    import optuna

    url = f"sqlite:///{tmp_path / 'own.db'}"
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    for name, directions in (("score_and_size", ["maximize", "minimize"]), ("loss", ["minimize"])):
        own = optuna.create_study(storage=url, study_name=name, directions=directions)
        own.optimize(lambda t: [t.suggest_float("learning_rate", 0.01, 0.3)] * len(directions), n_trials=2)
    for name, says in (("score_and_size", "has 2 objectives, but metaopt tune optimises one metric ('roc_auc')"),
                       ("loss", "is a minimize study, but metric 'roc_auc' needs maximize")):
        err = _one_line_error(_cli("tune", str(small_csv), "--target", "class", *QUICK, "--quiet", "--storage", url,
                                   "--study-name", name))
        assert says in err and "use another study name" in err
        kept = optuna.load_study(study_name=name, storage=url)
        assert len(kept.trials) == 2 and not kept.user_attrs


def test_a_target_of_one_row_per_class_is_named_as_such(tmp_path):
    """An identifier passed as a classification target: no cv can fold it, so the error says what is wrong
    (before: "use cv <= 1", which no cv satisfies)."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=40), "user": [f"u{i}" for i in range(40)]})
    path = tmp_path / "ids.csv"
    frame.to_csv(path, index=False)
    proc = subprocess.run([sys.executable, "-m", "metaopt", "tune", str(path), "--target", "user", "--quiet"],
                          capture_output=True, text=True, timeout=120)
    err = _one_line_error(proc)
    assert "every class of target 'user' has a single row (40 classes in 40 rows)" in err and "cv <=" not in err
    with pytest.raises(DataError, match="single row"):
        tune(frame, target="user", n_trials=1, progress=False)


def test_valid_folds_with_a_small_class_and_infinite_targets_run_with_notes():
    """A class smaller than cv keeps running (stratified folds, as before); dropped rows are said."""
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60)})
    y = pd.Series(np.r_[["x"] * 30, ["y"] * 27, ["z"] * 3]).astype(object)
    y_num = pd.Series(rng.normal(size=60))
    y_num[[4, 9]] = [np.inf, -np.inf]
    res = tune(X, y, cv=4, n_trials=1, learner="random_forest", warm_start=False, sampler="random",
               progress=False, metric="accuracy")
    assert res.summary.n_complete == 1
    assert any("fewer rows than cv=4" in n and "'z' (3 rows)" in n for n in res.summary.notes)
    res = tune(X, y_num, cv=3, n_trials=1, learner="random_forest", warm_start=False, sampler="random",
               progress=False)
    assert res.summary.n_rows == 58
    assert "note: dropped 2 row(s) with an infinite target 'target' (+inf/-inf)" in str(res.summary)


def test_an_integer_coded_target_taken_as_regression_is_said_before_the_search_and_after(tmp_path):
    path = tmp_path / "codes.csv"
    pd.read_csv(EXAMPLE).head(120).assign(rating=lambda f: f.index % 4).drop(columns="class").to_csv(path, index=False)
    proc = _cli("tune", str(path), "--target", "rating", "--trials", "1", "--cv", "3", "--learner", "linear")
    assert proc.returncode == 0, proc.stderr
    note = "target 'rating' is numeric with 4 distinct integer values: treated as regression"
    lines = proc.stderr.splitlines()
    header = next(i for i, line in enumerate(lines) if "(regression); learner linear" in line)
    assert lines[header + 1].startswith(f"metaopt: note: {note}")  # with the header, before any wait
    assert f"note: {note}" in proc.stdout  # and in the summary's notes


def test_huge_feature_values_are_refused_before_the_search(small_csv, tmp_path):
    frame = pd.read_csv(small_csv)
    frame["credit_amount"] = frame["credit_amount"] * 1e300
    frame["age"] = frame["age"].astype("float64")
    frame.loc[3, "age"] = -1e300
    frame.to_csv(tmp_path / "huge.csv", index=False)
    err = _one_line_error(_cli("tune", str(tmp_path / "huge.csv"), "--target", "class", *QUICK))
    assert "'credit_amount' (200 value(s)" in err and "'age' (1 value(s)" in err and "rescale" in err
    with pytest.raises(DataError, match="beyond"):
        tune(frame, target="class", n_trials=1, progress=False)
    with pytest.raises(DataError, match="None"):
        tune(None, n_trials=1, progress=False)


# --------------------------------------------------------------------------- predict: IDs, models in Python
@pytest.fixture(scope="module")
def id_model(tmp_path_factory, small_csv):
    """A model trained on data with an identifier column (dropped as id-like) of zero-padded IDs."""
    folder = tmp_path_factory.mktemp("ids")
    frame = pd.read_csv(small_csv)
    frame.insert(0, "customer_id", [f"{i:05d}" for i in range(len(frame))])
    frame.to_csv(folder / "train.csv", index=False)
    res = tune(folder / "train.csv", target="class", n_trials=1, cv=2, learner="random_forest",
               warm_start=False, sampler="random", progress=False)
    assert res.model.schema.id_columns == ["customer_id"]
    frame.drop(columns=["class"]).head(6).to_csv(folder / "new.csv", index=False)
    return res.save(folder / "model.joblib"), folder / "new.csv"


def test_predict_carries_the_id_column(id_model, tmp_path, capsys):
    model_path, new = id_model
    proc = _cli("predict", str(model_path), str(new))
    assert proc.returncode == 0, proc.stderr
    out = pd.read_csv(io.StringIO(proc.stdout), dtype=str)
    assert list(out.columns) == ["customer_id", "class"]
    assert out["customer_id"].tolist() == ["00000", "00001", "00002", "00003", "00004", "00005"]
    assert out["class"].tolist() == list(load_model(model_path).predict(pd.read_csv(new)))
    # another column as the ID, with probabilities; without the ID column the output is as before
    assert main(["predict", str(model_path), str(new), "--proba", "--id-column", "age"]) == 0
    out = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert list(out.columns) == ["age", "proba_bad", "proba_good"]
    assert out["age"].tolist() == pd.read_csv(new)["age"].tolist()
    pd.read_csv(new).drop(columns=["customer_id"]).to_csv(tmp_path / "no_id.csv", index=False)
    assert main(["predict", str(model_path), str(tmp_path / "no_id.csv")]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "class"
    for bad, fragment in [("nope", "'nope' is not a column"), ("class", "target column")]:
        err = _one_line_error(_cli("predict", str(model_path), str(new), "--id-column", bad))
        assert fragment in err


def test_predict_refuses_huge_values_like_training(id_model, tmp_path):
    model_path, new = id_model
    frame = pd.read_csv(new)
    frame["duration"] = frame["duration"].astype("float64")
    frame.loc[2, "duration"] = 1e300
    frame.to_csv(tmp_path / "huge.csv", index=False)
    err = _one_line_error(_cli("predict", str(model_path), str(tmp_path / "huge.csv")))
    assert "'duration' (1 value(s)" in err and "trained on values within that range" in err
    with pytest.raises(SchemaMismatchError, match="beyond"):
        load_model(model_path).predict(frame)


def test_load_model_is_exported_and_the_readme_snippet_runs(model_file, tmp_path):
    import metaopt

    assert metaopt.load_model is load_model and "load_model" in metaopt.__all__
    assert isinstance(joblib.load(model_file[0]), dict)  # why the README points at load_model
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    blocks = [part.split("```")[0] for part in readme.split("```python")[1:]]
    snippet = next(block for block in blocks if "metaopt.load_model" in block)
    shutil.copy(model_file[0], tmp_path / "model.joblib")
    pd.read_csv(EXAMPLE).head(4).to_csv(tmp_path / "new_rows.csv", index=False)
    proc = subprocess.run([sys.executable, "-c", snippet + "\nprint(list(labels))"], cwd=tmp_path,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(list(load_model(model_file[0]).predict(pd.read_csv(EXAMPLE).head(4))))


# --------------------------------------------------------------------------- the time budget
def test_time_budget_is_an_alias_of_timeout_and_both_must_agree(small_csv, capsys):
    args = ["tune", str(small_csv), "--target", "class", *QUICK, "--json", "--quiet"]
    assert main([*args, "--time-budget", "60"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["time"]["budget"] == 60 and doc["evaluation"] == "2-fold CV"
    assert set(doc["time"]) >= {"load", "recommend", "default", "warm_start", "search", "refit", "total"}
    assert main([*args, "--timeout", "60", "--time-budget", "60"]) == 0  # the same value twice is fine
    capsys.readouterr()
    assert main([*args, "--timeout", "10", "--time-budget", "20"]) == 2
    err = capsys.readouterr().err
    assert "--timeout 10 and --time-budget 20 differ" in err and err.count("\n") == 1


def test_cv_auto_is_the_default_and_is_printed(small_csv):
    proc = _cli("tune", str(small_csv), "--target", "class", "--trials", "1", "--learner", "random_forest",
                "--no-warm-start", "--sampler", "random")
    assert proc.returncode == 0, proc.stderr
    assert "cv auto" in proc.stderr.splitlines()[0]  # the header
    assert "5-fold CV" in proc.stdout and "\ntime: " in proc.stdout
    err = _one_line_error(_cli("tune", str(small_csv), "--target", "class", "--cv", "many"))
    assert "--cv" in err and "integer or auto" in err


def test_tune_mae_on_regression_and_a_classification_metric_refused(tmp_path, capsys):
    small = tmp_path / "small.csv"
    pd.read_csv(EXAMPLE).sample(200, random_state=2).to_csv(small, index=False)
    code = main(["tune", str(small), "--target", "credit_amount", "--metric", "mae", "--trials", "2", "--cv", "3",
                 "--json", "--quiet", "--learner", "lightgbm"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0 and doc["kind"] == "regression" and doc["metric"] == "mae" and doc["direction"] == "minimize"
    assert 0 < doc["best_score"] < pd.read_csv(small)["credit_amount"].std() * 2
    assert main(["tune", str(small), "--target", "credit_amount", "--metric", "f1", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "does not apply to regression" in err and "mae" in err and err.count("\n") == 1


@pytest.mark.parametrize("option, value, expected", [
    ("--trials", "0", "--trials must be a positive integer, got 0"),
    ("--timeout", "-1", "--timeout must be a positive number of seconds"),
    ("--jobs", "0", "--jobs must be a positive integer, got 0"),
    ("--seed", "-3", "--seed must be an integer >= 0"),
    ("--ensemble-size", "0", "--ensemble-size must be an integer in [1, 1000]"),
    ("--metric", "rmse", "metric 'rmse' does not apply to binary tasks"),
])
def test_bad_options_give_one_line_naming_the_option_before_anything_else(option, value, expected, capsys):
    assert main(["tune", str(EXAMPLE), "--target", "class", option, value]) == 2
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert out == "" and len(lines) == 1 and lines[0].startswith(f"metaopt: error: {expected}"), err


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the process start is read from /proc (Linux)")
def test_the_commands_time_budget_counts_from_the_process_start(small_csv):
    # the command line's own budget covers the interpreter's start and the imports, which a user timing
    # `metaopt tune --timeout S` sees: here a process that waits 2 s before the command starts
    code = "import sys, time; time.sleep(2); from metaopt.cli import main; sys.exit(main())"
    proc = subprocess.run([sys.executable, "-c", code, "tune", str(small_csv), "--target", "class", *QUICK,
                           "--timeout", "60", "--json", "--quiet"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    t = json.loads(proc.stdout)["time"]
    assert t["load"] >= 1.95 and t["total"] >= t["load"]
