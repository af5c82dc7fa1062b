"""warm_start: enqueued once (twice, threads, processes), names, values inside distributions."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
import warnings

import optuna
import pytest
from optuna.distributions import FloatDistribution, IntDistribution
from optuna.trial import TrialState

from warmstart_support import worker_env
from metaopt.warmstart import ATTR, ParamNameMismatchError, storage_lock, warm_start

optuna.logging.set_verbosity(optuna.logging.WARNING)

RECS = [
    {"config_id": "a", "params": {"learning_rate": 0.05, "num_leaves": 31, "min_child_samples": 20}},
    {"config_id": "b", "params": {"learning_rate": 0.5, "num_leaves": 600, "extra_trees": True}},  # out of range
    {"config_id": "c", "params": {"learning_rate": 0.01, "num_leaves": 128, "colsample_bytree": 0.8}},
]


def _waiting(study):
    return study.get_trials(deepcopy=False, states=(TrialState.WAITING,))


def test_twice_enqueues_once_and_records():
    study = optuna.create_study(direction="maximize")
    with pytest.warns(UserWarning, match="moved into the study's distributions"):
        first = warm_start(study, recommendations=RECS)
    second = warm_start(study, recommendations=RECS)
    assert first == second and len(first) == 3
    assert len(_waiting(study)) == 3
    rec = study.user_attrs[ATTR]
    assert rec["config_ids"] == ["a", "b", "c"] and rec["learner"] == "lightgbm"
    assert [t.user_attrs["metaopt:config_id"] for t in _waiting(study)] == ["a", "b", "c"]


def test_values_inside_learner_distributions():
    from metaopt.learners import get_learner

    space = get_learner("lightgbm").search_space("binary")
    study = optuna.create_study()
    params = warm_start(study, recommendations=RECS)
    for p in params:
        assert set(p) == set(space)  # left-out parameters at the (clipped) library default
        for name, value in p.items():
            assert space[name]._contains(space[name].to_internal_repr(value)), (name, value)
    assert params[1]["learning_rate"] == 0.3 and params[1]["num_leaves"] == 256


def test_user_space_and_param_names():
    study = optuna.create_study()
    space = {"lr": FloatDistribution(0.02, 0.1), "leaves": IntDistribution(8, 64)}
    params = warm_start(study, recommendations=RECS, param_names={"learning_rate": "lr", "num_leaves": "leaves"},
                        search_space=space)
    assert params == [{"lr": 0.05, "leaves": 31}, {"lr": 0.1, "leaves": 64}, {"lr": 0.02, "leaves": 64}]
    study.optimize(lambda t: t.suggest_float("lr", 0.02, 0.1) + t.suggest_int("leaves", 8, 64), n_trials=3)
    assert [t.params for t in study.trials] == params


def test_name_mismatch_reported():
    study = optuna.create_study()
    study.optimize(lambda t: t.suggest_float("x", 0, 1) + t.suggest_float("y", 0, 1), n_trials=2)
    with pytest.raises(ParamNameMismatchError, match="none of the study's parameters"):
        warm_start(study, recommendations=RECS)
    assert ATTR not in study.user_attrs and not _waiting(study)
    with pytest.raises(ParamNameMismatchError):
        warm_start(study, recommendations=RECS, param_names={"not_a_param": "x"})


def test_raise_on_out_of_range():
    study = optuna.create_study()
    with pytest.raises(ValueError, match="outside"):
        warm_start(study, recommendations=RECS, on_out_of_range="raise")


def test_auto_and_unknown_learners_are_refused_before_anything_else(credit_g):
    from metaopt.exceptions import ConfigError
    from metaopt.warmstart import MetaSampler

    study = optuna.create_study(direction="maximize")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "no search_space was given" warning before the refusal
        with pytest.raises(ConfigError, match="learner='auto' is for tune"):
            warm_start(study, credit_g.X, credit_g.y, learner="auto")
        with pytest.raises(ConfigError, match="learner='auto' is for tune"):
            MetaSampler(credit_g.X, credit_g.y, learner="auto")  # at once, not at the first trial
        with pytest.raises(ConfigError, match="unknown learner 'xgboost'"):
            MetaSampler(credit_g.X, credit_g.y, learner="xgboost")
    assert study.trials == []


def test_recommendations_from_data(credit_g):
    study = optuna.create_study(direction="maximize")
    params = warm_start(study, credit_g.X, credit_g.y, k=3)
    assert len(params) == 3 and len(_waiting(study)) == 3
    assert all("learning_rate" in p for p in params)


def test_concurrent_threads_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    optuna.create_study(storage=url, study_name="s")
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def work():
        try:
            storage = optuna.storages.RDBStorage(url, engine_kwargs={"connect_args": {"timeout": 60}})
            study = optuna.load_study(study_name="s", storage=storage)
            barrier.wait()
            warm_start(study, recommendations=RECS[:1] + RECS[2:])
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    study = optuna.load_study(study_name="s", storage=url)
    assert len(study.trials) == 2


def test_concurrent_threads_inmemory_lock_serialises():
    study = optuna.create_study()
    inside = []

    def work(i):
        with storage_lock(study._storage, study.study_name) as kind:
            inside.append(("in", i, kind))
            time.sleep(0.02)
            inside.append(("out", i, kind))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(inside[j][0] == "in" and inside[j + 1][:2] == ("out", inside[j][1]) for j in range(0, 8, 2))
    assert inside[0][2] == "thread"


_PROC = textwrap.dedent("""
    import sys, time, optuna, warnings
    warnings.simplefilter("ignore")
    from metaopt.warmstart import warm_start
    url, start = sys.argv[1], float(sys.argv[2])
    if url.startswith("journal:"):
        from optuna.storages import JournalStorage
        from optuna.storages.journal import JournalFileBackend
        storage = JournalStorage(JournalFileBackend(url[8:]))
    else:
        storage = optuna.storages.RDBStorage(url, engine_kwargs={"connect_args": {"timeout": 60}})
    study = optuna.load_study(study_name="s", storage=storage)
    recs = [{"config_id": c, "params": {"learning_rate": lr}} for c, lr in (("a", .05), ("b", .1), ("c", .02))]
    while time.time() < start:
        time.sleep(0.001)
    warm_start(study, recommendations=recs)
""")


@pytest.mark.parametrize("backend", ["sqlite", "journal"])
def test_concurrent_processes(tmp_path, backend):
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 's.db'}"
        storage = url
    else:
        from optuna.storages import JournalStorage
        from optuna.storages.journal import JournalFileBackend

        url = f"journal:{tmp_path / 's.log'}"
        storage = JournalStorage(JournalFileBackend(str(tmp_path / "s.log")))
    optuna.create_study(storage=storage, study_name="s")
    start = time.time() + 4.0
    procs = [subprocess.Popen([sys.executable, "-c", _PROC, url, str(start)], env=worker_env(),
                              stderr=subprocess.PIPE, text=True) for _ in range(3)]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    study = optuna.load_study(study_name="s", storage=storage)
    assert [t.user_attrs["metaopt:config_id"] for t in study.trials] == ["a", "b", "c"]


# -- values inside the user's distributions; no notes for metaopt's own configurations ----------

def _inside(space, params):
    return all(space[n]._contains(space[n].to_internal_repr(v)) for n, v in params.items())


def test_readme_snippet_keeps_every_value_inside_a_narrow_user_space(monkeypatch):
    """The README's warm-start snippet runs as written; its narrow ranges bound every enqueued value."""
    import re
    import warnings

    from warmstart_support import REPO

    text = (REPO / "README.md").read_text()
    section = text[text.index("Warm-starting your own Optuna study"):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    monkeypatch.chdir(REPO)
    ns: dict = {"__name__": "readme_snippet"}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        exec(compile(code, "README.md", "exec"), ns)  # noqa: S102 - the documented snippet itself
    study, space = ns["study"], ns["space"]
    assert space["num_leaves"].high == 128  # the snippet's own range is narrower than the learner's 256
    warm = [t for t in study.trials if t.user_attrs.get("metaopt:source") == "warm_start"]
    assert len(warm) >= 3 and all(t.value is not None for t in warm)
    for t in warm:
        assert set(t.params) == set(space) and _inside(space, t.params), t.params
    assert all(_inside(space, p) for p in study.user_attrs[ATTR]["params"])
    # the user's narrower space forced changes: the warning names them
    moved = [str(w.message) for w in caught if "moved into the study's distributions" in str(w.message)]
    assert moved and re.search(r"\w+=\S+ -> \S+ \(outside \w+Distribution", moved[0]), moved
    assert not [w for w in caught if "out of range" in str(w.message)]  # Optuna's own complaint


def test_only_the_users_parameters_are_enqueued():
    """A mapped name the user's search_space lacks is not enqueued from the learner's wider range."""
    space = {"lr": FloatDistribution(0.02, 0.1)}
    params = warm_start(optuna.create_study(), recommendations=RECS, search_space=space,
                        param_names={"learning_rate": "lr", "num_leaves": "leaves"})
    assert params == [{"lr": 0.05}, {"lr": 0.1}, {"lr": 0.02}]


def test_fresh_study_without_search_space_says_so():
    with pytest.warns(UserWarning, match="no trials and no search_space"):
        warm_start(optuna.create_study(), recommendations=RECS[:1])
    study = optuna.create_study()
    study.optimize(lambda t: t.suggest_float("learning_rate", 0.01, 0.1), n_trials=1)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warm_start(study, recommendations=RECS[:1])  # the study's own distributions are known


@pytest.mark.parametrize("learner,own", [("lightgbm", "lgbm-986a5bf045"), ("random_forest", "rf-0533bcef80")])  # defaults
def test_metaopt_configurations_need_no_moving(credit_g, learner, own):
    """What `metaopt tune` enqueues (its recommendations, the learner's space): inside, without a note.

    The KB's library-default configurations hold reg_alpha=0 / max_features='sqrt', outside the space.
    """
    import warnings

    from metaopt import recommend
    from metaopt.learners import get_learner

    ranked = [r.config_id for r in recommend(credit_g, learner=learner, k=100)]
    assert own in ranked  # the library default: whatever its rank, take the recommendations down to it
    recs = recommend(credit_g, learner=learner, k=max(8, ranked.index(own) + 1))
    space = get_learner(learner).search_space(credit_g.kind)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        params = warm_start(optuna.create_study(direction="maximize"), credit_g.X, credit_g.y, learner=learner,
                            k=len(recs), recommendations=recs, search_space=space, kind=credit_g.kind)
    assert not [str(w.message) for w in caught if "moved into" in str(w.message)]
    assert len(params) == len(recs) and all(_inside(space, p) for p in params)
