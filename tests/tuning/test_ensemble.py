"""Ensembles of the search (issue #11): out-of-fold predictions per trial, greedy selection, the saved
ensemble, resume, worker processes and a real PostgreSQL study; the one-standard-error single choice."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest

from metaopt.cli import main
from metaopt.core import score_predictions
from metaopt.exceptions import ConfigError
from metaopt.tuning import load_model, tune
from metaopt.tuning._ensemble import (
    MAX_BLEND_SHORTFALL,
    MAX_CANDIDATES,
    PER_LEARNER,
    REFIT_SEEDS,
    SEED_SHARE,
    Candidate,
    EnsembleFit,
    Member,
    OofStore,
    add_seeds,
    blend_score,
    blend_shortfall,
    candidate_pool,
    greedy_selection,
    keeps_blend,
    room_by_rows,
    room_by_time,
    select,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "data" / "credit-g.csv"

FAST = dict(target="class", cv=3, progress=False, learner="lightgbm")


# --------------------------------------------------------------------------- selection
def test_greedy_selection_never_worse_than_the_best_single_and_finds_complementary_models():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    signal = np.where(y == 1, 1.0, -1.0)
    # two models that see independent noise: their average ranks better than either
    a = 1 / (1 + np.exp(-(signal + rng.normal(0, 1.5, 400))))
    b = 1 / (1 + np.exp(-(signal + rng.normal(0, 1.5, 400))))
    bad = rng.uniform(size=400)
    preds = [np.column_stack([1 - p, p]) for p in (a, b, bad)]
    singles = [score_predictions(p, y, "binary", ("roc_auc",))["roc_auc"] for p in preds]
    sel = greedy_selection(preds, y, "binary", "roc_auc", size=10)
    assert sel.score >= max(singles)
    assert sel.score > max(singles) + 0.005  # averaging independent errors helps
    assert set(sel.counts) >= {0, 1} and 2 not in sel.counts
    assert abs(sum(sel.weights.values()) - 1) < 1e-12
    assert sel.trace[0] == pytest.approx(max(singles))


def test_sorted_initialization_starts_from_the_best_candidates():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 400)
    signal = np.where(y == 1, 1.0, -1.0)
    noise = (1.2, 1.5, 1.8, 2.5, 6.0)  # best first by construction; the last is nearly useless
    preds = [np.column_stack([1 - p, p]) for p in
             (1 / (1 + np.exp(-(signal + rng.normal(0, s, 400)))) for s in noise)]
    singles = [score_predictions(p, y, "binary", ("roc_auc",))["roc_auc"] for p in preds]
    top3 = set(np.argsort(singles)[::-1][:3])
    sel = greedy_selection(preds, y, "binary", "roc_auc", size=12, init=3)
    assert set(sel.counts) >= top3  # the three best enter once each before any greedy round
    assert sum(sel.counts.values()) >= 3
    assert sel.trace[0] == pytest.approx(max(singles))  # still reported: what the ensemble must beat
    assert sel.score > max(singles)
    # more initial members than candidates or rounds: all of them, once
    small = greedy_selection(preds[:2], y, "binary", "roc_auc", size=2, init=5)
    assert small.counts == {0: 1, 1: 1}
    # an explicit start (a what-if of benchmarks/report_diverse_init.py): those candidates, the worst included
    given = greedy_selection(preds, y, "binary", "roc_auc", size=12, init=3, start=[0, 4])
    assert given.counts.get(4, 0) >= 1 and given.counts.get(0, 0) >= 1
    assert given.trace[0] == pytest.approx(max(singles))  # the best single, not the start's first
    assert given.trace[1] == pytest.approx(score_predictions((preds[0] + preds[4]) / 2, y, "binary",
                                                             ("roc_auc",))["roc_auc"])


def test_the_score_of_a_blend_of_some_members_is_the_mean_over_folds_of_their_weighted_average():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 300)
    signal = np.where(y == 1, 1.0, -1.0)
    rows = np.arange(300)
    probs = [1 / (1 + np.exp(-(signal + rng.normal(0, s, 300)))) for s in (1.2, 1.5, 1.8, 2.5)]
    cands = [Candidate(i, "lightgbm", {}, 0.0, rows, np.column_stack([1 - p, p])) for i, p in enumerate(probs)]
    folds = np.array_split(rng.permutation(300), 3)
    members, info = select(cands, y, "binary", "roc_auc", 12, [np.sort(f) for f in folds])
    assert len(members) > 2
    assert blend_score(members, y, "binary", "roc_auc", folds) == pytest.approx(info["cv_score"])
    two = members[:2]  # what a model keeps when the refits stop after two members
    blend = sum(w * probs[c.source] for c, w in two) / sum(w for _, w in two)
    expected = np.mean([roc_auc_score(y[f], blend[f]) for f in folds])
    assert blend_score(two, y, "binary", "roc_auc", folds) == pytest.approx(expected)


def test_the_blend_is_kept_where_the_best_single_scores_a_little_higher_but_not_where_it_ties():
    rng = np.random.default_rng(4)
    y = rng.normal(size=300)
    rows, folds = np.arange(300), [np.sort(f) for f in np.array_split(rng.permutation(300), 3)]

    def cands(noise):
        return [Candidate(i, "lightgbm", {}, 0.0, rows, (y + rng.normal(0, s, 300))[:, None])
                for i, s in enumerate(noise)]

    # one configuration almost exact, four worse: every blend of the 5 best scores a little below it on CV
    members, info = select(cands((0.05, 0.35, 0.36, 0.37, 0.38)), y, "regression", "rmse", 25, folds)
    assert info["cv_score"] > info["best_single_score"] and info["gain"] < 0  # RMSE: lower is better
    assert 0 < blend_shortfall(info) < MAX_BLEND_SHORTFALL
    assert keeps_blend(members, info) and len(members) >= 2
    assert members[0][0].source == 0 and members[0][1] > 0.5  # the blend leans on the best one
    # four far worse (a short search's start forced to take weak ones): the blend is worse by far more than
    # luck of the folds explains, and the best single configuration is the model
    members, info = select(cands((0.05, 1.0, 1.1, 1.2, 1.3)), y, "regression", "rmse", 25, folds)
    assert blend_shortfall(info) > MAX_BLEND_SHORTFALL and not keeps_blend(members, info)
    # every configuration exact: the blend ties the best single one, which is the simpler model
    members, info = select(cands((0.0, 0.0, 0.0, 0.0, 0.0)), y, "regression", "rmse", 25, folds)
    assert info["gain"] == pytest.approx(0, abs=1e-12) and not keeps_blend(members, info)
    assert not keeps_blend(members[:1], dict(info, gain=-0.1))  # one member is no blend


def test_the_candidate_pool_keeps_each_learners_best_trials_beside_the_best_by_cv():
    rows = np.arange(10)

    def cand(source, learner, cv):
        return Candidate(source, learner, {}, cv, rows, np.zeros((10, 2)))

    # a long LightGBM search whose 45 trials all beat the other learners' few
    cands = [cand(i, "lightgbm", 0.9 - i / 1000) for i in range(45)]
    cands += [cand(f"random_forest:{i}", "random_forest", 0.8 - i / 100) for i in range(3)]
    cands += [cand(f"extra_trees:{i}", "extra_trees", 0.7 - i / 100) for i in range(8)]
    pool = candidate_pool(cands[::-1], maximize=True, per_learner=5)
    assert len(pool) == MAX_CANDIDATES
    assert [c.cv_score for c in pool] == sorted((c.cv_score for c in pool), reverse=True)  # best first
    learners = [c.learner for c in pool]
    assert learners.count("random_forest") == 3 and learners.count("extra_trees") == 5
    assert [c.source for c in pool if c.learner == "lightgbm"] == list(range(MAX_CANDIDATES - 8))
    assert [c.learner for c in candidate_pool(cands, True, per_learner=0)] == ["lightgbm"] * MAX_CANDIDATES
    # a loss (minimised): the lowest first, the reserve the same
    low = candidate_pool([cand(c.source, c.learner, -c.cv_score) for c in cands], maximize=False)
    assert low[0].source == 0 and sum(c.learner == "extra_trees" for c in low) == PER_LEARNER


def test_greedy_selection_minimises_losses():
    rng = np.random.default_rng(1)
    y = rng.normal(size=300)
    preds = [(y + rng.normal(0, s, 300)).reshape(-1, 1) for s in (0.5, 0.5, 3.0)]
    sel = greedy_selection(preds, y, "regression", "rmse", size=8)
    singles = [score_predictions(p, y, "regression", ("rmse",))["rmse"] for p in preds]
    assert sel.score < min(singles)


# --------------------------------------------------------------------------- tune
@pytest.fixture(scope="module")
def credit_run(tmp_path_factory):
    db = tmp_path_factory.mktemp("ens") / "study.db"
    res = tune(str(EXAMPLE), n_trials=10, storage=f"sqlite:///{db}", study_name="ens", **FAST)
    return res, db


def test_tune_returns_an_ensemble_with_members_weights_and_scores(credit_run):
    res, db = credit_run
    e = res.summary.ensemble
    assert isinstance(res.model.fitted, EnsembleFit), e
    assert e["n_members"] == len(res.model.fitted.members) >= 2
    complete = [t for t in res.study.trials if t.state.name == "COMPLETE"]
    assert e["n_candidates"] == len(complete) + 1 >= 8  # the completed trials + the library default
    assert e["cv_score"] > e["best_single_score"] == pytest.approx(res.summary.best_score)
    assert abs(sum(m["weight"] for m in e["members"]) - 1) < 1e-3
    assert res.model.metadata["cv_score"] == e["cv_score"]
    assert all(m["fits"] == REFIT_SEEDS for m in e["members"])
    assert "ensemble:" in str(res.summary) and "weight" in str(res.summary) and "3 seeds each" in str(res.summary)
    assert e["repeats"] == 1 and "averaged over" not in str(res.summary)  # cv=3: one split
    assert (db.parent / "study.db.metaopt-oof").is_dir()  # the artifact store next to the study


def test_ensemble_predictions_are_the_weighted_average_of_its_members(credit_run, tmp_path):
    res, _ = credit_run
    X = pd.read_csv(EXAMPLE).drop(columns="class").head(50)
    proba = res.predict_proba(X)
    Z = res.model.prepare(X)
    ens = res.model.fitted
    w = np.asarray([m.weight for m in ens.members])
    # each member a seed bag: the mean of its fits with seeds fold_seed, fold_seed + 1, ...
    assert all([f.estimator.random_state for f in m.models] == [res.summary.fold_seed + i for i in range(REFIT_SEEDS)]
               for m in ens.members)
    manual = sum(wi * np.mean([f.predict_proba(Z) for f in m.models], axis=0) for wi, m in zip(w / w.sum(), ens.members))
    assert not np.allclose(ens.members[0].models[0].predict_proba(Z), ens.members[0].models[1].predict_proba(Z))
    np.testing.assert_allclose(proba, manual, rtol=1e-9)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    path = res.save(tmp_path / "m.joblib")
    np.testing.assert_allclose(load_model(path).predict_proba(X), proba)


def test_out_of_fold_predictions_are_those_the_trial_was_scored_on(credit_run):
    res, db = credit_run
    study = res.study
    store = OofStore.for_storage(study._storage)
    t = max((t for t in study.trials if t.value is not None), key=lambda t: t.value)
    rows, pred = store.load(t, study._storage)
    assert len(rows) == 1000 and len(np.unique(rows)) == 1000  # every row once (3 folds)
    y = (pd.read_csv(EXAMPLE)["class"].astype("category").cat.codes.to_numpy())[rows]
    folds = t.user_attrs["fold_scores"]
    assert score_predictions(pred.astype(float), y, "binary", ("roc_auc",))["roc_auc"] == \
        pytest.approx(np.mean(folds), abs=0.03)  # pooled vs mean of folds: close, not equal


def test_predictions_are_stored_as_float32_unless_that_merges_their_values(tmp_path):
    """A near-constant but informative predictor (probabilities 1e-9 apart) keeps its ranking in the store."""
    import optuna
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    ordinary = np.clip(0.5 + 0.3 * (y - 0.5) + rng.normal(0, 0.2, 400), 0, 1)
    near_constant = 0.3 + 1e-9 * ordinary  # the same ranking, within float32's resolution of 0.3
    assert np.unique(near_constant.astype("float32")).size < 10  # what float32 alone would keep
    study = optuna.create_study()
    store = OofStore(tmp_path / "oof")
    rows = np.arange(400)
    for pred, dtype in ((ordinary, "float32"), (near_constant, "float64")):
        trial = study.ask()
        store.save(trial, rows, pred, storage=study._storage)
        _, back = store.load(trial, study._storage)
        assert back.dtype == dtype
        assert roc_auc_score(y, back) == pytest.approx(roc_auc_score(y, ordinary), abs=1e-6)


def test_resuming_a_study_extends_the_ensemble(credit_run, tmp_path):
    res, db = credit_run
    again = tune(str(EXAMPLE), n_trials=4, storage=f"sqlite:///{db}", study_name="ens", **FAST)
    complete = [t for t in again.study.trials if t.state.name == "COMPLETE"]
    assert len(again.study.trials) == 14
    assert again.summary.ensemble["n_candidates"] == len(complete) + 1 > res.summary.ensemble["n_candidates"]
    # a superset of candidates: the best single one cannot get worse, and the ensemble is never below it (the
    # greedy blend itself is not monotone in its candidates: it starts from the 5 best, which the new trials change)
    before, after = res.summary.ensemble, again.summary.ensemble
    assert after["best_single_score"] >= before["best_single_score"] - 1e-12
    assert after["cv_score"] >= after["best_single_score"] - 1e-12


def test_no_ensemble_chooses_the_best_lower_confidence_bound(credit_run):
    res, db = credit_run
    single = tune(str(EXAMPLE), n_trials=1, storage=f"sqlite:///{db}", study_name="ens", ensemble=False, **FAST)
    sel = single.summary.selection
    assert single.summary.ensemble is None and not isinstance(single.model.fitted, EnsembleFit)
    assert sel["rule"] == "mean minus one standard error" and sel["n_within"] >= 1
    bounds = []
    for t in single.study.trials:
        if t.state.name == "COMPLETE":
            f = np.asarray(t.user_attrs["fold_scores"])
            bounds.append(f.mean() - f.std(ddof=1) / np.sqrt(len(f)))
    assert sel["cv_score"] - sel["standard_error"] >= max(bounds) - 1e-12  # no trial has a better bound
    assert sel["expected_score"] == pytest.approx(sel["cv_score"] - sel["selection_gap"])
    assert single.summary.best_score == pytest.approx(sel["cv_score"])
    assert "single model:" in str(single.summary)


def _fits_of(model) -> list[tuple[object, object]]:
    """(source, fitted model) of every fit of the final model."""
    fitted = model.fitted
    if isinstance(fitted, EnsembleFit):
        return [(m.source, f) for m in fitted.members for f in m.models]
    return [(None, fitted)]


def test_lightgbm_configurations_are_refitted_on_all_rows_for_their_folds_mean_rounds(credit_run):
    from metaopt import load_data
    from metaopt.learners import get_learner
    from metaopt.tuning._cv import FoldCV
    from metaopt.tuning._fidelity import EvalPlan
    from metaopt.tuning._study import SETUP_ATTR

    res, db = credit_run
    trials = {t.number: t for t in res.study.trials if t.state.name == "COMPLETE"}
    # a trial's rounds are the mean of the best iterations of its folds' fits (fitted again here)
    setup, lrn = res.study.user_attrs[SETUP_ATTR], get_learner("lightgbm")
    cvx = FoldCV(load_data(str(EXAMPLE), target="class"), lrn, setup["metric"], EvalPlan.from_setup(setup),
                 int(setup["seed"]))
    t = trials[min(trials)]
    used = [lrn.fit(cvx.task.X.iloc[tr], cvx.task.y.iloc[tr], t.user_attrs["config"], "binary",
                    random_state=cvx.seed + i).n_estimators_used for i, (tr, _) in enumerate(cvx.task.folds[:cvx.n_folds])]
    assert len(used) == len(t.user_attrs["fold_scores"]) and t.user_attrs["metaopt:rounds"] == pytest.approx(np.mean(used))
    # every fit of a trial's configuration in the final model: that many rounds on all rows, no early stopping
    for source, fit in _fits_of(res.model):
        if source != "default":
            assert not fit.early_stopping
            assert fit.estimator.n_estimators == fit.n_estimators_used == round(trials[source].user_attrs["metaopt:rounds"])
    single = tune(str(EXAMPLE), n_trials=1, storage=f"sqlite:///{db}", study_name="ens", ensemble=False, **FAST)
    (_, fit), = _fits_of(single.model)
    best = single.summary.best_params
    rounds = best.get("n_estimators") or round(next(t.user_attrs["metaopt:rounds"] for t in single.study.trials
                                                    if t.user_attrs.get("config") == best))
    assert not fit.early_stopping and fit.estimator.n_estimators == rounds


def test_regression_and_multiclass_ensembles(autompg_path, iris_path):
    reg = tune(str(autompg_path), n_trials=8, cv=3, progress=False, learner="lightgbm")
    assert isinstance(reg.model.fitted, EnsembleFit)
    e = reg.summary.ensemble
    assert e["cv_score"] < e["best_single_score"]  # rmse: lower is better
    multi = tune(str(iris_path), n_trials=6, cv=3, progress=False, learner="lightgbm")
    m = multi.summary.ensemble
    assert m["cv_score"] <= m["best_single_score"]  # log_loss: lower is better
    if isinstance(multi.model.fitted, EnsembleFit):
        assert multi.model.fitted.classes_.tolist() == sorted(multi.model.fitted.classes_.tolist())


def test_under_repeated_cv_the_summary_says_the_blend_is_scored_on_predictions_averaged_over_repeats(servo_path):
    res = tune(str(servo_path), n_trials=6, progress=False, learner="lightgbm")  # 167 rows: CV repeated
    e = res.summary.ensemble
    assert res.summary.evaluation.endswith("3 repeats") and e["repeats"] == 3
    assert e["n_members"] >= 2 and "on the out-of-fold predictions (averaged over 3 repeats)" in str(res.summary)
    assert ("the blend is kept though its CV is" in str(res.summary)) == (e["gain"] < 0)


def test_a_blend_kept_though_its_cv_is_a_little_worse_says_why():
    from metaopt.tuning._summary import _kept_though_worse

    line, = _kept_though_worse({"gain": -0.0003, "best_single_score": 0.0385, "n_candidates": 11})
    assert "CV is 0.8% worse" in line and "best of 11 candidates'" in line
    assert _kept_though_worse({"gain": 0.01, "best_single_score": 0.0385, "n_candidates": 11}) == []


def test_worker_processes_trials_enter_the_ensemble():
    res = tune(str(EXAMPLE), n_trials=6, n_jobs=2, **FAST)
    e = res.summary.ensemble
    complete = [t for t in res.study.trials if t.state.name == "COMPLETE"]
    assert e["n_candidates"] == len(complete) + 1
    assert len(e["candidate_workers"]) == 2  # the two worker processes' trials, through the copied study


def test_bad_ensemble_arguments_are_config_errors():
    with pytest.raises(ConfigError, match="ensemble must be True or False"):
        tune(str(EXAMPLE), n_trials=1, ensemble="yes", **FAST)
    with pytest.raises(ConfigError, match="ensemble_size"):
        tune(str(EXAMPLE), n_trials=1, ensemble_size=0, **FAST)


# --------------------------------------------------------------------------- where no blend helps: a seed bag
@pytest.fixture(scope="module")
def setosa() -> pd.DataFrame:
    """iris, setosa against the rest (scikit-learn's copy): every configuration separates it perfectly, so
    no blend can beat the best configuration on CV."""
    from sklearn.datasets import load_iris

    X, y = load_iris(return_X_y=True, as_frame=True)
    return X.assign(setosa=np.where(y == 0, "yes", "no"))


def test_where_no_blend_beats_the_best_configuration_the_model_is_a_seed_bag_of_it(setosa, tmp_path):
    res = tune(setosa, target="setosa", n_trials=3, cv=3, progress=False, learner="random_forest",
               warm_start=False)
    e, fitted = res.summary.ensemble, res.model.fitted
    assert e["why_not"] and e["seeds"] == REFIT_SEEDS == 3
    assert isinstance(fitted, EnsembleFit) and len(fitted.members) == 1
    models = fitted.members[0].models
    assert [m.estimator.random_state for m in models] == [res.summary.fold_seed + i for i in range(3)]
    assert fitted.members[0].params == res.summary.best_params
    source = "default" if res.summary.best_is_default else res.summary.best_trial
    assert e["n_members"] == 1 and e["members"] == [  # the summary names the configuration refitted, no other
        {"trial": source, "learner": "random_forest", "weight": 1.0, "cv_score": res.summary.best_score,
         "params": res.summary.best_params, "fits": 3}]
    X = setosa.drop(columns="setosa")
    np.testing.assert_allclose(res.model.predict_proba(X), np.mean([m.predict_proba(X) for m in models], axis=0))
    assert res.model.metadata["ensemble"] is None  # one configuration: its CV score is the model's
    assert res.model.metadata["cv_score"] == res.summary.best_score
    assert "the model is the best single configuration, averaged over 3 fits with different seeds" in str(res.summary)
    res.model.save(tmp_path / "m.joblib")
    np.testing.assert_allclose(load_model(tmp_path / "m.joblib").predict_proba(X), res.model.predict_proba(X))


def test_a_learner_whose_fits_do_not_depend_on_the_seed_is_fitted_once(setosa):
    res = tune(setosa, target="setosa", n_trials=3, cv=3, progress=False, learner="linear", warm_start=False)
    assert res.summary.ensemble["why_not"] and "seeds" not in res.summary.ensemble
    assert not isinstance(res.model.fitted, EnsembleFit)
    assert "different seeds" not in str(res.summary)


def _ctrl_c_at_the_second_seed(n_rows: int):
    """A random forest that raises KeyboardInterrupt (what Ctrl-C raises) where the final model's second seed
    starts: its fit on all ``n_rows`` rows with seed ``fold_seed + 1`` (the fold seed is 0 below)."""
    from metaopt.learners import RandomForestLearner

    class CtrlC(RandomForestLearner):
        name, id_prefix = "rf_ctrl_c_at_seed", "rfc"

        def fit(self, X, y, params, kind, *args, random_state=0, **kw):
            if len(X) == n_rows and random_state == 1:
                raise KeyboardInterrupt
            return super().fit(X, y, params, kind, *args, random_state=random_state, **kw)

    return CtrlC()


def test_ctrl_c_during_the_extra_seeds_keeps_the_model_with_the_fits_done(setosa):
    from metaopt.learners import register_learner, unregister_learner

    learner = register_learner(_ctrl_c_at_the_second_seed(len(setosa)))
    try:
        run = dict(target="setosa", n_trials=3, cv=3, progress=False, learner=learner.name, warm_start=False,
                   random_state=0)
        res = tune(setosa, on_interrupt="finish", **run)
        assert not isinstance(res.model.fitted, EnsembleFit)  # one fit: no bag
        assert "seeds" not in res.summary.ensemble and not res.summary.stopped_by_user
        assert any(n.startswith("Ctrl-C while the final model's extra seeds were fitted: the model keeps the "
                                "fits done (1 per configuration)") for n in res.summary.notes)
        assert res.model.predict(setosa.drop(columns="setosa")).shape == (len(setosa),)
        with pytest.raises(KeyboardInterrupt):  # the library's default: Ctrl-C stops the call
            tune(setosa, **run)
    finally:
        unregister_learner(learner.name)


def _ctrl_c_at_a_member(n_rows: int, at: int):
    """A LightGBM learner that raises KeyboardInterrupt at the ``at``-th fit on all ``n_rows`` rows with the
    first seed (``fold_seed`` 0 below): the ensemble's ``at``-th member refit (None: never)."""
    from metaopt.learners import LightGBMLearner

    class CtrlC(LightGBMLearner):
        name, id_prefix = "lgbm_ctrl_c_at_member", "lgc"
        first_refits = 0

        def fit(self, X, y, params, kind, *args, random_state=0, **kw):
            if len(X) == n_rows and random_state == 0:
                type(self).first_refits += 1
                if type(self).first_refits == at:
                    raise KeyboardInterrupt
            return super().fit(X, y, params, kind, *args, random_state=random_state, **kw)

    return CtrlC()


def test_ctrl_c_while_the_members_are_refitted_keeps_the_members_fitted_so_far():
    from metaopt.learners import register_learner, unregister_learner

    data = pd.read_csv(EXAMPLE)
    run = dict(target="class", n_trials=8, cv=3, progress=False, warm_start=False, random_state=0)
    for at in (None, 3):
        learner = register_learner(_ctrl_c_at_a_member(len(data), at))
        try:
            if at is None:  # uninterrupted: an ensemble of more than two members, each a seed bag
                full = tune(data, learner=learner.name, on_interrupt="finish", **run)
                assert full.summary.ensemble["n_members"] > 2 and full.summary.ensemble.get("seeds") is None
                assert all(len(m.models) == REFIT_SEEDS for m in full.model.fitted.members)
                continue
            res = tune(data, learner=learner.name, on_interrupt="finish", **run)
            kept = res.model.fitted.members
            assert [m.source for m in kept] == [m.source for m in full.model.fitted.members[:2]]
            assert [len(m.models) for m in kept] == [1, 1]  # no extra seeds after the Ctrl-C
            assert res.summary.ensemble["n_members"] == 2 and not res.summary.stopped_by_user
            assert sum(m["weight"] for m in res.summary.ensemble["members"]) == pytest.approx(1.0)
            # the CV reported is the two members' blend's, not the full selection's
            assert res.summary.ensemble["selected_cv_score"] == full.summary.ensemble["cv_score"]
            assert res.summary.ensemble["cv_score"] != full.summary.ensemble["cv_score"]
            assert "selected_cv_score" not in full.summary.ensemble
            n = full.summary.ensemble["n_members"]
            assert f"all {n} selected: " in str(res.summary) and "selected: " not in str(full.summary)
            assert any(n.startswith("Ctrl-C while the ensemble's members were refitted: the model keeps the 2 of ")
                       for n in res.summary.notes)
            proba = res.model.predict_proba(data.drop(columns="class"))
            assert proba.shape == (len(data), 2) and np.allclose(proba.sum(axis=1), 1.0)
            type(learner).first_refits = 0
            with pytest.raises(KeyboardInterrupt):  # the library's default: Ctrl-C stops the call
                tune(data, learner=learner.name, **run)
        finally:
            unregister_learner(learner.name)


def test_seeds_are_added_one_at_a_time_over_the_members_while_there_is_room(setosa):
    from metaopt.learners import get_learner

    X, y = setosa.drop(columns="setosa"), setosa["setosa"]

    def fit(member, i):
        return get_learner("random_forest").fit(X, y, member.params, "binary", random_state=i)

    def members():
        return [Member([fit(Member([], 1.0, n, "random_forest", {"n_estimators": n}, None), 0)], 1.0, n,
                       "random_forest", {"n_estimators": n}, None) for n in (20, 30)]

    unbounded = members()
    add_seeds(unbounded, fit, 3, lambda m: True)
    assert [len(m.models) for m in unbounded] == [3, 3]
    assert [m.models[2].estimator.random_state for m in unbounded] == [2, 2]
    none_left = members()
    add_seeds(none_left, fit, 3, room_by_time(lambda: 0.0))
    assert [len(m.models) for m in none_left] == [1, 1]
    calls = iter([60.0, 0.0, 0.0, 0.0])  # time for one more fit only: the first member's second seed
    one_more = members()
    add_seeds(one_more, fit, 3, room_by_time(lambda: next(calls)))
    assert [len(m.models) for m in one_more] == [2, 1]
    # without a time budget: rows for three more fits of 150 rows (the third seeds of the first member only)
    by_rows = members()
    add_seeds(by_rows, fit, 3, room_by_rows(3 * 150 + 149, 150))
    assert [len(m.models) for m in by_rows] == [3, 2]


def test_without_a_time_budget_the_seed_bags_follow_the_searchs_rows_and_repeat_exactly():
    """The extra seeds of a run without a time budget may train on SEED_SHARE of the rows the search's fits
    trained on, whatever the fits' seconds were: two runs give the same model."""
    from optuna.trial import TrialState

    from metaopt.tuning._objective import ROWS_FITTED_ATTR

    data = pd.read_csv(EXAMPLE).head(300)
    run = dict(target="class", n_trials=2, cv=2, progress=False, learner="lightgbm", warm_start=False,
               random_state=0)
    first, second = tune(data, **run), tune(data, **run)
    X = data.drop(columns="class")
    np.testing.assert_array_equal(first.predict_proba(X), second.predict_proba(X))
    trials = first.study.get_trials(states=(TrialState.COMPLETE, TrialState.PRUNED))
    assert all(t.user_attrs[ROWS_FITTED_ATTR] == 2 * 150 for t in trials)  # two folds of 150 rows each
    rows = sum(t.user_attrs[ROWS_FITTED_ATTR] for t in trials) + 2 * 150  # and the library default's folds
    fitted = first.model.fitted
    members = fitted.members if isinstance(fitted, EnsembleFit) else [None]
    extra = sum(len(m.models) - 1 for m in members if m is not None)
    assert extra == min(int(SEED_SHARE * rows // len(data)), (REFIT_SEEDS - 1) * len(members))


# --------------------------------------------------------------------------- CLI
def test_cli_saves_an_ensemble_and_predict_uses_it(tmp_path, capsys):
    model = tmp_path / "m.joblib"
    assert main(["tune", str(EXAMPLE), "--target", "class", "--trials", "6", "--cv", "3", "--learner", "lightgbm",
                 "-q", "--json", "--output", str(model)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["ensemble"]["n_members"] >= 2
    out = tmp_path / "pred.csv"
    data = pd.read_csv(EXAMPLE).drop(columns="class").head(20)
    data.to_csv(tmp_path / "new.csv", index=False)
    assert main(["predict", str(model), str(tmp_path / "new.csv"), "--proba", "--output", str(out)]) == 0
    pred = pd.read_csv(out)
    assert [c for c in pred.columns if c.startswith("proba_")] == ["proba_bad", "proba_good"]
    np.testing.assert_allclose(pred[["proba_bad", "proba_good"]].to_numpy(), load_model(model).predict_proba(data),
                               atol=1e-6)


def test_cli_no_ensemble_and_bad_size(tmp_path, capsys):
    assert main(["tune", str(EXAMPLE), "--target", "class", "--trials", "3", "--cv", "3", "--learner", "lightgbm",
                 "-q", "--json", "--no-ensemble"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["ensemble"] is None and summary["selection"]["rule"] == "mean minus one standard error"
    assert main(["tune", str(EXAMPLE), "--target", "class", "--trials", "3", "--ensemble-size", "0", "-q"]) == 2
    err = capsys.readouterr().err
    assert "--ensemble-size must be" in err and "Traceback" not in err


# --------------------------------------------------------------------------- PostgreSQL workers
@pytest.mark.slow
def test_postgresql_four_workers_then_the_ensemble_uses_trials_of_all_of_them(postgres_url, tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "XDG_CACHE_HOME": str(tmp_path / "cache")}
    cmd = [sys.executable, "-m", "metaopt", "tune", str(EXAMPLE), "--target", "class", "--trials", "3",
           "--cv", "3", "--learner", "lightgbm", "-q", "--json", "--storage", postgres_url,
           "--study-name", "pg-ensemble"]
    procs = [subprocess.Popen(cmd + ["--seed", str(i)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=env) for i in range(4)]
    for p in procs:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err[-2000:]
    final = subprocess.run(cmd + ["--seed", "9", "--output", str(tmp_path / "m.joblib")], capture_output=True,
                           text=True, env=env, timeout=600)
    assert final.returncode == 0, final.stderr[-2000:]
    e = json.loads(final.stdout)["ensemble"]
    study = optuna.load_study(study_name="pg-ensemble", storage=postgres_url)
    workers = {t.user_attrs["metaopt:worker"] for t in study.trials if t.value is not None}
    assert len(workers) == 5  # 4 workers + the final call
    complete = [t for t in study.trials if t.state.name == "COMPLETE"]
    assert set(e["candidate_workers"]) == workers and e["n_candidates"] == len(complete) + 1
    assert isinstance(load_model(tmp_path / "m.joblib").fitted, EnsembleFit)


@pytest.mark.parametrize("kind,metric", [("binary", "roc_auc"), ("binary", "log_loss"), ("binary", "accuracy"),
                                         ("multiclass", "roc_auc"), ("multiclass", "log_loss"),
                                         ("multiclass", "accuracy"), ("regression", "rmse"), ("regression", "r2"),
                                         ("binary", "average_precision"), ("binary", "balanced_accuracy"),
                                         ("binary", "f1"), ("multiclass", "balanced_accuracy"), ("multiclass", "f1"),
                                         ("regression", "mae")])
def test_vectorised_selection_scores_equal_the_protocol_metrics(kind, metric):
    from metaopt.tuning._ensemble._scores import fold_mean_scores

    rng = np.random.default_rng(3)
    n, k = 300, {"binary": 2, "multiclass": 4, "regression": 1}[kind]
    if kind == "regression":
        yt = rng.normal(size=n)
        preds = [(yt + rng.normal(0, s, n)).reshape(-1, 1) for s in (0.3, 1.0, 2.0)]
    else:
        yt = rng.integers(0, k, n)
        raw = [rng.dirichlet(np.ones(k), n) + 0.5 * np.eye(k)[yt] * w for w in (0.0, 0.5, 1.0)]
        preds = [np.round(r / r.sum(axis=1, keepdims=True), 2) for r in raw]  # rounding: ties in the ranks
        preds = [p / p.sum(axis=1, keepdims=True) for p in preds]
    folds = [np.arange(0, 100), np.arange(100, 200), np.arange(200, 300)]
    fast = fold_mean_scores(np.stack(preds), yt, kind, metric, folds)
    slow = [np.mean([score_predictions(p[f], yt[f], kind, (metric,))[metric] for f in folds]) for p in preds]
    np.testing.assert_allclose(fast, slow, rtol=1e-9, atol=1e-12)


def test_an_ensemble_of_two_learners_predicts_their_weighted_average():
    """Members of different learners (what ``learner="auto"`` may select) fitted as themselves, averaged."""
    from metaopt.data import load_data
    from metaopt.learners import get_learner
    from metaopt.tuning._ensemble import Member

    ds = load_data(str(EXAMPLE), target="class")
    X, y = ds.X.iloc[:700], ds.y.iloc[:700]
    lgbm = get_learner("lightgbm").fit(X, y, {"learning_rate": 0.1, "n_estimators": 50}, "binary", random_state=0)
    trees = get_learner("extra_trees").fit(X, y, {"n_estimators": 50}, "binary", random_state=0)
    ens = EnsembleFit("binary", [Member([lgbm], 0.75, 3, "lightgbm", {}, 0.8),
                                 Member([trees], 0.25, "extra_trees:1", "extra_trees", {}, 0.78)],
                      classes_=lgbm.classes_)
    new = ds.X.iloc[700:]
    expected = 0.75 * lgbm.predict_proba(new) + 0.25 * trees.predict_proba(new)
    np.testing.assert_allclose(ens.predict_proba(new), expected)
    assert list(ens.predict(new)) == list(lgbm.classes_[np.argmax(expected, axis=1)])
    assert "lightgbm 3: 0.75" in repr(ens) and "extra_trees extra_trees:1: 0.25" in repr(ens)
