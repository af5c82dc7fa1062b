"""``metaopt.tuning.tune``: kinds, summary, failures, pruning, storage resume, argument errors."""

from __future__ import annotations

import math

import numpy as np
import optuna
import pytest
from optuna.trial import TrialState

from metaopt.exceptions import ConfigError
from metaopt.recommender import recommend
from metaopt.tuning import TuneResult, tune
from metaopt.tuning._ensemble import EnsembleFit

FAST = dict(cv=3, progress=False, random_state=0)


def _finished(study):
    return [t for t in sorted(study.trials, key=lambda t: t.number)
            if t.state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)]


def test_binary_summary_fields(credit_small):
    res = tune(credit_small, target="class", n_trials=4, **FAST)
    assert isinstance(res, TuneResult)
    s = res.summary
    assert (s.kind, s.metric, s.direction, s.cv) == ("binary", "roc_auc", "maximize", 3)
    assert s.learner == recommend(credit_small, target="class", k=1)[0].learner  # auto: the KB's top pick
    assert s.n_trials == 4 and s.n_trials_run == 4
    assert s.n_complete + s.n_pruned + s.n_failed == 4
    assert s.n_warm_started >= 1  # the shipped knowledge base gives recommendations
    assert 0.5 < s.default_score < 1 and 0.5 < s.best_score < 1
    trials = _finished(res.study)
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    # best is the best complete trial, or the default when that was better
    best_trial_value = max(t.value for t in complete)
    assert s.best_score == pytest.approx(max(best_trial_value, s.default_score))
    if not s.best_is_default:
        best = res.study.trials[s.best_trial]
        assert best.value == pytest.approx(s.best_score)
        assert s.best_params == best.user_attrs["config"]
    # beaten_after = position of the first trial strictly better than the default
    expected = next((i for i, t in enumerate(trials, 1)
                     if t.state == TrialState.COMPLETE and t.value > s.default_score), None)
    assert s.beaten_after == expected
    for t in complete:  # same folds for all: one score per fold, mean = objective
        folds = t.user_attrs["fold_scores"]
        assert len(folds) == 3 and t.value == pytest.approx(np.mean(folds))
    stored_default = res.study.user_attrs["metaopt:default"]
    assert stored_default["score"] == pytest.approx(s.default_score) and len(stored_default["fold_scores"]) == 3
    # summary renders and serialises
    text = str(res)
    assert "best CV roc_auc" in text and "library default" in text
    assert ("beaten after" in text) or ("not beaten" in text)
    d = s.to_dict()
    assert d["best_params"] == s.best_params and d["improvement"] == pytest.approx(s.best_score - s.default_score)
    # the refitted model predicts the training labels' classes
    X = credit_small.drop(columns=["class"])
    pred = res.model.predict(X)
    assert pred.shape == (300,) and set(pred) <= {"good", "bad"}
    proba = res.model.predict_proba(X.head(5))
    assert proba.shape == (5, 2) and np.allclose(proba.sum(axis=1), 1)
    ens = s.ensemble if s.ensemble and s.ensemble.get("n_members", 0) > 1 else None
    assert res.model.metadata["metric"] == "roc_auc" and res.model.metadata["cv_score"] == pytest.approx(
        ens["cv_score"] if ens else s.best_score)


def test_multiclass_defaults_to_log_loss(iris_path):
    res = tune(str(iris_path), n_trials=3, **FAST)
    s = res.summary
    assert (s.kind, s.metric, s.direction) == ("multiclass", "log_loss", "minimize")
    assert s.best_score <= s.default_score or not s.best_is_default
    # learner "auto": the best of every learner's study (iris: LightGBM's and extra trees')
    other_legs = [e["best_score"] for e in (s.learners or [])[1:] if e.get("best_score") is not None]
    assert s.best_score == pytest.approx(min([t.value for t in _finished(res.study)
                                              if t.state == TrialState.COMPLETE] + [s.default_score] + other_legs))
    from metaopt.data import read_frame

    proba = res.model.predict_proba(read_frame(iris_path))  # the target column is ignored
    assert proba.shape == (150, 3) and np.allclose(proba.sum(axis=1), 1)


def test_regression_rmse_and_r2(servo_path):
    res = tune(str(servo_path), n_trials=3, **FAST)
    assert (res.summary.metric, res.summary.direction) == ("rmse", "minimize")
    assert res.summary.best_score > 0
    # servo's target is never negative and right-skewed (skewness 1.8): LightGBM fits the Poisson loss, and says so
    assert any("lightgbm fits the Poisson loss" in n for n in res.summary.notes)
    assert "lightgbm fits the Poisson loss" in str(res.summary)
    r2 = tune(str(servo_path), n_trials=2, metric="r2", learner="random_forest", warm_start=False, sampler="tpe",
              **FAST)
    assert (r2.summary.metric, r2.summary.direction, r2.summary.learner) == ("r2", "maximize", "random_forest")
    assert r2.summary.best_score > 0.3
    assert not any("Poisson" in n for n in r2.summary.notes)  # 1.8 is below the forests' threshold (2)
    from metaopt.data import read_frame

    pred = r2.model.predict(read_frame(servo_path))
    assert pred.dtype == np.float64 and pred.shape == (167,)


def test_failing_trial_is_recorded_and_skipped(credit_small):
    storage = optuna.storages.InMemoryStorage()
    study = optuna.create_study(storage=storage, study_name="fail", direction="maximize")
    study.enqueue_trial({"num_leaves": 1})  # LightGBM needs >= 2 leaves: this configuration fails
    res = tune(credit_small, target="class", n_trials=3, storage=storage, study_name="fail", warm_start=False, learner="lightgbm",
               sampler="tpe", **FAST)
    first = res.study.trials[0]
    assert first.state == TrialState.FAIL
    assert "num_leaves" in first.user_attrs["error"]
    assert res.summary.n_failed == 1 and res.summary.n_complete == 2
    assert any("num_leaves" in e for e in res.summary.errors)
    assert res.summary.best_trial != 0 and math.isfinite(res.summary.best_score)


class _PruneFromThirdTrial(optuna.pruners.BasePruner):
    def prune(self, study, trial):
        return trial.number >= 2


def test_trials_are_pruned_per_fold(credit_small):
    res = tune(credit_small, target="class", n_trials=4, pruner=_PruneFromThirdTrial(), warm_start=False, learner="lightgbm",
               sampler="tpe", **FAST)
    trials = _finished(res.study)
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 2 + [TrialState.PRUNED] * 2
    for t in trials[2:]:
        assert list(t.intermediate_values) == [0]  # stopped after the first of 3 folds
        assert len(t.user_attrs["fold_scores"]) == 1
    # never a pruned trial; the library default may beat both complete ones (TPE's start-up draws decide)
    assert res.summary.n_pruned == 2 and res.summary.best_trial not in (2, 3)
    assert res.summary.best_trial in (0, 1) or res.summary.best_is_default


def test_default_pruner_stops_a_hopeless_trial(credit_small):
    storage = optuna.storages.InMemoryStorage()
    study = optuna.create_study(storage=storage, study_name="prune", direction="maximize")
    good = dict(learning_rate=0.05, colsample_bytree=0.8, subsample=1.0, reg_alpha=0.001, reg_lambda=0.001,
                extra_trees=False)
    for leaves, mcs in [(8, 10), (16, 20), (12, 15), (24, 8), (10, 12)]:
        study.enqueue_trial({**good, "num_leaves": leaves, "min_child_samples": mcs})
    # one leaf node with 100 rows: nearly constant predictions
    study.enqueue_trial({**good, "num_leaves": 4, "min_child_samples": 100, "colsample_bytree": 0.3,
                         "learning_rate": 0.005, "extra_trees": True})
    res = tune(credit_small, target="class", n_trials=6, storage=storage, study_name="prune", warm_start=False,
               sampler="tpe", learner="lightgbm", **FAST)  # "auto" would give other learners' studies trials too
    assert res.summary.pruner.startswith("FoldPruner")
    last = res.study.trials[5]
    assert last.state == TrialState.PRUNED and max(last.intermediate_values) < 2
    assert res.summary.n_pruned == 1 and res.summary.n_complete == 5


def test_sqlite_storage_resumes_the_study(credit_small, tmp_path):
    db = tmp_path / "tune.db"
    first = tune(credit_small, target="class", n_trials=2, storage=f"sqlite:///{db}", **FAST)
    name = first.summary.study_name
    assert name.startswith("metaopt-") and db.exists()
    second = tune(credit_small, target="class", n_trials=2, storage=str(db), **FAST)  # a path works too
    s = second.summary
    assert s.study_name == name
    assert s.n_trials == 4 and s.n_trials_run == 2
    assert s.default_score == pytest.approx(first.summary.default_score)
    # the warm start is not enqueued twice
    study = optuna.load_study(study_name=name, storage=f"sqlite:///{db}")
    # (a trial still waiting in the queue has its configuration in ``fixed_params``, not yet in ``params``)
    configs = [tuple(sorted((t.params or t.system_attrs.get("fixed_params") or {}).items()))
               for t in study.trials if t.user_attrs.get("metaopt:source")]
    assert configs and len(configs) == len(set(configs))
    # the same study under another metric is refused
    with pytest.raises(ConfigError, match="study"):
        tune(credit_small, target="class", n_trials=1, storage=str(db), study_name=name, metric="accuracy", **FAST)


@pytest.mark.parametrize("kwargs, fragment", [
    (dict(metric="rmse"), "does not apply to binary"),
    (dict(metric="mae"), "does not apply to binary"),
    (dict(metric="f2"), "does not apply to binary"),
    (dict(n_trials=0), "n_trials"),
    (dict(n_trials=None), "n_trials or timeout"),
    (dict(n_trials="many"), "n_trials must be 'auto'"),
    (dict(cv=1), "cv"),
    (dict(n_trials=True), "n_trials must be a positive integer, got True"),
    (dict(timeout=float("nan")), "timeout must be a positive number of seconds"),
    (dict(cv=3.0), r"cv must be an integer >= 2, got 3\.0"),
    (dict(n_jobs=0), "n_jobs must be a positive integer"),
    (dict(k=0), "k must be a positive integer"),
    (dict(random_state=-1), "random_state must be an integer >= 0"),
    (dict(learner="xgboost"), "unknown learner"),
    (dict(sampler="cmaes"), "sampler"),
    (dict(pruner="median"), "pruner"),
])
def test_bad_arguments_raise_config_error(credit_small, kwargs, fragment):
    args = dict(target="class", n_trials=1, progress=False, warm_start=False, learner="lightgbm")
    args.update(kwargs)
    with pytest.raises(ConfigError, match=fragment):
        tune(credit_small, **args)


def test_without_knowledge_base_falls_back_to_plain_lightgbm(credit_small, tmp_path):
    res = tune(credit_small, target="class", n_trials=2, kb=tmp_path / "no-kb", sampler="tpe", **FAST)
    s = res.summary
    assert s.learner == "lightgbm" and s.n_warm_started == 0 and s.warm_start == "none available"
    assert any("no recommendations" in n for n in s.notes) and s.n_complete == 2


def test_timeout_budget(credit_small):
    res = tune(credit_small, target="class", n_trials=None, timeout=2.0, learner="lightgbm", warm_start=False,
               sampler="random", **FAST)
    assert res.summary.n_trials_run >= 1 and res.summary.search_time_s < 30


def test_warm_start_picks_after_the_second_read_the_scores(credit_small):
    """Picks 1-2 are enqueued; each later one is the meta-model's choice given the scores of those before."""
    from metaopt.recommender import peek_recommender
    from metaopt.warmstart import ATTR

    res = tune(credit_small, target="class", learner="lightgbm", n_trials=6, ensemble=False, **FAST)
    record = res.study.user_attrs[ATTR]
    trials = sorted(res.study.trials, key=lambda t: t.number)
    assert record["planned"] == 5 and len(set(record["config_ids"])) == 5
    assert [t.user_attrs.get("metaopt:config_id") for t in trials[:5]] == record["config_ids"]
    assert trials[5].user_attrs.get("metaopt:source") is None  # then the sampler
    rec = peek_recommender(None, "lightgbm")
    n_features = credit_small.shape[1] - 1
    for i in (2, 3, 4):
        tried = {t.user_attrs["metaopt:config_id"]: t.value for t in trials[:i]}
        nxt = rec.next_recommendation("binary", "lightgbm", tried, len(credit_small), n_features, 2)
        assert nxt.config_id == record["config_ids"][i]
    assert any("3 later pick(s) chosen after the scores" in n for n in res.summary.notes)


@pytest.mark.parametrize("metric", ["average_precision", "balanced_accuracy", "f1"])
def test_a_metric_the_kb_does_not_record_is_optimised_on_the_same_folds(credit_small, metric):
    """The trials' values are the metric's fold means (what the ensemble and the single-model rule compare)."""
    from metaopt.core import score_predictions

    res = tune(credit_small, target="class", n_trials=3, metric=metric, learner="lightgbm", **FAST)
    assert res.metric == metric and res.study.direction.name == "MAXIMIZE"
    done = _finished(res.study)
    for t in done:
        assert t.value == pytest.approx(np.mean(t.user_attrs["fold_scores"]))
        assert 0.0 <= t.value <= 1.0
    assert len({round(t.value, 12) for t in done}) > 1  # the configurations score differently
    if metric != "balanced_accuracy":
        assert any(f"{metric}: class 'good' is the positive one" in n for n in res.summary.notes)
    ens = res.summary.ensemble
    assert ens["best_single_score"] == pytest.approx(max(max(t.value for t in done), res.summary.default_score))
    proba = np.array([[0.8, 0.2], [0.3, 0.7]])
    assert np.isfinite(score_predictions(proba, np.array([0, 1]), "binary", (metric,))[metric])


def test_the_same_seed_gives_the_same_model(credit_small):
    """Without a time budget and on one worker a run repeats exactly: `auto`'s studies, the warm start, the
    ensemble and its seed bags (which once depended on the search's seconds) are the same on every run."""
    first, second = (tune(credit_small, target="class", n_trials=6, **FAST) for _ in range(2))
    assert isinstance(first.model.fitted, EnsembleFit) and first.summary.ensemble["n_members"] >= 2
    assert [(t.params, t.value) for t in first.study.trials] == [(t.params, t.value) for t in second.study.trials]
    assert first.summary.ensemble["members"] == second.summary.ensemble["members"]  # members, weights, fits
    X = credit_small.drop(columns="class")
    np.testing.assert_array_equal(first.predict_proba(X), second.predict_proba(X))
