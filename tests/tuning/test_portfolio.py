"""``learner="auto"`` across learners (issue #11): a study per learner of the joint ranking, the warm start
in the ranking's order, further trials to the competitive learners, one ensemble across all of them."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from metaopt.tuning import load_model, tune
from metaopt.tuning._objective import FIT_S_ATTR, PREDICTED_FIT_S_ATTR
from metaopt.tuning._portfolio import (
    Leg,
    WarmPlan,
    WarmTurn,
    calibrated_order,
    competitive,
    portfolio_learners,
    search_portfolio,
)
from metaopt.tuning._study import SETUP_ATTR, SOURCE_ATTR
from tuning_support import start_together, summary_of

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "data" / "credit-g.csv"
AUTO = dict(target="class", cv=3, progress=False, learner="auto")


def _study(values_folds: list[tuple[float, list[float]]], failed: int = 0) -> optuna.Study:
    study = optuna.create_study(direction="maximize")
    dist = {"x": FloatDistribution(0, 1)}
    for value, folds in values_folds:
        study.add_trial(create_trial(value=value, params={"x": 0.5}, distributions=dist,
                                     user_attrs={"fold_scores": folds}))
    for _ in range(failed):
        study.add_trial(create_trial(state=TrialState.FAIL, params={"x": 0.5}, distributions=dist))
    return study


# --------------------------------------------------------------------------- the rule
def test_each_learners_trials_are_counted_as_the_summary_counts_them():
    """An interrupted trial (Ctrl-C, a dead worker) is not one of a learner's trials, as in the summary's total;
    a failed configuration is."""
    from metaopt.tuning._portfolio import describe_legs
    from metaopt.tuning._resume import INTERRUPTED_ATTR

    study, dist = _study([(0.8, [0.8])]), {"x": FloatDistribution(0, 1)}
    for attrs in ({"error": "ValueError: boom"}, {INTERRUPTED_ATTR: "KeyboardInterrupt"}):
        study.add_trial(create_trial(state=TrialState.FAIL, params={"x": 0.5}, distributions=dist, user_attrs=attrs))
    assert [e["n_trials"] for e in describe_legs([Leg("a", study, None, primary=True)], maximize=True)] == [2]


def test_competitive_keeps_learners_within_one_standard_error_of_the_best():
    best = Leg("a", _study([(0.80, [0.78, 0.80, 0.82])]), None, primary=True)  # SE of the best: 0.0115
    close = Leg("b", _study([(0.79, [0.79, 0.79, 0.79])]), None)
    far = Leg("c", _study([(0.70, [0.70, 0.70, 0.70])]), None)
    unexplored = Leg("d", _study([]), None)
    all_failed = Leg("e", _study([], failed=2), None)
    kept = competitive([best, close, far, unexplored, all_failed], maximize=True)
    assert [leg.learner for leg in kept] == ["a", "b", "d"]
    # minimising: the same rule with the sign turned
    lo = Leg("a", optuna.create_study(direction="minimize"), None)
    for v in (0.5, 0.52):
        lo.study.add_trial(create_trial(value=v, params={"x": 0.5}, distributions={"x": FloatDistribution(0, 1)},
                                        user_attrs={"fold_scores": [v - 0.01, v + 0.01]}))
    hi = Leg("b", optuna.create_study(direction="minimize"), None)
    hi.study.add_trial(create_trial(value=0.9, params={"x": 0.5}, distributions={"x": FloatDistribution(0, 1)},
                                    user_attrs={"fold_scores": [0.9, 0.9]}))
    assert [leg.learner for leg in competitive([lo, hi], maximize=False)] == ["a"]


def test_portfolio_learners_primary_first_then_the_rankings_learners_that_support_the_task():
    class R:
        def __init__(self, learner):
            self.learner = learner

    joint = [R("random_forest"), R("lightgbm"), R("random_forest"), R("extra_trees"), R("no_such")]
    assert portfolio_learners("lightgbm", joint, "binary") == ["lightgbm", "random_forest", "extra_trees"]
    assert portfolio_learners("lightgbm", [R("lightgbm")], "binary") == ["lightgbm"]


def test_search_portfolio_runs_the_warm_start_in_order_then_feeds_the_competitive_learner():
    def objective_for(value):
        return lambda trial: (trial.suggest_float("x", 0, 1),
                              trial.set_user_attr("fold_scores", [value, value]), value)[-1]

    good = Leg("good", optuna.create_study(direction="maximize"), objective_for(0.9), primary=True)
    bad = Leg("bad", optuna.create_study(direction="maximize"), objective_for(0.5))
    order: list[str] = []

    def run_trials(leg, n):
        order.extend([leg.learner] * n)
        leg.study.optimize(leg.objective, n_trials=n)
        return n

    search_portfolio([good, bad], ["bad", "good", "bad"], run_trials, lambda: len(order) >= 8, maximize=True)
    assert order[:3] == ["bad", "good", "bad"]  # the joint ranking's order
    assert order[3:] == ["good"] * 5  # "bad" is far outside one standard error: no more trials
    assert (good.n_run, bad.n_run) == (6, 2)


class _Rec:
    """A recommendation as the warm start's re-ordering reads it."""

    def __init__(self, learner: str, score: float, std: float = 0.02):
        self.learner, self.predicted_score, self.predicted_score_std = learner, score, std


def test_calibrated_order_moves_a_learner_whose_fits_take_far_longer_than_predicted_back():
    turns = [WarmTurn(_Rec("et", 0.93), 2.0), WarmTurn(_Rec("et", 0.925), 2.0), WarmTurn(_Rec("lgbm", 0.91), 4.0),
             WarmTurn(_Rec("et", 0.92), 2.0), WarmTurn(_Rec("lgbm", 0.905), 4.0)]
    same, names = calibrated_order(turns, {"et": 2.5, "lgbm": 0.5}, 100.0, baseline=0.85)
    assert same == turns and names == []  # within the predictions' usual error: the ranking's order stays
    moved, names = calibrated_order(turns, {"et": 20.0, "lgbm": 1.0}, 100.0, baseline=0.85)
    assert names == ["et"] and sorted(map(id, moved)) == sorted(map(id, turns))
    assert [t.learner for t in moved][:2] == ["lgbm", "lgbm"]  # 40 s a trial of et now: lightgbm first
    late, _ = calibrated_order(turns, {"et": 30.0, "lgbm": None}, 50.0, baseline=0.85)
    assert [t.learner for t in late] == ["lgbm", "lgbm", "et", "et", "et"]  # 60 s > 50 s left: postponed


def test_search_portfolio_reorders_the_warm_start_by_the_fit_times_it_measures():
    def objective_for(value, ratio):
        def objective(trial):
            trial.suggest_float("x", 0, 1)
            trial.set_user_attr("fold_scores", [value, value])
            trial.set_user_attr(FIT_S_ATTR, 0.1 * ratio)  # measured: ratio x the predicted 0.1 s
            trial.set_user_attr(PREDICTED_FIT_S_ATTR, 0.1)
            return value
        return objective

    slow = Leg("et", optuna.create_study(direction="maximize"), objective_for(0.9, ratio=20), primary=True)
    fast = Leg("lgbm", optuna.create_study(direction="maximize"), objective_for(0.89, ratio=1))
    recs = [_Rec("et", 0.93), _Rec("et", 0.925), _Rec("et", 0.92), _Rec("lgbm", 0.91), _Rec("lgbm", 0.905)]
    order: list[str] = []

    def run_trials(leg, n):
        order.extend([leg.learner] * n)
        leg.study.optimize(leg.objective, n_trials=n)
        return n

    notes: list[str] = []
    warm = WarmPlan([WarmTurn(r, 1.0) for r in recs], seconds_left=lambda: 100.0, baseline=0.85)
    search_portfolio([slow, fast], [r.learner for r in recs], run_trials, lambda: len(order) >= 5, maximize=True,
                     warm=warm, notes=notes)
    assert order == ["et", "lgbm", "lgbm", "et", "et"]  # after the first et trial took 20x its prediction
    assert notes == ["warm start re-ordered by measured fit times: et 20x the predicted"]
    order.clear()  # without a budget (no seconds left to weigh): the ranking's order
    slow.study, fast.study = optuna.create_study(direction="maximize"), optuna.create_study(direction="maximize")
    warm = WarmPlan([WarmTurn(r, 1.0) for r in recs], seconds_left=lambda: None, baseline=0.85)
    search_portfolio([slow, fast], [r.learner for r in recs], run_trials, lambda: len(order) >= 5, maximize=True,
                     warm=warm)
    assert order == ["et", "et", "et", "lgbm", "lgbm"]


# --------------------------------------------------------------------------- tune
@pytest.fixture(scope="module")
def auto_run(tmp_path_factory):
    db = tmp_path_factory.mktemp("portfolio") / "study.db"
    res = tune(str(EXAMPLE), n_trials=10, storage=f"sqlite:///{db}", study_name="auto", **AUTO)
    return res, f"sqlite:///{db}"


def test_auto_searches_the_joint_rankings_learners_in_studies_of_their_own(auto_run):
    res, url = auto_run
    s = res.summary
    learners = [e["learner"] for e in s.learners]
    assert len(learners) >= 2 and len(set(learners)) == len(learners)
    assert sum(e["n_trials"] for e in s.learners) == s.n_trials == 10
    assert all(e["n_trials"] >= 1 and e["n_warm_started"] >= 1 for e in s.learners)
    names = {st.study_name: st.n_trials for st in optuna.get_all_study_summaries(url)}
    assert set(names) == {"auto"} | {f"auto+{name}" for name in learners[1:]}
    for e in s.learners:  # every study starts with its warm start
        first = optuna.load_study(study_name=e["study"], storage=url).trials[0]
        assert first.user_attrs.get(SOURCE_ATTR) == "warm_start"
        assert optuna.load_study(study_name=e["study"], storage=url).user_attrs[SETUP_ATTR]["learner"] == \
            e["learner"]
    assert "learners " + s.learners[0]["learner"] in str(res)


def test_the_ensemble_is_selected_across_learners_and_predicts(auto_run, tmp_path):
    res, _ = auto_run
    ens = res.summary.ensemble
    member_learners = {m["learner"] for m in ens["members"]}
    # selected across the learners' trials (which of them win the members is the data's call)
    assert len(ens["candidate_learners"]) >= 2 and member_learners <= set(ens["candidate_learners"])
    assert sum(ens["candidate_learners"].values()) == ens["n_candidates"]
    assert ens["cv_score"] > ens["best_single_score"]
    assert {m.models[0].learner for m in res.model.fitted.members} == member_learners  # fitted as each learner
    path = res.save(tmp_path / "m.joblib")
    X = res.model.schema.input_columns
    import pandas as pd

    data = pd.read_csv(EXAMPLE)
    proba = load_model(path).predict_proba(data[X].head(20))
    assert proba.shape == (20, 2) and np.allclose(proba.sum(axis=1), 1)
    assert ("+" in repr(res.model)) == (len(member_learners) > 1)  # "lightgbm+random_forest" when mixed


def test_a_long_auto_search_keeps_each_learners_best_trials_among_the_ensembles_candidates(tmp_path):
    """Past MAX_CANDIDATES trials the learner with most trials would fill the candidate pool alone."""
    from sklearn.datasets import load_breast_cancer

    from metaopt.tuning._ensemble import MAX_CANDIDATES, PER_LEARNER

    url = f"sqlite:///{tmp_path / 'long.db'}"
    data = load_breast_cancer(as_frame=True).frame
    res = tune(data, target="target", n_trials=60, cv=3, progress=False, learner="auto", random_state=0,
               storage=url, study_name="long")
    values = {e["learner"]: sorted((t.value for t in optuna.load_study(study_name=e["study"], storage=url).trials
                                    if t.state == TrialState.COMPLETE), reverse=True) for e in res.summary.learners}
    ranked = sorted((v for vs in values.values() for v in vs), reverse=True)
    cut = ranked[MAX_CANDIDATES - 1]
    # the case the reserve is for: some learner's every trial is below the best 40 by CV
    assert any(vs and vs[0] < cut for vs in values.values()), values
    ens = res.summary.ensemble
    assert ens["n_candidates"] == MAX_CANDIDATES
    for learner, vs in values.items():  # every learner that completed a trial stays, with its best ones
        assert ens["candidate_learners"].get(learner, 0) >= min(max(PER_LEARNER, 1), len(vs)), (learner, ens)


def test_resuming_auto_extends_every_learners_study_and_a_single_model_uses_its_own_learner(auto_run):
    res, url = auto_run
    before = {e["learner"]: e["n_trials"] for e in res.summary.learners}
    res2 = tune(str(EXAMPLE), n_trials=4, storage=url, study_name="auto", ensemble=False, **AUTO)
    after = {e["learner"]: e["n_trials"] for e in res2.summary.learners}
    assert sum(after.values()) == sum(before.values()) + 4 and all(after[k] >= before[k] for k in before)
    chosen = res2.summary.selection["chosen"]
    assert res2.model.learner == res2.summary.learner
    assert res2.model.fitted.learner == res2.summary.learner, chosen  # refitted as the chosen one's learner


def test_auto_with_worker_processes_runs_exactly_n_trials_across_learners():
    res = tune(str(EXAMPLE), n_trials=6, n_jobs=2, **AUTO)
    assert res.summary.n_trials == 6 and len(res.summary.learners) >= 2
    assert res.summary.ensemble["n_candidates"] >= 6


def test_two_auto_workers_started_together_share_every_learners_study(tmp_path):
    """Real ``metaopt tune --learner auto`` processes with different seeds on one new SQLite file: both
    finish, each learner's study exists once with one setup, nothing is run twice."""
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    cmds = [[sys.executable, "-m", "metaopt", "tune", str(EXAMPLE), "--target", "class", "--trials", "5", "--cv",
             "2", "--learner", "auto", "-q", "--json", "--storage", url, "--study-name", "team", "--seed", str(seed)]
            for seed in (0, 1)]
    a, b = (summary_of(p, timeout=300) for p in start_together(cmds, tmp_path / "go"))
    assert a["fold_seed"] == b["fold_seed"]
    names = {st.study_name for st in optuna.get_all_study_summaries(url)}
    learners = {e["learner"] for e in a["learners"]} | {e["learner"] for e in b["learners"]}
    primary = a["learners"][0]["learner"]
    assert len(learners) >= 2 and b["learners"][0]["learner"] == primary
    assert names == {"team"} | {f"team+{name}" for name in learners if name != primary}
    total = 0
    for name in names:
        study = optuna.load_study(study_name=name, storage=url)
        assert study.user_attrs[SETUP_ATTR]["seed"] == a["fold_seed"]
        done = [t for t in study.trials if t.state.name != "WAITING"]
        configs = [tuple(sorted(t.params.items())) for t in done]
        assert len(configs) == len(set(configs))  # no configuration run twice, across the two workers
        assert all(t.state.name in ("COMPLETE", "PRUNED") for t in done)
        total += len(done)
    assert total == 10  # 5 trials each, none lost and none extra


# --------------------------------------------------------------------------- one primary learner per study
def test_resuming_auto_keeps_the_primary_learner_the_study_was_created_with(tmp_path):
    """Another budget, KB or version may rank another learner first: the resumed study keeps its own,
    and a leg study of another learner that an earlier run left is searched and ensembled again."""
    url = f"sqlite:///{tmp_path / 'resume.db'}"
    first = tune(str(EXAMPLE), n_trials=2, storage=url, study_name="s", **{**AUTO, "learner": "linear"})
    tune(str(EXAMPLE), n_trials=2, storage=url, study_name="s+extra_trees", **{**AUTO, "learner": "extra_trees"})
    res = tune(str(EXAMPLE), n_trials=3, storage=url, study_name="s", **AUTO)
    learners = {e["learner"]: e["n_trials"] for e in res.summary.learners}
    assert res.summary.learners[0]["learner"] == "linear" and learners["linear"] >= first.summary.n_trials
    assert learners["extra_trees"] >= 2 and sum(learners.values()) == 2 + 2 + 3
    assert any("as the study's first run chose" in n for n in res.summary.notes)  # credit-g's top is not linear
    assert "extra_trees" in res.summary.ensemble["candidate_learners"]


def test_auto_with_a_default_study_name_resumes_the_study_its_first_run_claimed(tmp_path):
    from metaopt.tuning._auto import AUTO_ATTR, claim_primary, default_study_name

    url = f"sqlite:///{tmp_path / 'default.db'}"
    names = {name: default_study_name("credit-g", name, "roc_auc", 3, 0)
             for name in ("lightgbm", "random_forest", "extra_trees", "linear")}
    assert claim_primary(optuna.storages.RDBStorage(url), names, "linear", False, "maximize", "roc_auc") == "linear"
    res = tune(str(EXAMPLE), n_trials=3, storage=url, **AUTO)
    assert res.summary.learners[0] | {"learner": "linear", "study": names["linear"]} == res.summary.learners[0]
    study = optuna.load_study(study_name=names["linear"], storage=url)
    assert study.user_attrs[AUTO_ATTR] == {"primary": "linear"} and len(study.trials) >= 2


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_workers_claiming_a_new_auto_study_together_agree_on_its_primary_learner(tmp_path, backend, request):
    """Real processes that would choose different learners (their budgets differ) claim one new study, under
    the file lock (SQLite) or the advisory lock (PostgreSQL)."""
    import subprocess

    from metaopt.tuning._auto import AUTO_ATTR

    go = tmp_path / "go"
    url = f"sqlite:///{tmp_path / 'race.db'}" if backend == "sqlite" else request.getfixturevalue("postgres_url")
    script = ("import os, sys, time, optuna\n"
              "from metaopt.tuning import open_storage\n"
              "from metaopt.tuning._auto import claim_primary\n"
              "storage = open_storage(sys.argv[1], heartbeat=True)  # as tune opens it\n"
              "open(sys.argv[2] + '.ready-' + str(os.getpid()), 'w').close()\n"
              "while not os.path.exists(sys.argv[2]):\n"
              "    time.sleep(0.002)\n"
              "names = dict.fromkeys(['lightgbm', 'linear', 'extra_trees', 'random_forest'], 'claimed')\n"
              "print(claim_primary(storage, names, sys.argv[3], True, 'maximize', 'roc_auc'))\n")
    choices = ["lightgbm", "linear", "extra_trees", "random_forest"]
    procs = [subprocess.Popen([sys.executable, "-c", script, url, str(go), c], stdout=subprocess.PIPE, text=True)
             for c in choices]
    while len(list(tmp_path.glob("go.ready-*"))) < len(procs):
        assert all(p.poll() is None for p in procs)
    go.touch()
    agreed = {p.communicate(timeout=120)[0].strip() for p in procs}
    assert len(agreed) == 1 and agreed <= set(choices)
    assert optuna.load_study(study_name="claimed", storage=url).user_attrs[AUTO_ATTR] == {"primary": agreed.pop()}


def test_a_single_learner_run_on_an_auto_runs_study_names_the_leg_to_use(tmp_path):
    from metaopt.exceptions import ConfigError

    url = f"sqlite:///{tmp_path / 'legs.db'}"
    res = tune(str(EXAMPLE), n_trials=2, storage=url, study_name="s", **AUTO)
    primary = res.summary.learners[0]["learner"]  # summary.learner is the best configuration's
    other = next(n for n in ("lightgbm", "random_forest", "linear") if n != primary)
    with pytest.raises(ConfigError, match=rf"study 's' is the {primary} study of a learner='auto' run"
                       rf".*'s\+{other}'"):
        tune(str(EXAMPLE), n_trials=2, storage=url, study_name="s", **{**AUTO, "learner": other})
