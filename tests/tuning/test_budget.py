"""The time budget (``metaopt.tuning._budget``): one deadline for the whole call, trials stopped at it, the
library default limited to its share, the refit's reserve, and where the time went.

Real fits and real Optuna studies; no assertion on wall-clock durations, only on structure.
"""

from __future__ import annotations

import time

import optuna
import pytest
from optuna.trial import TrialState

from metaopt.learners import get_learner
from metaopt.tuning import tune
from metaopt.tuning._budget import PHASES, REFIT_MARGIN, SLACK_SHARE, TimeBudget
from metaopt.tuning._cv import FoldCV
from metaopt.tuning._fidelity import kfold_plan
from metaopt.tuning._objective import STOPPED_ATTR, Objective, score_default


def test_time_budget_books_every_step_and_keeps_the_refit_reserve():
    budget = TimeBudget(30.0)
    for step in PHASES:
        budget.lap(step)
    out = budget.breakdown()
    assert set(out) == set(PHASES) | {"total", "budget"} and out["budget"] == 30.0
    assert sum(out[p] for p in PHASES) == pytest.approx(out["total"], abs=0.01)
    assert budget.keep_for_refit(2.0, 800, 1000) == pytest.approx(REFIT_MARGIN * 2.5 + 0.2)  # scaled to all rows
    assert budget.search_deadline() == pytest.approx(budget.deadline - budget.reserve_s - SLACK_SHARE * 30.0)
    assert TimeBudget(None).left() is None and TimeBudget(None).search_deadline() is None
    late = TimeBudget(10.0, start=time.monotonic() - 60)  # the steps before overran
    assert late.left() < 0 and late.refit_limit() > 0  # the refit still gets a small limit


def _credit_cv(credit_small, folds=3):
    from metaopt.data import load_data

    ds = load_data(credit_small, target="class")
    return FoldCV(ds, get_learner("lightgbm"), "roc_auc", kfold_plan(folds), seed=0)


def test_a_trial_reaching_the_deadline_between_folds_is_pruned_with_the_folds_it_did(credit_small):
    cvx = _credit_cv(credit_small)
    calls = []

    def deadline():  # open for the first fold, past from the second on
        calls.append(1)
        return time.monotonic() + (1000.0 if len(calls) == 1 else -1.0)

    study = optuna.create_study(direction="maximize")
    space = get_learner("lightgbm").search_space("binary")
    study.optimize(Objective(cvx, space, "roc_auc", deadline=deadline), n_trials=1)
    trial = study.trials[0]
    assert trial.state == TrialState.PRUNED  # not a COMPLETE trial with fewer folds
    assert trial.user_attrs[STOPPED_ATTR] == "time budget"
    assert len(trial.user_attrs["fold_scores"]) == 1 and list(trial.intermediate_values) == [0]
    assert trial.user_attrs["metaopt:fit_s"] > 0 and trial.user_attrs["metaopt:train_rows"] == 200


def test_a_fit_projected_past_the_deadline_is_not_started(credit_small):
    cvx = _credit_cv(credit_small)
    calls = []

    def deadline():  # open for the first fold; then a sliver, less than the first fold's fit took
        calls.append(1)
        return time.monotonic() + (1000.0 if len(calls) == 1 else 1e-4)

    params = get_learner("lightgbm").default_params("binary")
    ev = cvx.evaluate(params, deadline=deadline)
    assert ev.stopped == "time budget" and len(ev.scores) == 1 and len(ev.fit_s) == 1
    assert ev.cut_fit is None  # not started and cut: never started
    assert len(calls) == 2


def test_the_library_default_past_its_share_is_noted_not_stored(credit_small):
    cvx = _credit_cv(credit_small)
    study = optuna.create_study(direction="maximize")
    params = get_learner("lightgbm").default_params("binary")
    late = score_default(study, cvx, params, "roc_auc", deadline=lambda: time.monotonic() - 1.0)
    assert late.stopped and late.score is None and "not scored" in late.error
    assert "metaopt:default" not in study.user_attrs  # a later run with more time scores it
    ok = score_default(study, cvx, params, "roc_auc")
    assert not ok.stopped and 0.5 < ok.score < 1 and ok.fit_s > 0 and ok.train_rows == 200
    assert study.user_attrs["metaopt:default"]["fit_s"] == pytest.approx(ok.fit_s)


def test_a_budget_spent_before_the_search_still_returns_the_default_model(credit_small):
    res = tune(credit_small, target="class", timeout=0.001, n_trials=None, learner="lightgbm", warm_start=False,
               sampler="random", progress=False)
    s = res.summary
    assert s.n_trials_run == 0 and s.best_is_default and s.best_score is None
    assert "not scored" in s.default_error
    assert any("no time left for the search" in n for n in s.notes)
    assert any("no configuration was scored within the time budget" in n for n in s.notes)
    assert res.model.predict(credit_small.drop(columns=["class"]).head(5)).shape == (5,)


def test_the_summary_says_where_the_time_went(credit_small):
    res = tune(credit_small, target="class", timeout=60.0, n_trials=3, learner="lightgbm", warm_start=False,
               sampler="random", progress=False)
    s = res.summary
    t = s.to_dict()["time"]
    assert set(t) == set(PHASES) | {"total", "budget"} and t["budget"] == 60.0
    assert sum(t[p] for p in PHASES) == pytest.approx(t["total"], abs=0.1)  # the steps add up to the call
    assert t["search"] > 0 and t["refit"] > 0 and t["default"] > 0
    line = next(x for x in str(s).splitlines() if x.startswith("time: "))
    assert line.startswith(f"time: {t['total']:.1f} s of 60 s (") and "search" in line  # steps >= 0.05 s
    assert s.n_trials_run == 3 and s.n_stopped == 0  # n_trials and timeout combined: the trials ended it
