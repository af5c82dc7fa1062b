"""Grouped cross-validation in ``tune`` (``groups=``, ``--groups``): no group on both sides of a fold."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from metaopt.exceptions import ConfigError
from metaopt.tuning import tune

FAST = dict(progress=False, random_state=0, learner="lightgbm", warm_start=False, sampler="random",
            ensemble=False)


def _leaky(n_groups: int = 160, per_group: int = 6, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """A label drawn once per group (half of the groups each) and a feature that names the group: a model
    that memorises the groups scores well on rows of groups it has seen and at chance on new groups."""
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(n_groups), per_group)
    label = rng.permutation(np.arange(n_groups) % 2)[g]
    frame = pd.DataFrame({"site_code": g + rng.normal(0, 0.01, len(g)), "noise": rng.normal(size=len(g)),
                          "y": np.where(label == 1, "yes", "no")})
    return frame, g


def test_grouped_folds_score_new_groups_where_plain_folds_reward_memorising_them():
    frame, g = _leaky()
    plain = tune(frame, target="y", n_trials=3, cv=4, **FAST)
    grouped = tune(frame, target="y", n_trials=3, cv=4, groups=g, **FAST)
    assert plain.best_score > 0.8  # the rows of a group are on both sides: the group's label is learnt
    assert grouped.best_score < 0.65  # new groups only: nothing to learn, about chance
    assert any(n.startswith("grouped folds: 160 groups") for n in grouped.summary.notes)


def test_every_fold_of_every_repeat_keeps_groups_apart():
    from metaopt.data import load_data
    from metaopt.learners import get_learner
    from metaopt.tuning._cv import FoldCV
    from metaopt.tuning._fidelity import EvalPlan

    frame, g = _leaky(n_groups=30, per_group=6)
    ds = load_data(frame, target="y", groups=g)
    cvx = FoldCV(ds, get_learner("lightgbm"), "roc_auc", EvalPlan(n_splits=5, n_folds=5, repeats=3), seed=0)
    assert len(cvx.task.folds) == 15
    for tr, te in cvx.task.folds:
        assert not set(g[tr]) & set(g[te])
    assert len({tuple(np.sort(te)) for _, te in cvx.task.folds}) > 5  # the repeats shuffle the groups anew


def test_a_study_is_resumed_only_with_the_same_groups(tmp_path):
    frame, g = _leaky(n_groups=20, per_group=5)
    db = f"sqlite:///{tmp_path / 'g.db'}"
    run = dict(target="y", n_trials=1, cv=3, storage=db, study_name="grouped", **FAST)
    tune(frame, groups=g, **run)
    tune(frame, groups=g.astype(str), **run)  # the same partition, other spelling: resumed
    with pytest.raises(ConfigError, match="the same rows in other groups"):
        tune(frame, groups=np.arange(len(g)) % 7, **run)
    with pytest.raises(ConfigError, match="was run with grouped folds; pass the same --groups"):
        tune(frame, **run)
    frame["patient"] = g
    with pytest.raises(ConfigError, match="was run with grouped folds"):  # the column a feature again
        tune(frame, **run)
    tune(frame, groups="patient", **run)  # the same partition from a column: resumed


def test_fewer_groups_than_folds_is_refused_before_any_fit():
    frame, g = _leaky(n_groups=3, per_group=10, seed=2)
    with pytest.raises(ConfigError, match=r"only 3 group.*use cv <= 3 \(or cv='auto'\)"):
        tune(frame, target="y", groups=g, n_trials=1, cv=5, **FAST)
    with pytest.raises(ConfigError, match="a single group.*grouped CV needs at least 2 groups"):
        tune(frame, target="y", groups=np.zeros(len(g)), n_trials=1, **FAST)


@pytest.mark.parametrize("n_groups,plan", [(2, "2-fold CV"), (3, "3-fold CV"), (8, "5-fold CV, 3 repeats")])
def test_cv_auto_takes_as_many_folds_as_groups_and_repeats_only_where_a_split_can_differ(n_groups, plan):
    """Five folds of three groups were refused though the user asked for no number of folds; with a group
    per fold every repeat is the same split, so none is run."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=120)
    frame = pd.DataFrame({"x": x, "y": np.where(x + rng.normal(size=120) > 0, "yes", "no")})
    res = tune(frame, target="y", groups=np.arange(120) % n_groups, n_trials=1, **FAST)
    assert res.summary.evaluation == plan


def test_cli_groups_column_trains_without_it_and_predict_accepts_it(tmp_path, capsys):
    import json

    from metaopt.cli import main

    frame, g = _leaky(n_groups=40, per_group=5)
    frame["patient"] = [f"p{i}" for i in g]
    path = tmp_path / "visits.csv"
    frame.to_csv(path, index=False)
    model = tmp_path / "m.joblib"
    code = main(["tune", str(path), "--target", "y", "--groups", "patient", "--trials", "2", "--cv", "3",
                 "--learner", "lightgbm", "--json", "--quiet", "--output", str(model)])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0 and any(n.startswith("grouped folds: 40 groups of column 'patient'") for n in doc["notes"])
    assert main(["predict", str(model), str(path), "--output", str(tmp_path / "p.csv")]) == 0  # 'patient' ignored
    assert len(pd.read_csv(tmp_path / "p.csv")) == len(frame)
    assert main(["tune", str(path), "--target", "y", "--groups", "pateint", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "unknown groups column 'pateint'" in err and "'patient'" in err and err.count("\n") == 1


def test_estimator_fit_takes_groups():
    from metaopt.estimators import MetaTunedClassifier

    frame, g = _leaky()
    X, y = frame[["site_code", "noise"]], frame["y"]
    est = dict(learner="lightgbm", n_trials=2, cv=4, warm_start=False, sampler="random", ensemble=False,
               random_state=0)
    assert MetaTunedClassifier(**est).fit(X, y).best_score_ > 0.8
    grouped = MetaTunedClassifier(**est).fit(X, y, groups=g)
    assert grouped.best_score_ < 0.65 and grouped.predict(X).shape == (len(X),)
