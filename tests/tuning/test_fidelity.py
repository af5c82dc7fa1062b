"""Evaluation fidelity (``metaopt.tuning._fidelity``): the fold plan from rows and budget, row-subsample rungs
pruned by Optuna's successive halving on large data, large-data meta-features, the plan in the study's setup."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest
from optuna.trial import TrialState
from shared_support import shared_data_dir

from metaopt.exceptions import ConfigError
from metaopt.tuning import tune
from metaopt.tuning._fidelity import (
    FEW_FOLDS,
    MAX_REPEATS,
    META_FEATURE_ROWS,
    MIN_SCORED_ROWS,
    MIN_TRIALS,
    RUNG_TEST_ROWS,
    RUNGS,
    EvalPlan,
    plan_by_budget,
    plan_by_rows,
    query_meta_features,
    rung_rows,
    rung_test_rows,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "data" / "credit-g.csv"


def corpus_file(name: str) -> Path:
    path = shared_data_dir() / "corpus" / name
    if not path.is_file():
        pytest.skip(f"corpus file {name} not found under {shared_data_dir()} (set METAOPT_SHARED_DATA)")
    return path


@pytest.mark.parametrize("n_rows, folds, rungs", [
    (1_000, 5, 1), (10_000, 5, 1), (10_001, FEW_FOLDS, 1), (50_000, FEW_FOLDS, 1), (50_001, 1, len(RUNGS)),
])
def test_the_auto_plan_follows_the_rows(n_rows, folds, rungs):
    plan = plan_by_rows(n_rows)
    assert (plan.n_splits, plan.n_folds, len(plan.rungs)) == (5, folds, rungs)
    assert plan_by_rows(40, n_splits=3) == EvalPlan(3, 3, why=plan_by_rows(40, n_splits=3).why,
                                                    repeats=MAX_REPEATS)  # tiny data: all folds, repeated


@pytest.mark.parametrize("n_rows, repeats", [(40, MAX_REPEATS), (300, 3), (334, 3), (500, 2), (999, 2), (1_000, 1),
                                             (5_000, 1)])
def test_tables_of_a_few_hundred_rows_repeat_the_split(n_rows, repeats):
    plan = plan_by_rows(n_rows)
    assert (plan.n_folds, plan.repeats, plan.total_folds) == (5, repeats, 5 * repeats)


def test_the_budget_drops_repeats_before_the_trials_get_few():
    plan = plan_by_rows(300)  # 3 repeats: 15 fits a trial
    assert plan_by_budget(plan, fold_s=0.05, search_s=120.0, n_rows=300) is plan  # ~160 trials
    two = plan_by_budget(plan, fold_s=0.2, search_s=120.0, n_rows=300)  # 3 repeats: 39 trials, 2: 59
    assert (two.repeats, two.n_folds) == (2, 5) and "(< 50)" in two.why
    one = plan_by_budget(plan, fold_s=0.5, search_s=120.0, n_rows=300)  # 2 repeats: 23 trials
    assert (one.repeats, one.n_folds) == (1, 5)
    assert plan_by_budget(plan, fold_s=0.5, search_s=120.0, n_rows=300, repeat_trials=20).repeats == 2  # n_trials=20
    assert plan_by_budget(plan, fold_s=10.0, search_s=60.0, n_rows=300).n_folds == 5  # 500 scored rows: all folds
    timed_out = plan_by_budget(plan, 0.0, 0.0, timed_out=True, n_rows=300)
    assert (timed_out.n_folds, timed_out.repeats) == (1, 1)


def test_repeated_folds_start_with_the_plain_split_and_average_the_out_of_fold_predictions(credit_small):
    from metaopt.data import load_data
    from metaopt.learners import get_learner
    from metaopt.tuning._cv import FoldCV

    ds = load_data(credit_small, target="class")
    lrn = get_learner("lightgbm")
    plain = FoldCV(ds, lrn, "roc_auc", EvalPlan(5, 5), seed=3)
    cvx = FoldCV(ds, lrn, "roc_auc", EvalPlan(5, 5, repeats=3), seed=3)
    assert (plain.n_folds, cvx.n_folds) == (5, 15)
    for (a, b), (c, d) in zip(plain.task.folds, cvx.task.folds[:5]):  # every plan starts with the same folds
        assert np.array_equal(a, c) and np.array_equal(b, d)
    for r in range(3):  # each repeat's test folds cover every row once, each repeat shuffled differently
        tests = np.sort(np.concatenate([te for _, te in cvx.task.folds[5 * r:5 * r + 5]]))
        assert np.array_equal(tests, np.arange(300))
    assert not np.array_equal(cvx.task.folds[0][1], cvx.task.folds[5][1])
    assert [len(f) for f in cvx.test_folds] == [60] * 5
    ev = cvx.evaluate({"n_estimators": 20, "num_leaves": 7})
    assert len(ev.scores) == len(ev.oof) == 15
    rows, pred = ev.oof_arrays()
    assert np.array_equal(rows, np.arange(300)) and pred.shape == (300, 2)
    by_row: dict[int, list] = {}
    for te, p in ev.oof:
        for i, row in enumerate(te):
            by_row.setdefault(int(row), []).append(p[i])
    assert all(len(v) == 3 for v in by_row.values())
    assert np.allclose(pred[17], np.mean(by_row[17], axis=0), atol=1e-6)


def test_the_budget_takes_folds_away_below_min_trials():
    five = plan_by_rows(1_000)
    assert plan_by_budget(five, fold_s=1.0, search_s=100.0) is five  # (100 - 4) / 5 = 19 trials
    three = plan_by_budget(five, fold_s=1.0, search_s=40.0)  # 5 folds: 7 trials; 3 folds: 12
    assert (three.n_folds, three.n_splits) == (3, 5) and f"(< {MIN_TRIALS})" in three.why
    assert plan_by_budget(five, fold_s=1.0, search_s=10.0).n_folds == 1
    assert plan_by_budget(five, fold_s=1.0, search_s=10.0, min_trials=2).n_folds == 3  # n_trials=2 asked
    assert plan_by_budget(five, fold_s=0.0, search_s=0.0, timed_out=True).n_folds == 1


@pytest.mark.parametrize("n_rows, folds", [(240, 5), (499, 5), (1_000, 3), (2_000, 3), (2_500, 1), (9_000, 1)])
def test_the_budget_keeps_enough_test_rows_to_select_on(n_rows, folds):
    # a budget that alone would leave one fold (1 s folds, 10 s): a holdout of a few dozen rows is noise
    plan = plan_by_budget(plan_by_rows(n_rows), fold_s=1.0, search_s=10.0, n_rows=n_rows)
    assert plan.n_folds == folds
    assert plan.n_folds * n_rows / plan.n_splits >= min(MIN_SCORED_ROWS, n_rows) - 1e-9
    if folds > 1:
        assert f"not fewer than {folds}" in (plan.why or "") or plan.n_folds == plan.n_splits
    assert plan_by_budget(plan_by_rows(n_rows), 0.0, 0.0, timed_out=True, n_rows=n_rows).n_folds == 1  # must


def test_plan_labels_and_the_setup_round_trip():
    assert plan_by_rows(1_000).label == 5  # plain K-fold: the label studies had before cv="auto"
    assert plan_by_rows(20_000).label == "3 of 5 folds"
    large = plan_by_rows(60_000)
    assert large.label == "holdout 1/5 rungs 1/9,1/3,1"
    assert large.describe() == "holdout (20%), rungs 1/9,1/3,1 of the training rows"
    back = EvalPlan.from_setup({"cv": large.label, "evaluation": large.to_setup()})
    assert (back.n_splits, back.n_folds, back.rungs) == (large.n_splits, large.n_folds, large.rungs)
    old = EvalPlan.from_setup({"cv": 3})  # a study from before plans: K-fold
    assert (old.n_splits, old.n_folds, old.rungs) == (3, 3, (1.0,))
    tiny = plan_by_rows(300)
    assert (tiny.label, tiny.describe()) == ("5 folds x3", "5-fold CV, 3 repeats")
    assert EvalPlan.from_setup({"cv": tiny.label, "evaluation": tiny.to_setup()}).repeats == 3
    assert "repeats" not in plan_by_rows(1_000).to_setup()  # one split: recorded as before repeats existed
    before = EvalPlan.from_setup({"cv": 5, "evaluation": {"splits": 5, "folds": 5, "rungs": [1.0]}})
    assert before.repeats == 1  # a study from before repeats keeps its single split


def test_rung_rows_are_nested_and_keep_the_class_shares():
    y = pd.read_csv(EXAMPLE)["class"]
    train = np.sort(np.random.default_rng(1).choice(len(y), size=800, replace=False))
    subsets = rung_rows(train, y, "binary", 0, RUNGS)
    assert [len(s) for s in subsets] == [89, 267, 800]
    assert set(subsets[0]) <= set(subsets[1]) <= set(subsets[2]) == set(train)
    share = (y.iloc[train] == "bad").mean()
    for s in subsets[:2]:
        assert abs((y.iloc[s] == "bad").mean() - share) < 0.02  # stratified prefix: the shares hold


def test_lower_rungs_score_on_a_fixed_subset_of_a_large_holdout():
    test = np.arange(3, 3 + 3 * 50_000, 3)  # positions of a 50,000-row holdout
    sub = rung_test_rows(test, seed=7)
    assert len(sub) == RUNG_TEST_ROWS and set(sub) <= set(test) and np.all(np.diff(sub) > 0)
    assert np.array_equal(sub, rung_test_rows(test, seed=7))  # every configuration: the same rows
    small = test[:RUNG_TEST_ROWS]
    assert rung_test_rows(small, seed=7) is small


def test_a_trial_on_rungs_predicts_the_subset_below_the_last_rung_and_the_whole_holdout_at_it(monkeypatch):
    from metaopt import load_data
    from metaopt.learners import get_learner
    from metaopt.tuning import _fidelity
    from metaopt.tuning._cv import FoldCV

    monkeypatch.setattr(_fidelity, "RUNG_TEST_ROWS", 50)
    ds = load_data(EXAMPLE, target="class")
    cvx = FoldCV(ds, get_learner("lightgbm"), "roc_auc", EvalPlan(5, 1, RUNGS), seed=0)
    seen = []
    ev = cvx.evaluate(get_learner("lightgbm").default_params("binary"),
                      on_step=lambda step, value, e: seen.append((step, e.predict_rows)))
    assert seen == [(1, 50), (3, 50), (9, 200)]  # a fifth of the 1,000 rows is the holdout
    assert len(ev.oof) == 1 and len(ev.oof[0][0]) == 200  # the ensemble gets the whole holdout


def test_large_data_meta_features_come_from_a_sample_with_the_full_sizes():
    from metaopt import load_data
    from metaopt.features import extract_meta_features
    from metaopt.recommender import QUERY_GROUPS

    ds = load_data(str(corpus_file("csb_ch19e.arff")), target="Freq")
    assert ds.n_rows > META_FEATURE_ROWS
    meta = query_meta_features(ds, QUERY_GROUPS, notes=[])
    full = extract_meta_features(ds, groups=("general",)).values
    assert meta["NumberOfInstances"] == full["NumberOfInstances"] == ds.n_rows  # all rows, not the sample
    assert meta["mo_SampleRows"] == ds.n_rows and meta["mo_SampleFraction"] == 1.0  # as the KB's tasks had
    sample = extract_meta_features(ds, groups=QUERY_GROUPS, max_rows=META_FEATURE_ROWS).values
    assert sample["mo_SampleRows"] == META_FEATURE_ROWS  # what was computed on the sample
    for name, value in sample.items():  # everything else is the sample's
        if name not in ("mo_SampleRows", "mo_SampleFraction"):
            assert meta[name] == value or (np.isnan(meta[name]) and np.isnan(value)), name


@pytest.fixture(scope="module")
def large_table() -> pd.DataFrame:
    """Three corpus tables of one survey (csb_ch19b/c/f: same columns, other strata) stacked: 66,104 real rows."""
    from metaopt.data import read_frame

    types = {"Gender": str, "Education": str, "Smoker": str, "Years_quit": float}  # typed alike in all three
    return pd.concat([read_frame(corpus_file(f"csb_ch19{n}.arff")).astype(types) for n in "bcf"], ignore_index=True)


def test_large_data_gets_a_holdout_with_rungs_pruned_by_successive_halving(large_table):
    storage = optuna.storages.InMemoryStorage()
    study = optuna.create_study(storage=storage, study_name="large", direction="minimize")
    fast = dict(learning_rate=0.3, subsample=1.0, reg_alpha=0.001, reg_lambda=0.001)  # few rounds: a fast test
    study.enqueue_trial({**fast, "num_leaves": 31, "min_child_samples": 20, "colsample_bytree": 1.0,
                         "extra_trees": False})
    for i in range(4):  # stumps on 30% of the columns: clearly worse from the first rung on
        study.enqueue_trial({**fast, "num_leaves": 2, "min_child_samples": 100 + 10 * i, "colsample_bytree": 0.3,
                             "extra_trees": True})
    kw = dict(target="Freq", learner="lightgbm", warm_start=False, sampler="random", progress=False,
              storage=storage, study_name="large")
    res = tune(large_table, n_trials=5, **kw)
    s = res.summary
    assert s.n_rows == 66_104 and s.cv == 1
    assert s.evaluation == "holdout (20%), rungs 1/9,1/3,1 of the training rows"
    assert s.pruner.startswith("SuccessiveHalvingPruner")
    trials = sorted(res.study.trials, key=lambda t: t.number)
    first = trials[0]
    assert first.state == TrialState.COMPLETE and sorted(first.intermediate_values) == [1, 3, 9]
    assert first.value == pytest.approx(first.intermediate_values[9]) and len(first.user_attrs["rung_scores"]) == 3
    for t in trials[1:]:  # Optuna's successive halving stopped them on a ninth of the rows
        assert t.state == TrialState.PRUNED and list(t.intermediate_values) == [1] and t.user_attrs["fold_scores"] == []
    assert s.default_score is not None and s.best_trial == 0  # the default: the holdout at full fidelity
    assert res.model.metadata["n_rows"] == 66_104  # refitted on all rows
    setup = res.study.user_attrs["metaopt:tune"]
    assert setup["cv"] == "holdout 1/5 rungs 1/9,1/3,1" and setup["evaluation"]["folds"] == 1
    with pytest.raises(ConfigError, match="cv='holdout 1/5 rungs 1/9,1/3,1'"):  # another plan: refused
        tune(large_table, n_trials=1, cv=5, **kw)


def test_auto_resumes_the_study_plan_and_an_explicit_other_cv_is_refused(credit_small, tmp_path):
    db = f"sqlite:///{tmp_path / 'plan.db'}"
    kw = dict(target="class", n_trials=1, learner="lightgbm", warm_start=False, sampler="random", progress=False,
              storage=db, study_name="plan")
    assert tune(credit_small, cv=3, **kw).summary.evaluation == "3-fold CV"
    again = tune(credit_small, cv="auto", **kw).summary  # auto takes the study's plan
    assert (again.cv, again.n_trials) == (3, 2)
    with pytest.raises(ConfigError, match="cv=3"):
        tune(credit_small, cv=5, **kw)


def test_a_tiny_table_is_tuned_on_the_repeated_split_and_a_resumed_study_keeps_it(credit_small, tmp_path):
    db = f"sqlite:///{tmp_path / 'repeats.db'}"
    kw = dict(target="class", n_trials=3, learner="lightgbm", progress=False, storage=db, study_name="rep")
    res = tune(credit_small, **kw)
    assert (res.summary.evaluation, res.summary.cv) == ("5-fold CV, 3 repeats", 15)
    done = [t for t in res.study.trials if t.state == TrialState.COMPLETE]
    assert done and all(len(t.user_attrs["fold_scores"]) == 15 for t in done)
    assert res.study.user_attrs["metaopt:tune"]["evaluation"]["repeats"] == 3
    ens = res.summary.ensemble
    assert ens["oof_rows"] == 300 and ens["folds"] == 5  # each row once, averaged over the repeats
    again = tune(credit_small, **dict(kw, n_trials=1, timeout=60)).summary  # a budget does not re-plan a study
    assert (again.cv, again.n_trials) == (15, 4)
