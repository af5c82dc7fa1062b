"""A user's own earlier studies on a table come first (``metaopt.recommender._own``): real tune runs on two
versions of credit-g (its rows cut in two), added to a small KB with ``import_optuna_study``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from metaopt import recommend
from metaopt.cli import main
from metaopt.data import load_data
from metaopt.kb import KnowledgeBase, import_optuna_study
from metaopt.recommender._own import own_studies
from metaopt.tuning import tune

CREDIT_G = Path(__file__).resolve().parents[2] / "examples" / "data" / "credit-g.csv"


@pytest.fixture(scope="module")
def versions(tmp_path_factory) -> tuple[Path, Path]:
    """Last month's rows (a.csv) and this month's (b.csv) of one table."""
    root = tmp_path_factory.mktemp("versions")
    rows = pd.read_csv(CREDIT_G).sample(frac=1.0, random_state=0)
    rows.iloc[:500].to_csv(root / "a.csv", index=False)
    rows.iloc[500:].to_csv(root / "b.csv", index=False)
    return root / "a.csv", root / "b.csv"


@pytest.fixture(scope="module")
def own_kb(kb, versions, tmp_path_factory) -> Path:
    """The small KB plus last month's studies: LightGBM ('monthly', 4 trials) and random forest ('rf', 3)."""
    root = tmp_path_factory.mktemp("own")
    kb.save(root / "kb")
    url = f"sqlite:///{root / 'a.db'}"
    for name, learner, trials in (("monthly", "lightgbm", 4), ("rf", "random_forest", 3)):
        tune(str(versions[0]), target="class", learner=learner, n_trials=trials, storage=url, study_name=name,
             kb=kb, progress=False, ensemble=False)
        import_optuna_study(url, name, str(versions[0]), kb_path=root / "kb")
    return root / "kb"


def _evaluations(kb_dir: Path, learner: str | None = None) -> pd.DataFrame:
    kb = KnowledgeBase.load(kb_dir)
    e = kb.evaluations[kb.evaluations["source"] == "optuna_study"]
    return e if learner is None else e[e["learner"] == learner]


def test_recommend_puts_last_months_best_trials_first_then_the_meta_models(own_kb, versions):
    recs = recommend(str(versions[1]), target="class", learner="lightgbm", k=5, kb=own_kb)
    ev = _evaluations(own_kb, "lightgbm").sort_values("roc_auc", ascending=False, kind="stable")
    assert [r.rank for r in recs] == [1, 2, 3, 4, 5]
    assert [r.own_study for r in recs] == ["monthly"] + [None] * 4  # the best trial, then the meta-model's
    assert recs[0].config_id == ev["config_id"].iloc[0] and recs[0].predicted_score == 1.0
    assert "Trial" in recs[0].rationale and "your study monthly" == recs[0].reason
    params = [json.dumps(r.params, sort_keys=True) for r in recs]
    assert len(set(params)) == 5  # a meta-model pick equal to one of the trials is not repeated


def test_auto_ranks_every_learners_trials_on_the_table_together(own_kb, versions):
    ds = load_data(versions[1], target="class")
    both = own_studies(own_kb, ds, "auto", 20)
    assert {r.learner for r in both} == {"lightgbm", "random_forest"}
    assert [r.predicted_score for r in both] == sorted((r.predicted_score for r in both), reverse=True)
    assert both[0].predicted_score == 1.0 and both[-1].predicted_score == 0.0  # one scale: the task's trials
    forest = own_studies(own_kb, ds, "random_forest", 20)
    assert {r.learner for r in forest} == {"random_forest"} and len(forest) == 3
    assert {r.own_study for r in forest} == {"rf"}


def test_another_schema_or_a_too_slow_trial_gets_none(own_kb, versions):
    ds = load_data(versions[1], target="class")
    assert len(own_studies(own_kb, ds, "lightgbm", 3)) == 3
    frame = pd.read_csv(versions[1])
    other = load_data(frame.drop(columns=["age"]), target="class")  # a column less: another table
    assert own_studies(own_kb, other, "lightgbm", 3) == []
    assert own_studies(own_kb, ds, "lightgbm", 3, time_budget=1e-9) == []  # every trial took longer
    assert own_studies(None, ds, "lightgbm", 3) == []  # the shipped KB holds no user study


def test_tune_enqueues_them_first_and_says_so(own_kb, versions):
    res = tune(str(versions[1]), target="class", learner="lightgbm", n_trials=4, kb=own_kb, progress=False,
               ensemble=False)
    first = [t.user_attrs.get("metaopt:config_id") for t in sorted(res.study.trials, key=lambda t: t.number)]
    best = _evaluations(own_kb, "lightgbm").sort_values("roc_auc", ascending=False, kind="stable")["config_id"].tolist()
    assert first[0] == best[0]
    assert any(f"first the best trial of your own study 'monthly' on a table with these columns and target "
               f"({best[0]}; kb add-study)" in n for n in res.notes), res.notes


def test_cli_recommend_and_tune_with_a_grown_kb(own_kb, versions, tmp_path, capsys):
    assert main(["recommend", str(versions[1]), "--target", "class", "--learner", "lightgbm", "--kb",
                 str(own_kb)]) == 0
    out = capsys.readouterr().out
    assert "your study monthly" in out and "order: the best trial of your own study first; then" in out
    shutil.copytree(own_kb, tmp_path / "kb")
    (tmp_path / "kb" / "manifest.json").unlink()
    for bad in (tmp_path / "nowhere", tmp_path / "kb", versions[1]):
        assert main(["tune", str(versions[1]), "--target", "class", "--kb", str(bad), "--trials", "1"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("metaopt: error: ") and str(bad) in err[0], err


def test_under_a_time_budget_they_stay_first(own_kb, versions):
    """The budget's order (expected improvement per second) ranks the KB's picks; the user's trials, whose
    scores are on their study's scale, are not mixed into it."""
    res = tune(str(versions[1]), target="class", learner="lightgbm", n_trials=3, timeout=60, kb=own_kb,
               progress=False, ensemble=False)
    first = [t.user_attrs.get("metaopt:config_id") for t in sorted(res.study.trials, key=lambda t: t.number)]
    assert str(first[0]).startswith("optuna/monthly/"), (first, res.notes)


def test_meta_sampler_on_the_data_starts_with_it(own_kb, versions):
    """An Optuna user's own objective with ``MetaSampler(X, y, kb=...)``: the same order as ``tune``'s."""
    import optuna
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split

    from metaopt.learners import get_learner
    from metaopt.warmstart import MetaSampler

    ds = load_data(versions[1], target="class")
    X_tr, X_te, y_tr, y_te = train_test_split(ds.X, ds.y, test_size=0.3, random_state=0, stratify=ds.y)

    def objective(trial):
        params = {"learning_rate": trial.suggest_float("learning_rate", 0.005, 0.3, log=True),
                  "num_leaves": trial.suggest_int("num_leaves", 4, 256, log=True),
                  "min_child_samples": trial.suggest_int("min_child_samples", 2, 100, log=True)}
        model = get_learner("lightgbm").fit(X_tr, y_tr, params, ds.kind)
        return roc_auc_score(y_te == model.classes_[1], model.predict_proba(X_te)[:, 1])

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize",
                                sampler=MetaSampler(ds.X, ds.y, learner="lightgbm", kb=own_kb, k=5, seed=0))
    study.optimize(objective, n_trials=4)
    first = [t.user_attrs.get("metaopt:config_id") for t in sorted(study.trials, key=lambda t: t.number)]
    best = _evaluations(own_kb, "lightgbm").sort_values("roc_auc", ascending=False, kind="stable")["config_id"]
    assert first[0] == best.tolist()[0] and not str(first[1]).startswith("optuna/")


def test_a_table_tuned_with_groups_is_found_when_recommended_with_them(kb, versions, tmp_path, capsys):
    """``tune --groups`` drops the groups column from the features, so the table's schema lacks it: ``recommend``
    takes the same ``--groups`` (and ``--time-column``) to see the same table, features and folds."""
    branches = pd.Series(range(1000)).sample(frac=1.0, random_state=1).to_numpy() % 40  # 40 of them, not an id
    for i, path in enumerate(versions):
        frame = pd.read_csv(path)
        frame.assign(branch=branches[i * 500:(i + 1) * 500]).to_csv(tmp_path / path.name, index=False)
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    kb.save(tmp_path / "kb")
    url = f"sqlite:///{tmp_path / 'g.db'}"
    tune(str(a), target="class", learner="lightgbm", n_trials=2, storage=url, study_name="grouped", kb=kb,
         progress=False, ensemble=False, groups="branch")
    import_optuna_study(url, "grouped", str(a), "class", kb_path=tmp_path / "kb", groups="branch")
    base = ["recommend", str(b), "--target", "class", "--learner", "lightgbm", "--kb", str(tmp_path / "kb")]
    assert main([*base, "--groups", "branch", "--probe", "2", "--json"]) == 0
    recs = json.loads(capsys.readouterr().out)["recommendations"]
    assert recs[0]["own_study"] == "grouped" and "branch" not in recs[0]["params"]
    assert main(base) == 0  # without it, branch is a feature: another table
    assert "your study" not in capsys.readouterr().out
    assert main([*base, "--time-column", "nowhere"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nowhere" in err[0], err


def test_the_meta_models_reasons_name_positions_in_the_list_returned(own_kb, versions):
    """"covers where #1 is weak" of the meta-model's ranking is "#2" once the own trial stands first."""
    recs = recommend(str(versions[1]), target="class", learner="lightgbm", k=5, kb=own_kb)
    assert [r.reason for r in recs[2:]] == ["covers where #2 is weak", "covers where #2-#3 are weak",
                                            "covers where #2-#4 are weak"]
    probed = recommend(str(versions[1]), target="class", learner="lightgbm", k=5, kb=own_kb, probe=3)
    assert probed[0].own_study == "monthly" and probed[4].reason == "covers where #2-#4 are weak"


def _best_of(url: str, name: str):
    import optuna

    return optuna.load_study(study_name=name, storage=url).best_trial


def test_a_storage_that_tune_wrote_puts_its_best_trial_first(kb, own_kb, versions):
    """``recommend(storage=)``: the studies ``tune`` wrote there, without ``kb add-study``; where a study in the
    KB is on the table too, it wins (one own trial, as ``tune`` does)."""
    url = f"sqlite:///{own_kb.parent / 'a.db'}"
    monthly, rf = _best_of(url, "monthly"), _best_of(url, "rf")
    for learner, name, best in (("lightgbm", "monthly", monthly), ("random_forest", "rf", rf)):
        recs = recommend(str(versions[1]), target="class", learner=learner, k=3, kb=kb if learner == "lightgbm"
                         else None, storage=own_kb.parent / "a.db")
        assert [r.own_study for r in recs] == [name, None, None]
        assert recs[0].config_id == f"study:{name}/{best.number}" and recs[0].learner == learner
        assert recs[0].params == {**best.user_attrs["config"], **{p: v for p, (_, v) in recs[0].adapted.items()}}
    both = recommend(str(versions[1]), target="class", k=2, kb=kb, storage=url)
    winner = "monthly" if monthly.value >= rf.value else "rf"
    assert both[0].own_study == winner and both[1].own_study is None  # the best of the studies' best trials
    in_kb = recommend(str(versions[1]), target="class", learner="lightgbm", k=2, kb=own_kb, storage=url)
    assert in_kb[0].config_id.startswith("optuna/monthly") and in_kb[1].own_study is None


def test_a_storage_without_the_table_warns_and_a_missing_one_is_refused(kb, own_kb, versions, tmp_path, capsys):
    from metaopt import StorageError

    url = f"sqlite:///{own_kb.parent / 'a.db'}"
    other = pd.read_csv(versions[1]).drop(columns=["age"])  # a column less: another table
    with pytest.warns(UserWarning, match="no study of 'metaopt tune' of lightgbm in .*a.db on a table with this data's"):
        recs = recommend(other, target="class", learner="lightgbm", k=2, kb=kb, storage=url)
    assert [r.own_study for r in recs] == [None, None]
    with pytest.warns(UserWarning, match="and fits within time_budget"):
        recommend(str(versions[1]), target="class", learner="lightgbm", k=2, kb=kb, storage=url, time_budget=1e-9)
    with pytest.raises(StorageError, match="no such file"):
        recommend(str(versions[1]), target="class", k=2, kb=kb, storage=tmp_path / "nowhere.db")
    assert not (tmp_path / "nowhere.db").exists()  # recommend creates no storage
    assert main(["recommend", str(versions[1]), "--target", "class", "--storage", str(tmp_path / "nowhere.db")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("metaopt: error: storage ") and "nowhere.db" in err[0], err


def test_studies_in_another_metric_count_after_the_kinds_own(kb, versions, tmp_path, capsys):
    """``recommend`` has no metric: a study scored in another one is taken where none in the kind's primary
    metric is on the table, and after those where both are."""
    url = f"sqlite:///{tmp_path / 'tune.db'}"
    run = dict(target="class", learner="lightgbm", kb=kb, progress=False, ensemble=False, storage=url)
    tune(str(versions[0]), n_trials=1, metric="log_loss", study_name="loss", **run)
    assert main(["recommend", str(versions[1]), "--target", "class", "--storage", url, "-k", "2"]) == 0
    out = capsys.readouterr().out
    assert " 1  lightgbm      study:loss/0 " in out and "your study loss" in out and "or --storage" in out
    assert main(["recommend", str(versions[1]), "--target", "class", "--storage", url, "-k", "2", "--probe", "3"]) == 0
    out = capsys.readouterr().out
    assert " 1  lightgbm      study:loss/0 " in out and ("order: the best trial of your own study first; then the probed "
                                                         "ones by their scores on 2 folds") in out
    assert recommend(str(versions[1]), target="class", k=2, kb=kb, storage=url)[0].own_study == "loss"
    tune(str(versions[0]), n_trials=1, study_name="auc", **run)
    assert recommend(str(versions[1]), target="class", k=2, kb=kb, storage=url)[0].own_study == "auc"
