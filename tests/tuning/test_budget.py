"""The time budget (``metaopt.tuning._budget``): one deadline for the whole call, trials stopped at it, the
library default limited to its share, the refit's reserve, and where the time went.

Real fits and real Optuna studies; no assertion on wall-clock durations, only on structure.
"""

from __future__ import annotations

import time

import numpy as np
import optuna
import pytest
from optuna.trial import TrialState
from tuning_support import EXAMPLE

from metaopt.data import load_data
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


def _rung_cv():
    from metaopt.tuning._fidelity import RUNGS, EvalPlan

    ds = load_data(str(EXAMPLE), target="class")
    return FoldCV(ds, get_learner("lightgbm"), "roc_auc", EvalPlan(5, 1, RUNGS), seed=0)


@pytest.mark.parametrize("room", ["middle rung only", "rungs, not the refit", "rungs and refit"])
def test_a_trial_on_rungs_starts_its_middle_rung_only_if_the_top_rung_and_its_refit_can_follow(room):
    from metaopt.tuning._cv import projected_s

    cvx = _rung_cv()
    after_first: list[float] = []

    def on_step(step, value, ev):
        if after_first:
            return
        mid, top = cvx._rungs[1], cvx._rungs[2]
        te = cvx.task.folds[0][1]
        need = {"middle": projected_s(ev, len(mid), len(cvx._rung_test)), "top": projected_s(ev, len(top), len(te)),
                "refit": REFIT_MARGIN * projected_s(ev, len(cvx.task.y), 0)}
        after_first.append({"middle rung only": 2 * need["middle"],
                            "rungs, not the refit": need["middle"] + need["top"] + need["refit"] / 2,
                            "rungs and refit": 1000.0}[room])

    def deadline():  # open for the lowest rung; then the room of the case
        return time.monotonic() + (after_first[0] if after_first else 1000.0)

    ev = cvx.evaluate(get_learner("lightgbm").default_params("binary"), deadline=deadline, on_step=on_step)
    if room == "rungs and refit":
        assert ev.stopped is None and len(ev.rung_scores) == 3 and len(ev.oof) == 1
    else:  # the middle rung never started: only a trial at the top rung, refitted in time, is of use
        assert ev.stopped == "time budget" and len(ev.rung_scores) == 1 and len(ev.fit_s) == 1
        assert ev.cut_fit is None and not ev.oof


def _run_of(res, db, n_rows_scale: float, timeout: float | None):
    """What ``affordable`` reads of a run, around the real study of ``res`` (its trials, fit times, OOF store)."""
    from types import SimpleNamespace

    from metaopt.tuning._ensemble import OofStore
    from metaopt.tuning._study import DEFAULT_ATTR

    study = optuna.load_study(study_name=res.study.study_name, storage=f"sqlite:///{db}")
    stored = study.user_attrs[DEFAULT_ATTR]
    default = SimpleNamespace(score=stored["score"], params=res.summary.default_params, fit_s=stored.get("fit_s"))
    fold_train = 100
    return SimpleNamespace(legs=[], study=study, oof=OofStore.for_storage(study._storage), default=default,
                           maximize=True, learner="lightgbm", notes=[], budget=TimeBudget(timeout),
                           ds=SimpleNamespace(n_rows=int(fold_train * n_rows_scale)),
                           cvx=SimpleNamespace(task=SimpleNamespace(folds=[(np.arange(fold_train), None)])))


@pytest.fixture(scope="module")
def credit_study(tmp_path_factory):
    db = tmp_path_factory.mktemp("afford") / "study.db"
    res = tune(str(EXAMPLE), learner="lightgbm", n_trials=8, storage=f"sqlite:///{db}", study_name="afford",
               cv=3, progress=False, random_state=0)
    return res, db


def test_a_final_model_whose_refit_would_be_cut_well_short_is_replaced_by_one_that_would(credit_study):
    from metaopt.tuning._final import _candidates, affordable

    res, db = credit_study
    run = _run_of(res, db, n_rows_scale=2000.0, timeout=None)
    cands = [c for c in _candidates(run) if c.fit_s]
    need = {id(c): REFIT_MARGIN * c.fit_s * 2000.0 for c in cands}
    slow, fast = max(cands, key=lambda c: need[id(c)]), min(cands, key=lambda c: need[id(c)])
    assert need[id(slow)] > need[id(fast)]  # real fit times: the configurations differ in rounds and leaves
    fields = dict(best_params=dict(slow.params), best_learner="lightgbm", best_score=slow.cv_score,
                  best_trial=slow.source, best_is_default=slow.source == "default")
    assert affordable(run, fields) is fields  # no time budget: the chosen one stays

    # expected to finish only with the projection's margin eaten: the refit is time-limited, the chosen one stays
    run.budget = TimeBudget(need[id(slow)] * (1 + 1 / REFIT_MARGIN) / 2 / (1 - SLACK_SHARE))
    assert need[id(slow)] / REFIT_MARGIN <= run.budget.refit_limit() < need[id(slow)]
    assert affordable(run, fields) is fields and not run.notes

    # expected to be cut well short: the best configuration whose refit fits replaces it
    assert need[id(fast)] < need[id(slow)] / REFIT_MARGIN
    run.budget = TimeBudget((need[id(fast)] + need[id(slow)] / REFIT_MARGIN) / 2 / (1 - SLACK_SHARE))
    before = run.budget.refit_limit()
    out = affordable(run, fields)
    after = run.budget.refit_limit()  # the limit shrinks while affordable runs: it saw one in [after, before]
    # the best by CV among those that fit
    expected = [next(c for c in cands if need[id(c)] <= limit) for limit in (after, before)]
    assert any(out["best_params"] == e.params and out["best_score"] == e.cv_score
               and out["best_is_default"] == (e.source == "default") for e in expected)
    assert any("would not finish" in n for n in run.notes)


def test_an_ensemble_member_whose_fit_would_not_finish_is_left_out_even_the_first(credit_study):
    from metaopt.tuning._ensemble import fit_members
    from metaopt.tuning._final import _candidates

    res, db = credit_study
    run = _run_of(res, db, n_rows_scale=1.0, timeout=None)
    cands = sorted((c for c in _candidates(run) if c.fit_s), key=lambda c: -c.fit_s)[:2]
    fitted_sources = []

    ds = load_data(str(EXAMPLE), target="class")

    def fit(c):
        fitted_sources.append(c.source)
        return [get_learner("lightgbm").fit(ds.X, ds.y, c.params, ds.kind)]

    left = (cands[0].fit_s + cands[1].fit_s) / 2  # the first (slower) member does not fit, the second does
    members, notes, _ = fit_members([(cands[0], 0.6), (cands[1], 0.4)], fit, lambda: left, 1.0)
    assert [m.source for m in members] == [cands[1].source] == fitted_sources
    assert len(notes) == 1 and "left out" in notes[0]
    assert fit_members([(cands[0], 1.0)], fit, lambda: 0.0, 1.0)[0] == []  # none fits: the caller refits one



def test_a_budget_too_short_for_the_meta_models_fit_ranks_with_the_quick_one(credit_small, tmp_path, monkeypatch):
    """A first run (nothing cached) whose budget cannot pay for the shipped KB's meta-model fit ranks with the
    quick one (no surrogate), says so, searches from its recommendations and writes no cache entry."""
    from metaopt.recommender import _cache

    cache = tmp_path / "cache"
    monkeypatch.setenv("METAOPT_CACHE_DIR", str(cache))
    monkeypatch.setattr(_cache, "_CACHE", {})  # as in a new process
    result = tune(credit_small, target="class", learner="lightgbm", n_trials=5, timeout=10, cv=2, ensemble=False)
    assert any(n.startswith("the first fit of the meta-model of lightgbm would have taken more than half")
               for n in result.notes)
    assert not any(n.startswith("fitting the meta-model") for n in result.notes)
    assert not cache.exists() or not any(cache.iterdir())  # the full fit is left to a run with time for it
    assert _cache.peek_recommender(None, "lightgbm").quick
    s = result.summary
    assert s.n_warm_started >= 1 and s.n_complete >= 1 and s.best_score is not None


def test_a_meta_model_fitted_inside_the_budget_is_reported_once(credit_small, tmp_path, monkeypatch):
    """The first run on a KB fits its meta-model on the budget's time and says so; the next reads the cache."""
    from metaopt.kb import KnowledgeBase
    from metaopt.recommender import _cache

    full = KnowledgeBase.load()
    tasks = full.tasks[full.tasks["source"] == "tabrepo"].sort_values("task_id").groupby("kind").head(8)
    keep = full.evaluations["task_id"].isin(tasks["task_id"]) & (full.evaluations["learner"] == "lightgbm")
    kb_dir = tmp_path / "kb"
    KnowledgeBase.from_frames(tasks, full.configs[full.configs["learner"] == "lightgbm"],
                              full.evaluations[keep]).save(kb_dir)
    monkeypatch.setenv("METAOPT_CACHE_DIR", str(tmp_path / "cache"))

    def fit_notes() -> list[str]:
        result = tune(credit_small, target="class", learner="lightgbm", kb=kb_dir, n_trials=2, timeout=60, cv=2,
                      ensemble=False)
        return [n for n in result.notes if n.startswith("fitting the meta-model of lightgbm took")]

    assert len(fit_notes()) == 1
    _cache._CACHE.clear()  # as in a new process: only the disk cache is left
    _cache._KB_CACHE.clear()
    assert fit_notes() == []
