"""No configuration twice: MetaSampler and tune's TPE/random never propose what the study already has."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
import warnings

import optuna
import pandas as pd
import pytest
from optuna.distributions import CategoricalDistribution
from optuna.trial import TrialState
from warmstart_support import CREDIT_G, REPO, worker_env

from metaopt.recommender import get_recommender
from metaopt.warmstart import DistinctSampler, MetaSampler

optuna.logging.set_verbosity(optuna.logging.WARNING)

META = {"NumberOfInstances": 1000.0, "NumberOfFeatures": 21.0, "NumberOfClasses": 2.0}
RECS = [{"config_id": "a", "params": {"num_leaves": 8, "min_child_samples": 2, "extra_trees": False}}]


def _key(t) -> str:
    return json.dumps(t.params, sort_keys=True)


def _small_grid(trial):
    """30 configurations in the LightGBM names (so MetaSampler's meta-model ranks them)."""
    nl = trial.suggest_int("num_leaves", 4, 8)
    mcs = trial.suggest_int("min_child_samples", 2, 4)
    et = trial.suggest_categorical("extra_trees", [False, True])
    return -abs(nl - 6) - abs(mcs - 3) - 0.5 * et


@pytest.mark.parametrize("make", [lambda s: optuna.samplers.TPESampler(seed=s),
                                  lambda s: optuna.samplers.RandomSampler(seed=s),
                                  lambda s: optuna.samplers.NSGAIISampler(seed=s, population_size=6)],
                         ids=["tpe", "random", "nsga2"])
def test_wrapped_samplers_cover_a_small_space_without_repeats(make):
    """NSGA-II proposes parts of the space, its mutated parameters left to sample_independent (before: a
    KeyError when a redrawn part lacked a parameter of the first)."""
    plain = optuna.create_study(direction="maximize", sampler=make(0))
    plain.optimize(_small_grid, n_trials=30)
    assert len({_key(t) for t in plain.trials}) < 30  # what the wrapper is for
    study = optuna.create_study(direction="maximize", sampler=DistinctSampler(make(0), seed=0))
    study.optimize(_small_grid, n_trials=30)
    assert len({_key(t) for t in study.trials}) == 30
    study.optimize(_small_grid, n_trials=2)  # the space is exhausted: repeats are let through, no error
    assert len(study.trials) == 32


def test_meta_sampler_covers_a_small_space_without_repeats():
    sampler = MetaSampler(kind="binary", meta_features=META, recommendations=RECS, seed=0)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study.optimize(_small_grid, n_trials=30)
    assert len({_key(t) for t in study.trials}) == 30
    assert sampler.last_weight is not None  # the meta-model's candidates were used, not only TPE


@pytest.mark.parametrize("make", [lambda: DistinctSampler(optuna.samplers.RandomSampler(seed=1), seed=1),
                                  lambda: MetaSampler(kind="binary", meta_features=META, warm_start=False, seed=1,
                                                      surrogate=None, recommendations=[])],
                         ids=["distinct-random", "meta"])
def test_finished_running_and_waiting_trials_are_all_taken(make):
    choices = ["complete", "fail", "pruned", "running", "waiting", "free"]
    dist = CategoricalDistribution(choices)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for seed in range(4):
            study = optuna.create_study(sampler=make())
            for state in ("complete", "fail", "pruned"):
                study.add_trial(optuna.trial.create_trial(
                    params={"x": state}, distributions={"x": dist}, value=0.0 if state == "complete" else None,
                    state={"complete": TrialState.COMPLETE, "fail": TrialState.FAIL,
                           "pruned": TrialState.PRUNED}[state]))
            study._storage.create_new_trial(study._study_id, template_trial=optuna.trial.create_trial(
                params={"x": "running"}, distributions={"x": dist}, state=TrialState.RUNNING))
            study.enqueue_trial({"x": "waiting"})
            trial_id = study._storage.create_new_trial(study._study_id)  # sampled while "waiting" waits
            new = optuna.trial.Trial(study, trial_id)
            assert new.suggest_categorical("x", choices) == "free", seed


def _worker_cmd(data, url: str, name: str, sampler: str, trials: int) -> list[str]:
    return [sys.executable, "-m", "metaopt", "tune", str(data), "--storage", url, "--study-name", name,
            "--trials", str(trials), "--cv", "2", "--learner", "lightgbm", "--sampler", sampler, "--seed", "0",
            "--k", "1", "--quiet", "--json"]


@pytest.mark.parametrize("storage,sampler", [("sqlite", "meta"), ("sqlite", "tpe"), ("postgresql", "tpe")])
def test_two_workers_with_one_seed_never_run_the_same_configuration(storage, sampler, tmp_path, request):
    """Two `metaopt tune` processes on one study, same seed: every trial's parameters differ."""
    data = tmp_path / "credit.csv"
    df = pd.read_csv(CREDIT_G)
    df.groupby("class", group_keys=False).sample(n=60, random_state=0).to_csv(data, index=False)
    url = request.getfixturevalue("postgres_url") if storage == "postgresql" else f"sqlite:///{tmp_path / 's.db'}"
    name = f"distinct-{sampler}-{uuid.uuid4().hex[:8]}"
    optuna.create_study(storage=url, study_name=name, direction="maximize")  # tables exist before both start
    get_recommender(None, "lightgbm")  # on disk for both workers (METAOPT_CACHE_DIR is inherited)
    procs = [subprocess.Popen(_worker_cmd(data, url, name, sampler, 8), env=worker_env(), cwd=REPO,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    for p, (_, err) in zip(procs, outs):
        assert p.returncode == 0, err[-2000:]
    trials = optuna.load_study(study_name=name, storage=url).trials
    assert len(trials) == 16
    keys = [_key(t) for t in trials]
    assert len(set(keys)) == len(keys), [k for k in keys if keys.count(k) > 1]


def test_forty_trials_are_all_different_and_the_sampler_never_stalls(monkeypatch):
    """Servo (167 rows): before, MetaSampler scored one configuration 22 times in 40 trials (max_features=1.0)."""
    from shared_support import shared_data_dir

    from metaopt.tuning import tune

    servo = shared_data_dir() / "corpus" / "servo.arff"
    if not servo.is_file():
        pytest.skip(f"{servo} not found (set METAOPT_SHARED_DATA)")
    calls: list[tuple[int, float]] = []
    for name in ("before_trial", "infer_relative_search_space", "sample_relative", "sample_independent"):
        original = getattr(MetaSampler, name)

        def timed(self, study, trial, *args, _original=original, **kwargs):
            t0 = time.perf_counter()
            try:
                return _original(self, study, trial, *args, **kwargs)
            finally:
                calls.append((trial.number, time.perf_counter() - t0))

        monkeypatch.setattr(MetaSampler, name, timed)
    # one learner's study (the top recommendation's on servo; "auto" would share the trials with lightgbm)
    result = tune(str(servo), n_trials=40, cv=3, sampler="meta", progress=False, learner="random_forest")
    trials = result.study.trials
    assert len(trials) == 40 and result.summary.sampler == "meta"
    keys = [_key(t) for t in trials]
    assert len(set(keys)) == 40, [k for k in keys if keys.count(k) > 1]
    later = [s for number, s in calls if number >= 1]
    assert later and max(later) < 1.0, max(later)
