"""``metaopt kb add-study``: a real SQLite Optuna study with a LightGBM objective."""

from __future__ import annotations

import json

import numpy as np
import pytest
from kb_support import REPO, make_small_kb

from metaopt.cli import main
from metaopt.exceptions import ConfigError, StorageError
from metaopt.kb import KnowledgeBase

optuna = pytest.importorskip("optuna")


@pytest.fixture(scope="module")
def study_db(tmp_path_factory, request):
    from kb_support import shared_data_dir

    data = shared_data_dir() / "corpus" / "diabetes.arff"
    if not data.is_file():
        pytest.skip("corpus data not available")
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split

    from metaopt.data import load_data
    from metaopt.learners import get_learner

    ds = load_data(data, target="class")
    X_tr, X_te, y_tr, y_te = train_test_split(ds.X, ds.y, test_size=0.3, random_state=0, stratify=ds.y)
    lgbm = get_learner("lightgbm")

    def objective(trial):
        params = {"learning_rate": trial.suggest_float("learning_rate", 0.02, 0.3, log=True),
                  "num_leaves": trial.suggest_int("num_leaves", 4, 64, log=True),
                  "lambda_l1": trial.suggest_float("lambda_l1", 1e-3, 1.0, log=True),
                  "n_estimators": 50}
        mapped = {("reg_alpha" if k == "lambda_l1" else k): v for k, v in params.items()}
        model = lgbm.fit(X_tr, y_tr, mapped, ds.kind)
        proba = model.predict_proba(X_te)
        pos = list(model.classes_).index(ds.y.cat.categories[1])
        return roc_auc_score((y_te == ds.y.cat.categories[1]).to_numpy(), proba[:, pos])

    path = tmp_path_factory.mktemp("study") / "study.db"
    url = f"sqlite:///{path}"
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name="diab", storage=url, direction="maximize",
                                sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(objective, n_trials=4)
    study.optimize(lambda t: (_ for _ in ()).throw(optuna.TrialPruned()), n_trials=1)  # a pruned trial
    optuna.create_study(study_name="diab_min", storage=url, direction="minimize").enqueue_trial({})
    return url, data, study


def test_add_study_api(tmp_path, study_db):
    from metaopt.kb import import_optuna_study

    url, data, study = study_db
    make_small_kb().save(tmp_path / "kb")
    res = import_optuna_study(url, "diab", data, "class", metric="roc_auc", kb_path=tmp_path / "kb")
    assert res["n_trials"] == 4
    kb = KnowledgeBase.load(tmp_path / "kb")
    kb.validate()
    task = kb.tasks.set_index("task_id").loc[res["task_id"]]
    assert task["source"] == "optuna_study" and task["kind"] == "binary" and task["n_rows"] == 768
    assert isinstance(task["data_hash"], str) and len(task["data_hash"]) == 64
    assert task["NumberOfInstances"] == 768  # meta-features computed
    ev = kb.evaluations[kb.evaluations["source"] == "optuna_study"]
    assert len(ev) == 4 and ev["roc_auc"].max() == pytest.approx(study.best_value)
    cfg = kb.configs[kb.configs["origin"] == "optuna_study"]
    p = json.loads(cfg["params"].iloc[0])
    assert set(p) == {"learning_rate", "num_leaves", "reg_alpha"}
    assert "lambda_l1" in json.loads(cfg["native_params"].iloc[0])
    assert len(kb.evaluations) == 4 + 4  # the old rows are kept
    # adding the same study again changes nothing
    import_optuna_study(url, "diab", data, "class", metric="roc_auc", kb_path=tmp_path / "kb")
    assert len(KnowledgeBase.load(tmp_path / "kb").evaluations) == 8


def test_add_study_direction_and_names_checked(tmp_path, study_db):
    from metaopt.kb import import_optuna_study

    url, data, _ = study_db
    with pytest.raises(ConfigError, match="direction is maximize but log_loss is minimised"):
        import_optuna_study(url, "diab", data, "class", metric="log_loss", kb_path=tmp_path / "new")
    with pytest.raises(ConfigError, match=r"not known to learner 'random_forest': \['lambda_l1', "
                                          r"'learning_rate', 'num_leaves'\]"):
        import_optuna_study(url, "diab", data, "class", metric="roc_auc", learner="random_forest",
                            kb_path=tmp_path / "new")
    with pytest.raises(ConfigError, match="no study 'nope'.*diab"):
        import_optuna_study(url, "nope", data, "class", metric="roc_auc", kb_path=tmp_path / "new")
    with pytest.raises(ConfigError, match="no completed trials"):
        import_optuna_study(url, "diab_min", data, "class", metric="log_loss", kb_path=tmp_path / "new")
    assert not (tmp_path / "new").exists()


def test_add_study_cli_new_kb(tmp_path, study_db, capsys):
    url, data, _ = study_db
    rc = main(["kb", "add-study", "--storage", url, "--study", "diab", "--data", str(data), "--target", "class",
               "--metric", "roc_auc", "--kb", str(tmp_path / "fresh"), "--n-folds", "1"])
    assert rc == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "with 4 trials" in out
    hint = out.strip().splitlines()[-1]  # the refit the change costs, and the command that does it now
    assert f"'metaopt kb prefit --path {tmp_path / 'fresh'}' does it now" in hint
    assert main(hint.split("'")[1].split()[1:]) == 0 and "meta-model of lightgbm: fitted" in capsys.readouterr().out
    kb = KnowledgeBase.load(tmp_path / "fresh")
    assert (len(kb.tasks), len(kb.configs), len(kb.evaluations)) == (1, 4, 4)
    assert kb.evaluations["n_folds"].eq(1).all() and kb.sources[0]["name"] == "optuna_study:diab"
    rc = main(["kb", "add-study", "--storage", url, "--study", "diab", "--data", str(data), "--target", "class",
               "--metric", "rmse", "--kb", str(tmp_path / "fresh")])
    assert rc == 2 and "direction" in capsys.readouterr().err


def test_journal_storage(tmp_path):
    from optuna.storages.journal import JournalFileBackend

    from metaopt.kb._import_study import open_storage

    path = tmp_path / "j.log"
    st = optuna.storages.JournalStorage(JournalFileBackend(str(path)))
    s = optuna.create_study(study_name="j", storage=st)
    s.optimize(lambda t: t.suggest_float("learning_rate", 0.01, 0.1), n_trials=2)
    loaded = optuna.load_study(study_name="j", storage=open_storage(f"journal://{path}"))
    assert len(loaded.trials) == 2
    assert len(optuna.load_study(study_name="j", storage=open_storage(str(path))).trials) == 2  # by path
    with pytest.raises(StorageError, match="no such journal file"):
        open_storage(f"journal://{tmp_path / 'missing.log'}")
    with pytest.raises(StorageError, match="no such file"):
        open_storage(str(tmp_path / "missing.log"))
    assert not (tmp_path / "missing.log").exists()
    assert np.isfinite(loaded.best_value)


# --------------------------------------------------------------------------- refusals (no corpus needed)
CREDIT_G = REPO / "examples" / "data" / "credit-g.csv"


@pytest.fixture(scope="module")
def credit_study(tmp_path_factory):
    """A real SQLite study: two LightGBM configurations scored on a credit-g holdout."""
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split

    from metaopt.data import load_data
    from metaopt.learners import get_learner

    ds = load_data(CREDIT_G)
    X_tr, X_te, y_tr, y_te = train_test_split(ds.X, ds.y, test_size=0.3, random_state=0, stratify=ds.y)
    lgbm = get_learner("lightgbm")

    def objective(trial):
        model = lgbm.fit(X_tr, y_tr, {"learning_rate": trial.suggest_float("learning_rate", 0.05, 0.3),
                                      "num_leaves": trial.suggest_int("num_leaves", 4, 32)}, ds.kind)
        pos = list(model.classes_).index(ds.y.cat.categories[1])
        return roc_auc_score((y_te == ds.y.cat.categories[1]).to_numpy(), model.predict_proba(X_te)[:, pos])

    path = tmp_path_factory.mktemp("credit") / "credit.db"
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name="cg", storage=f"sqlite:///{path}", direction="maximize",
                                sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(objective, n_trials=2)
    return f"sqlite:///{path}"


def _add_study(storage: str, *extra: str) -> list[str]:
    return ["kb", "add-study", "--storage", storage, "--study", "cg", "--data", str(CREDIT_G), "--target",
            "class", "--metric", "roc_auc", *extra]


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("metaopt: error: ") and "Traceback" not in err, err
    return lines[0]


def test_two_add_studies_and_a_merge_at_once_into_one_kb_keep_all_three(tmp_path, credit_study):
    """Real processes: each loaded the KB, merged its part and saved, and the others' parts were lost."""
    import subprocess
    import sys

    kb, other = tmp_path / "kb", make_small_kb()
    make_small_kb().save(kb)
    other.tasks["task_id"] = other.tasks["task_id"] + "-other"
    other.evaluations["task_id"] = other.evaluations["task_id"] + "-other"
    other.save(tmp_path / "other")
    commands = [_add_study(credit_study, "--name", name, "--kb", str(kb)) for name in ("a", "b")]
    commands.append(["kb", "merge", str(tmp_path / "other"), "--into", str(kb)])
    procs = [subprocess.Popen([sys.executable, "-m", "metaopt", *cmd], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for cmd in commands]
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-2000:]
    ids = set(KnowledgeBase.load(kb).tasks["task_id"])
    assert {"corpus/a", "corpus/a-other", "corpus/b-other"} <= ids and len(ids) == 2 + 2 + 2


def test_add_study_refuses_missing_or_bad_storages_creating_nothing(tmp_path, monkeypatch, capsys):
    """Before: --storage sqlite:///missing.db created an empty database file (then 'no study')."""
    monkeypatch.chdir(tmp_path)
    make_small_kb().save(tmp_path / "kb")
    before = sorted(p.name for p in tmp_path.iterdir())
    for storage, fragment in [("sqlite:///missing.db", "no such database file"), ("missing.db", "no such file"),
                              ("journal://missing.log", "no such journal file"), ("foo://bar", "unknown scheme"),
                              ("sqlite:/typo.db", "not a valid URL")]:
        assert main(_add_study(storage, "--kb", "kb")) == 2
        assert fragment in _one_line_error(capsys), storage
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_add_study_out_or_kb_naming_a_file_is_refused(tmp_path, credit_study, capsys):
    """Before: --out naming an existing file ended in a FileExistsError traceback."""
    make_small_kb().save(tmp_path / "kb")
    (tmp_path / "taken").write_text("not a knowledge base")
    assert main(_add_study(credit_study, "--kb", str(tmp_path / "kb"), "--out", str(tmp_path / "taken"))) == 2
    assert "--out" in _one_line_error(capsys)
    assert main(_add_study(credit_study, "--kb", str(tmp_path / "taken"))) == 2
    assert "--kb" in _one_line_error(capsys)
    assert (tmp_path / "taken").read_text() == "not a knowledge base"
    assert main(_add_study(credit_study, "--kb", str(tmp_path / "kb"), "--out", str(tmp_path / "new"))) == 0
    assert len(KnowledgeBase.load(tmp_path / "new").evaluations) == 4 + 2


def test_add_study_on_a_damaged_kb_exits_2_every_time(tmp_path, credit_study):
    """Before: after the right message, 4 of 15 runs aborted at exit ('terminate called without an active
    exception', exit 134).  Real processes, several times."""
    import subprocess
    import sys

    make_small_kb().save(tmp_path / "kb")
    table = tmp_path / "kb" / "evaluations.parquet"
    table.write_bytes(table.read_bytes()[: table.stat().st_size // 2])
    for _ in range(4):
        res = subprocess.run([sys.executable, "-m", "metaopt", *_add_study(credit_study, "--kb", str(tmp_path / "kb"))],
                             capture_output=True, text=True, timeout=120)
        assert res.returncode == 2, res.stderr[-2000:]
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and "evaluations.parquet is damaged" in lines[0], res.stderr


def test_a_study_of_metaopt_tune_is_added_with_its_recorded_learner_metric_and_folds(tmp_path, capsys):
    """``metaopt tune`` then ``metaopt kb add-study`` without repeating what the study recorded; a plain Optuna
    study still needs its metric, and a learner or metric that contradicts the record is refused."""
    from metaopt.tuning import tune

    url = f"sqlite:///{tmp_path / 't.db'}"
    tune(str(CREDIT_G), target="class", learner="random_forest", n_trials=3, cv=3, storage=url, study_name="rf",
         progress=False, ensemble=False)
    data = ["--storage", url, "--data", str(CREDIT_G), "--target", "class"]
    assert main(["kb", "add-study", "--study", "rf", *data, "--kb", str(tmp_path / "kb")]) == 0
    assert "with 3 trials (random_forest, roc_auc)" in capsys.readouterr().out
    kb = KnowledgeBase.load(tmp_path / "kb")
    assert set(kb.configs["learner"]) == {"random_forest"} and kb.evaluations["n_folds"].eq(3).all()
    for wrong, message in ((["--metric", "log_loss"], "tuned with metric 'roc_auc', not 'log_loss'"),
                           (["--learner", "lightgbm"], "tuned with learner 'random_forest', not 'lightgbm'")):
        assert main(["kb", "add-study", "--study", "rf", *data, "--kb", str(tmp_path / "kb"), *wrong]) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1
    optuna.create_study(study_name="plain", storage=url, direction="maximize").enqueue_trial({})
    assert main(["kb", "add-study", "--study", "plain", *data, "--kb", str(tmp_path / "kb")]) == 2
    assert "does not record its metric: pass --metric" in capsys.readouterr().err
    assert len(KnowledgeBase.load(tmp_path / "kb").evaluations) == 3  # refusals leave the KB as it was


def test_an_auto_study_brings_its_other_learners_and_its_recorded_kind_and_data(tmp_path, capsys):
    """A ``tune(learner="auto")`` run on an integer-coded class target keeps each learner's trials in its own
    study; ``kb add-study`` adds them all, loads the target as the classes it was tuned as, and refuses other
    data or another kind."""
    from sklearn.datasets import load_wine

    from metaopt.tuning import recorded_setup, tune

    wine = load_wine(as_frame=True).frame  # target 0, 1, 2: numbers, read as regression unless told
    path = tmp_path / "wine.csv"
    wine.to_csv(path, index=False)
    url = f"sqlite:///{tmp_path / 'w.db'}"
    tune(str(path), target="target", kind="multiclass", n_trials=12, cv=3, storage=url, study_name="w",
         progress=False, ensemble=False)
    completed = {}
    for name in optuna.get_all_study_names(url):
        study = optuna.load_study(study_name=name, storage=url)
        n = len(study.get_trials(states=(optuna.trial.TrialState.COMPLETE,)))
        if n:
            completed[recorded_setup(study)["learner"]] = n
    assert len(completed) >= 2  # the run searched several learners, each in its own study
    assert "random_forest" not in completed  # not offered for multiclass: the name below is free
    tune(str(CREDIT_G), target="class", learner="random_forest", n_trials=2, cv=3, storage=url,
         study_name="w+random_forest", progress=False, ensemble=False)  # named like a leg, but other data

    data = ["--storage", url, "--data", str(path), "--target", "target", "--kb", str(tmp_path / "kb")]
    assert main(["kb", "add-study", "--study-name", "w", *data]) == 0
    assert f"with {sum(completed.values())} trials (" in capsys.readouterr().out
    kb = KnowledgeBase.load(tmp_path / "kb")
    assert kb.evaluations["learner"].value_counts().to_dict() == completed
    assert kb.tasks["kind"].tolist() == ["multiclass"]  # as tuned, not the regression the numbers suggest
    first = recorded_setup(optuna.load_study(study_name="w", storage=url))["learner"]
    leg = next(lrn for lrn in completed if lrn != first)  # another learner of the run, in study "w+<leg>"
    other = tmp_path / "other.csv"
    wine.assign(alcohol=wine["alcohol"] + 1).to_csv(other, index=False)
    for argv, message in ((["--kind", "regression"], "tuned with kind 'multiclass', not 'regression'"),
                          (["--data", str(other)], "study 'w' was run on other data (same columns and target but "
                                                   "other values"),
                          (["--data", str(CREDIT_G), "--target", "class"], "study 'w' was run on a multiclass task and "
                           "this target cannot be one (kind='multiclass' but target 'class' has only 2 classes); pass "
                           "the data the study was run on"),
                          (["--groups", "ash"], "study 'w' was run without grouped folds; leave --groups out"),
                          (["--learner", leg], f"its run's {leg} trials are in study 'w+{leg}': pass --study w+{leg}")):
        assert main(["kb", "add-study", "--study", "w", *data, *argv]) == 2
        assert message in _one_line_error(capsys)
    assert main(["kb", "add-study", "--study", "w", *data]) == 0  # again: nothing duplicated
    assert len(KnowledgeBase.load(tmp_path / "kb").evaluations) == sum(completed.values())


def test_a_grouped_study_is_added_with_its_groups_column_and_refused_without(tmp_path, capsys):
    from metaopt.tuning import tune

    url = f"sqlite:///{tmp_path / 'g.db'}"
    tune(str(CREDIT_G), target="class", groups="purpose", learner="linear", n_trials=2, cv=3, storage=url,
         study_name="g", progress=False, ensemble=False)
    data = ["--storage", url, "--study", "g", "--data", str(CREDIT_G), "--target", "class", "--kb",
            str(tmp_path / "kb")]
    assert main(["kb", "add-study", *data]) == 2
    assert "study 'g' was run with grouped folds; pass the same --groups" in _one_line_error(capsys)
    assert main(["kb", "add-study", *data, "--groups", "purpose"]) == 0
    task = KnowledgeBase.load(tmp_path / "kb").tasks.iloc[0]
    assert task["n_features"] == 19  # credit-g's 20 features but the groups column, as tuned


def _halves(tmp_path) -> tuple:
    """Two versions of credit-g (its rows cut in two), as CSV files: a table last month and this month."""
    import pandas as pd

    rows = pd.read_csv(CREDIT_G).sample(frac=1.0, random_state=0)
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    rows.iloc[:500].to_csv(a, index=False)
    rows.iloc[500:].to_csv(b, index=False)
    return a, b


def _random_study(storage: str, data, seed: int) -> None:
    """A plain Optuna study named 'w' of LightGBM on a holdout of ``data`` (random search, 3 trials)."""
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split

    from metaopt.data import load_data
    from metaopt.learners import get_learner

    ds = load_data(data, target="class")
    X_tr, X_te, y_tr, y_te = train_test_split(ds.X, ds.y, test_size=0.3, random_state=0, stratify=ds.y)

    def objective(trial):
        model = get_learner("lightgbm").fit(
            X_tr, y_tr, {"learning_rate": trial.suggest_float("learning_rate", 0.02, 0.3)}, ds.kind)
        pos = list(model.classes_).index(ds.y.cat.categories[1])
        return roc_auc_score((y_te == ds.y.cat.categories[1]).to_numpy(), model.predict_proba(X_te)[:, pos])

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    optuna.create_study(study_name="w", storage=storage, direction="maximize",
                        sampler=optuna.samplers.RandomSampler(seed=seed)).optimize(objective, n_trials=3)


def test_a_study_of_the_same_name_on_a_new_version_of_the_table_is_added_beside_the_first(tmp_path, capsys):
    """A monthly re-tune keeps its study name; its trial numbers then name other parameters. Until
    2026-12-07 the second month's add-study stopped with 'duplicate configs key(s) with conflicting values'."""
    a, b = _halves(tmp_path)
    kb = ["--kb", str(tmp_path / "kb"), "--target", "class", "--metric", "roc_auc"]
    for month, data in enumerate((a, b)):
        _random_study(f"sqlite:///{tmp_path / f'{month}.db'}", data, seed=month)
        assert main(["kb", "add-study", "--storage", f"sqlite:///{tmp_path / f'{month}.db'}", "--study", "w",
                     "--data", str(data), *kb]) == 0
    assert main(["kb", "add-study", "--storage", f"sqlite:///{tmp_path / '1.db'}", "--study", "w", "--data",
                 str(b), *kb]) == 0  # again: nothing duplicated
    capsys.readouterr()
    got = KnowledgeBase.load(tmp_path / "kb")
    got.validate()
    assert len(got.evaluations) == 6 and got.tasks["task_id"].nunique() == 2
    ids = got.evaluations.groupby("task_id")["config_id"].apply(sorted).to_dict()
    second = got.tasks.set_index("task_id")["data_hash"].to_dict()
    assert sorted(ids.values()) == [[f"optuna/w/{i}" for i in range(3)],
                                    [f"optuna/w@{second[t][:8]}/{i}" for t in ids if "/w@" in ids[t][0]
                                     for i in range(3)]]
    assert got.configs["config_id"].nunique() == 6
    keys = got.tasks["dataset_key"].unique()
    assert len(keys) == 1 and keys[0].startswith("schema/")  # one table, in two versions


def test_a_task_added_before_schema_keys_keeps_its_key_when_its_study_is_added_again(tmp_path, capsys):
    a, _ = _halves(tmp_path)
    url = f"sqlite:///{tmp_path / 'a.db'}"
    _random_study(url, a, seed=0)
    argv = ["kb", "add-study", "--storage", url, "--study", "w", "--data", str(a), "--target", "class",
            "--metric", "roc_auc", "--kb", str(tmp_path / "kb")]
    assert main(argv) == 0
    old = KnowledgeBase.load(tmp_path / "kb")
    KnowledgeBase.from_frames(old.tasks.assign(dataset_key="name/a"), old.configs, old.evaluations,
                              old.sources).save(tmp_path / "kb")
    assert main(argv) == 0, capsys.readouterr().err
    again = KnowledgeBase.load(tmp_path / "kb")
    assert again.tasks["dataset_key"].tolist() == ["name/a"] and len(again.evaluations) == 3
