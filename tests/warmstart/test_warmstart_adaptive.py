"""AdaptiveWarmStart: later warm-start picks chosen from the scores so far; once, across resumes and processes."""

from __future__ import annotations

import collections
import math
import subprocess
import sys
import textwrap
import time

import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState

from warmstart_support import worker_env
from metaopt.warmstart import ATTR, AdaptiveWarmStart, pending_picks, warm_start

optuna.logging.set_verbosity(optuna.logging.WARNING)

SPACE = {"learning_rate": FloatDistribution(0.05, 1.0)}
POOL = {"a": 0.1, "b": 0.9, "c": 0.3, "d": 0.7, "e": 0.5, "f": 0.2}  # config id -> x


def objective(trial):
    return (trial.suggest_float("learning_rate", 0.05, 1.0) - 0.8) ** 2  # lower is better: b, d best


def chooser(calls: list[dict[str, float]]):
    """A rule that reads the scores: after a better 'b' than 'a', the largest untried x, else the smallest."""
    def pick(tried: dict[str, float]):
        calls.append(dict(tried))
        left = sorted((x, c) for c, x in POOL.items() if c not in tried)
        if not left:
            return None
        up = tried.get("b", -math.inf) > tried.get("a", -math.inf)
        x, c = left[-1] if up else left[0]
        return {"config_id": c, "params": {"learning_rate": x}}
    return pick


def _start(study, planned=5):
    recs = [{"config_id": c, "params": {"learning_rate": POOL[c]}} for c in ("a", "b")]
    return warm_start(study, recommendations=recs, search_space=SPACE, planned=planned)


def _warm_ids(study):
    return [t.user_attrs.get("metaopt:config_id") for t in sorted(study.trials, key=lambda t: t.number)
            if t.user_attrs.get("metaopt:source") == "warm_start"]


def test_later_picks_read_the_scores_of_the_earlier_ones():
    study = optuna.create_study(direction="minimize")
    _start(study)
    assert study.user_attrs[ATTR]["planned"] == 5 and len(study.trials) == 2  # two enqueued, three to come
    calls: list[dict] = []
    cb = AdaptiveWarmStart(chooser(calls), learner="lightgbm", search_space=SPACE)
    study.optimize(objective, n_trials=7, callbacks=[cb])
    # nothing is chosen while a warm-start trial waits; then one pick per finished trial, from real scores
    assert calls[0] == {"a": -(0.1 - 0.8) ** 2, "b": -(0.9 - 0.8) ** 2}  # minimised: the sign makes higher better
    assert _warm_ids(study) == ["a", "b", "d", "e", "c"]  # b beat a: the largest untried values, 0.7, 0.5, 0.3
    assert cb.n_enqueued == 3 and pending_picks(study.user_attrs[ATTR]) == 0
    record = study.user_attrs[ATTR]
    assert record["config_ids"] == ["a", "b", "d", "e", "c"] and record["params"][2] == {"learning_rate": 0.7}
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 7  # the search goes on after the warm start


def test_a_pick_the_study_already_has_is_skipped_and_nothing_left_ends_the_warm_start():
    study = optuna.create_study(direction="maximize")
    _start(study, planned=4)
    study.optimize(objective, n_trials=2)  # a and b, no callback yet
    study.enqueue_trial({"learning_rate": 0.2})  # a user's trial with f's values
    study.optimize(objective, n_trials=1)
    seq = iter([{"config_id": "f", "params": {"learning_rate": 0.2}}, {"config_id": "c", "params": {"learning_rate": 0.3}}, None])
    cb = AdaptiveWarmStart(lambda tried: next(seq), learner="lightgbm", search_space=SPACE)
    assert cb.step(study) == "c"  # f is taken: recorded as skipped, c enqueued
    assert study.user_attrs[ATTR]["skipped"] == ["f"] and cb.step(study) is None  # c waits: nothing due
    study.optimize(objective, n_trials=1)
    assert cb.step(study) is None  # the chooser has nothing more: the plan shrinks to what was tried
    record = study.user_attrs[ATTR]
    assert record["planned"] == 4 and pending_picks(record) == 0 and record["config_ids"] == ["a", "b", "c"]


def test_a_resumed_study_goes_on_where_its_record_stops(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    study = optuna.create_study(direction="minimize", storage=url, study_name="s")
    _start(study)
    study.optimize(objective, n_trials=3, callbacks=[AdaptiveWarmStart(chooser([]), learner="lightgbm",
                                                                       search_space=SPACE)])
    # a, b and d ran; the pick after d waits in the queue
    assert _warm_ids(study) == ["a", "b", "d", "e"]
    again = optuna.load_study(study_name="s", storage=url)
    assert _start(again) == study.user_attrs[ATTR]["params"]  # a second warm start enqueues nothing
    again.optimize(objective, n_trials=3, callbacks=[AdaptiveWarmStart(chooser([]), learner="lightgbm",
                                                                       search_space=SPACE)])
    assert _warm_ids(again) == ["a", "b", "d", "e", "c"]
    assert len(again.trials) == 6 and all(t.state == TrialState.COMPLETE for t in again.trials)


_WORKER = textwrap.dedent("""
    import math, sys, time
    import optuna
    from optuna.distributions import FloatDistribution
    sys.path.insert(0, sys.argv[3])
    from test_warmstart_adaptive import POOL, SPACE, chooser, objective, _start
    from metaopt.warmstart import AdaptiveWarmStart
    study = optuna.load_study(study_name="s", storage=optuna.storages.RDBStorage(
        sys.argv[1], engine_kwargs={"connect_args": {"timeout": 60}}))
    while time.time() < float(sys.argv[2]):
        time.sleep(0.001)
    _start(study)
    study.optimize(objective, n_trials=3,
                   callbacks=[AdaptiveWarmStart(chooser([]), learner="lightgbm", search_space=SPACE)])
""")


def test_processes_started_together_enqueue_each_pick_once(tmp_path):
    from pathlib import Path

    url = f"sqlite:///{tmp_path / 's.db'}"
    optuna.create_study(direction="minimize", storage=url, study_name="s")
    start = time.time() + 4.0
    here = str(Path(__file__).resolve().parent)
    procs = [subprocess.Popen([sys.executable, "-c", _WORKER, url, str(start), here], env=worker_env(),
                              stderr=subprocess.PIPE, text=True) for _ in range(3)]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err[-2000:]
    study = optuna.load_study(study_name="s", storage=url)
    ids = _warm_ids(study)
    record = study.user_attrs[ATTR]
    finished = [t for t in study.trials if t.state != TrialState.WAITING]
    waiting = [t for t in study.trials if t.state == TrialState.WAITING]
    assert len(finished) == 9 and all(t.state == TrialState.COMPLETE for t in finished)
    # a pick enqueued after the workers' last trials waits for the next run (CI saw it once in three runs);
    # one at most, since a pick is enqueued only when none waits
    assert len(waiting) <= 1 and all(t.user_attrs.get("metaopt:source") == "warm_start" for t in waiting)
    assert collections.Counter(ids) == collections.Counter(record["config_ids"])  # each pick once
    assert len(record["config_ids"]) == 5 and record["config_ids"][:2] == ["a", "b"]


META = {"NumberOfInstances": 1000.0, "NumberOfFeatures": 21.0, "NumberOfClasses": 2.0}


def lgbm_objective(trial):
    """Cheap, in the LightGBM space's names (so the warm start's KB configurations fit the study)."""
    from metaopt.learners import get_learner

    params = {}
    for n, d in get_learner("lightgbm").search_space("binary").items():
        if isinstance(d, optuna.distributions.CategoricalDistribution):
            params[n] = trial.suggest_categorical(n, d.choices)
        elif isinstance(d, optuna.distributions.IntDistribution):
            params[n] = trial.suggest_int(n, d.low, d.high, log=d.log)
        else:
            params[n] = trial.suggest_float(n, d.low, d.high, log=d.log)
    return -(math.log(params["learning_rate"]) - math.log(0.05)) ** 2 - 0.01 * params["num_leaves"]


_SAMPLER_WORKER = textwrap.dedent("""
    import pathlib, sys, time
    import optuna
    sys.path.insert(0, sys.argv[3])
    from test_warmstart_adaptive import META, lgbm_objective
    from metaopt.warmstart import MetaSampler
    sampler = MetaSampler(kind="binary", meta_features=META, k=5, seed=int(sys.argv[4]))
    study = optuna.load_study(study_name="s", sampler=sampler, storage=optuna.storages.RDBStorage(
        sys.argv[1], engine_kwargs={"connect_args": {"timeout": 60}}))
    from metaopt.recommender import get_recommender
    get_recommender(None, "lightgbm")  # fitted (or read from the cache) before the start line
    ready = pathlib.Path(sys.argv[2])
    (ready / sys.argv[4]).touch()
    while len(list(ready.iterdir())) < 3:  # all three start together
        time.sleep(0.001)
    study.optimize(lgbm_objective, n_trials=4)
""")


def test_meta_sampler_processes_started_together_take_each_adaptive_pick_once(tmp_path):
    """MetaSampler's own warm start (adaptive, the KB's rule) shared by three processes: five picks, each once."""
    from pathlib import Path

    url = f"sqlite:///{tmp_path / 's.db'}"
    optuna.create_study(direction="maximize", storage=url, study_name="s")
    here = str(Path(__file__).resolve().parent)
    ready = tmp_path / "ready"
    ready.mkdir()
    procs = [subprocess.Popen([sys.executable, "-c", _SAMPLER_WORKER, url, str(ready), here, str(i)],
                              env=worker_env(), stderr=subprocess.PIPE, text=True) for i in range(3)]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-2000:]
    study = optuna.load_study(study_name="s", storage=url)
    record = study.user_attrs[ATTR]
    ids = _warm_ids(study)
    assert len(study.trials) == 12 and all(t.state == TrialState.COMPLETE for t in study.trials)
    assert record["planned"] == 5 and pending_picks(record) == 0
    assert collections.Counter(ids) == collections.Counter(record["config_ids"])  # each pick tried once
    assert len(set(record["config_ids"])) == len(record["config_ids"]) == 5 - len(record.get("skipped", []))
