"""Cost-aware tuning on real data: the learner of "auto" in a time budget, the warm start by value per
second, and the predicted against the measured fit time of every trial."""

from __future__ import annotations

import math
import time

import optuna
import pytest

import metaopt
from metaopt.recommender import get_recommender, order_for_budget, recommend
from metaopt.tuning import tune
from metaopt.tuning._warm import FIT_TIME_ERROR_ATTR, SearchBudget, meta_model_notes, recommendations

from tuning_support import EXAMPLE, corpus_file


def _ids(recs):
    return [r.config_id for r in recs]


def test_auto_leaves_the_forests_on_a_tiny_budget_on_a_10000_row_table():
    ds = metaopt.load_data(str(corpus_file("coil2000_insurance_policies.csv")), target="CARAVAN")
    notes: list[str] = []
    chosen, _, _, joint = recommendations(ds, "auto", 5, None, notes)
    # without a budget: the top recommendation's learner, a forest (extra trees since they joined the KB)
    assert chosen in ("random_forest", "extra_trees") and not notes
    for learner in ("auto", "lightgbm", "linear"):
        get_recommender(None, learner)  # fitted (or read) now, not inside the budget
    res = tune(ds, learner="auto", timeout=10, progress=False)
    # a learner whose trials fit the budget (which one depends on the KB), not a forest; its own warm
    # start runs first although the joint ranking's top configurations are of other learners
    legs = {leg["learner"]: leg for leg in res.summary.learners or []}
    assert res.summary.learner in ("lightgbm", "linear") and set(legs) <= {"lightgbm", "linear"}
    assert not legs or legs[res.summary.learner]["n_run"] > 0
    why = next(n for n in res.summary.notes if n.startswith("learner 'auto' with"))
    assert f"not the top recommendation's {chosen}" in why
    for forest in ("random_forest", "extra_trees"):  # a 5-fold trial of either is predicted to take ~11 s
        assert f"{forest} fits 0 trial(s)" in why
        if any(r.learner == forest for r in joint):  # the joint ranking had it: left out, and said so
            assert any(forest in n and "not searched" in n for n in res.summary.notes)


def test_warm_start_goes_by_value_per_second_and_postpones_what_cannot_finish():
    ds = metaopt.load_data(str(EXAMPLE), target="class")
    _, plain, meta, _ = recommendations(ds, "lightgbm", 5, None, [])
    assert _ids(plain) == _ids(recommend(ds, learner="lightgbm", k=5))  # no budget: the portfolio's order
    notes: list[str] = []
    timed = recommendations(ds, "lightgbm", 5, None, notes, budget=SearchBudget(time.monotonic() + 60, 5, 5))[1]
    rec = get_recommender(None, "lightgbm")
    secs = [5 * rec.config_fit_seconds("lightgbm", r.config_id, 800, ds.n_features, 2) for r in plain]
    expected, late = order_for_budget(plain, secs, 55.0, rec.default_score(ds.kind, meta, "lightgbm"))
    assert _ids(timed) == _ids(expected) and not late
    assert _ids(timed) != _ids(plain)  # credit-g: the cheaper configurations of similar promise come first
    assert any(n.startswith("warm start ordered by expected improvement per predicted second") for n in notes)
    # a search of (almost) no time: every configuration is postponed, the fastest first, and said so
    notes = []
    late = recommendations(ds, "lightgbm", 5, None, notes, budget=SearchBudget(time.monotonic() + 0.01, 5, 5))[1]
    late_secs = [5 * rec.config_fit_seconds("lightgbm", r.config_id, 800, ds.n_features, 2) for r in late]
    assert late_secs == sorted(late_secs) and sorted(_ids(late)) == sorted(_ids(plain))
    assert any("5 recommendation(s) predicted to need more than" in n for n in notes)


def test_every_trial_records_predicted_and_measured_fit_time(credit_small):
    res = tune(credit_small, target="class", learner="lightgbm", n_trials=7, cv=3, progress=False,
               pruner=None)  # every trial completes
    rec = get_recommender(None, "lightgbm")
    trials = [t for t in res.study.trials if t.state.name == "COMPLETE"]
    assert len(trials) == 7
    for t in trials:
        measured, predicted = t.user_attrs["metaopt:fit_s"], t.user_attrs["metaopt:predicted_fit_s"]
        assert measured > 0 and predicted > 0
        # a KB configuration: its own prediction; a sampled one: the learner's typical time
        expected = rec.config_fit_seconds("lightgbm", t.user_attrs.get("metaopt:config_id"),
                                          t.user_attrs["metaopt:train_rows"], credit_small.shape[1] - 1, 2)
        assert predicted == pytest.approx(expected)
    warm = [t for t in trials if t.user_attrs.get("metaopt:source") == "warm_start"]
    assert len({t.user_attrs["metaopt:predicted_fit_s"] for t in warm}) > 1
    err = res.study.user_attrs[FIT_TIME_ERROR_ATTR]
    logs = sorted(abs(math.log(t.user_attrs["metaopt:fit_s"] / t.user_attrs["metaopt:predicted_fit_s"]))
                  for t in trials)
    assert err["n"] == 7 and err["median_abs_log_error"] == pytest.approx(logs[3])
    assert any(n.startswith("fit time: measured / predicted") for n in res.summary.notes)


def test_auto_reorders_its_warm_start_when_a_learners_fits_take_far_longer_than_predicted(tmp_path):
    # coil2000: 85 categorical columns, one-hot encoded for the forests, so that an extra-trees fit takes
    # some 15-20x what the KB predicts from the raw table (docs/bench_time.md); LightGBM reads them as
    # categories and is fast.  The first extra-trees trial measures it; the rest of the warm start goes
    # to LightGBM first, by expected improvement per *measured* second.
    ds = metaopt.load_data(str(corpus_file("coil2000_insurance_policies.csv")), target="CARAVAN")
    for learner in ("auto", "lightgbm", "extra_trees"):
        get_recommender(None, learner)  # fitted (or read) now, not inside the budget
    url = f"sqlite:///{tmp_path / 's.db'}"
    res = tune(ds, learner="auto", timeout=40, progress=False, storage=url)
    legs = {leg["learner"]: leg for leg in res.summary.learners or []}
    ratios = {n.split()[3].rstrip(":"): float(n.split()[7]) for n in res.summary.notes
              if n.startswith("fit time of ") and "measured / predicted" in n}
    reordered = [n for n in res.summary.notes if n.startswith("warm start re-ordered by measured fit times")]
    if not ("extra_trees" in legs and ratios.get("extra_trees", 1.0) > 3):
        pytest.skip("the KB no longer ranks extra trees first here or predicts their fit time within 3x: "
                    "nothing to re-order (the mechanism: tests/tuning/test_portfolio.py)")
    if sum(leg["n_run"] for leg in legs.values()) <= 1:
        pytest.skip("the budget ended during the first extra-trees trial (a loaded machine): no turn left to "
                    "re-order")
    assert reordered and "extra_trees" in reordered[0] and len(reordered) == 1, (legs, res.summary.notes)
    assert legs["lightgbm"]["n_run"] >= 1
    if legs["extra_trees"]["n_warm_started"] <= 1:  # seen under heavy load, where the budget plans fewer picks
        pytest.skip("extra trees' warm start was its one measuring trial: nothing of it left to re-order")

    def starts(learner: str, warm_only: bool = False) -> list:
        study = optuna.load_study(study_name=legs[learner]["study"], storage=url)
        return [t.datetime_start for t in study.trials if t.datetime_start is not None
                and (not warm_only or t.user_attrs.get("metaopt:source") == "warm_start")]

    # the rest of extra trees' warm start was cut by the budget or went after LightGBM's first trial (when
    # extra trees is chosen over the joint top, its turns lead the plan: the case fixed on 2026-12-04)
    assert legs["extra_trees"]["n_run"] < legs["extra_trees"]["n_warm_started"] or \
        min(starts("lightgbm")) < max(starts("extra_trees", warm_only=True)), legs


def test_the_meta_model_notes_name_the_models_fitted_and_those_ranked_without_the_surrogate():
    fits = [("auto", 1.25, False), ("random_forest", 0.5, True)]
    full, quick = meta_model_notes(fits, budgeted=True)
    assert full.startswith("fitting the meta-model of all learners took 1.2 s of the time budget, once")
    assert quick.startswith("the first fit of the meta-model of random_forest would have taken more than half")
    assert meta_model_notes(fits, budgeted=False) == [quick]  # without a budget the fit cost no trials
    assert meta_model_notes([("auto", 1.0, False), ("lightgbm", 2.0, False)], True)[0].startswith(
        "fitting the meta-model of all learners and lightgbm took 3.0 s")
    assert meta_model_notes([], True) == []
