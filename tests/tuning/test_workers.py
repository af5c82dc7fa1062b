"""Several workers on one study, resumes and faults: real ``metaopt tune`` processes on real SQLite files
and a real PostgreSQL server; real SIGINT/SIGKILL, then a resume that retries the interrupted trial."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest

from metaopt.cli import main
from metaopt.exceptions import ConfigError
from metaopt.tuning import tune
from metaopt.tuning._study import SETUP_ATTR
from tuning_support import start_process as _start, start_together as _start_together, summary_of as _summary

FAST = dict(target="class", cv=2, progress=False, warm_start=False, learner="lightgbm", sampler="random")
#: a random-forest configuration whose 2-fold CV takes about 3 s on credit-g's rows three times over (deep,
#: unbagged trees on every feature; no early stopping, so the time does not depend on the data's luck)
SLOW = {"criterion": "entropy", "max_features": 1.0, "min_samples_leaf": 1, "min_samples_split": 2,
        "bootstrap": False}
CONFIG = {"learning_rate": 0.05, "num_leaves": 15, "min_child_samples": 10, "colsample_bytree": 0.8,
          "subsample": 0.9, "reg_alpha": 0.01, "reg_lambda": 0.1, "extra_trees": False}  # a LightGBM one
CREDIT_G = Path(__file__).resolve().parents[2] / "examples" / "data" / "credit-g.csv"
HEARTBEAT_ENV = {"METAOPT_HEARTBEAT_S": "1"}  # grace period 3 s, so that the test need not wait 30 s


@pytest.fixture()
def data_csv(tmp_path, credit_small):
    path = tmp_path / "data.csv"
    credit_small.to_csv(path, index=False)
    return path


def _cmd(csv: Path, storage: str, name: str, *, seed: int = 0, trials: int = 2, learner: str = "lightgbm"
         ) -> list[str]:
    return [sys.executable, "-m", "metaopt", "tune", str(csv), "--target", "class", "--trials", str(trials),
            "--cv", "2", "--learner", learner, "--sampler", "random", "--no-warm-start", "-q", "--json",
            "--storage", storage, "--study-name", name, "--seed", str(seed)]


# --------------------------------------------------------------------------- workers starting together
def test_two_workers_with_different_seeds_start_together_on_a_new_sqlite_study(tmp_path, data_csv):
    """Before: one of the two crashed in 6 of 7 tries ('table studies already exists'), and a second
    seed was refused ('study was created with seed=0')."""
    for rep in range(3):
        url = f"sqlite:///{tmp_path / f'new{rep}.db'}"
        procs = _start_together([_cmd(data_csv, url, "cc", seed=seed, trials=1) for seed in (0, 1)],
                                tmp_path / f"go{rep}")
        a, b = (_summary(p) for p in procs)
        assert (a["random_state"], b["random_state"]) == (0, 1)
        assert a["fold_seed"] == b["fold_seed"]  # one seed for the folds, whichever worker came first
        study = optuna.load_study(study_name="cc", storage=url)
        assert study.user_attrs[SETUP_ATTR]["seed"] == a["fold_seed"]
        assert [t.state.name for t in study.trials] == ["COMPLETE", "COMPLETE"]


def test_a_worker_with_another_seed_uses_the_study_folds(tmp_path, credit_small):
    url = f"sqlite:///{tmp_path / 's.db'}"
    first = tune(credit_small, storage=url, study_name="s", n_trials=1, random_state=0, **FAST)
    first.study.enqueue_trial(CONFIG)
    second = tune(credit_small, storage=url, study_name="s", n_trials=1, random_state=5, **FAST)
    s = second.summary
    assert (s.fold_seed, s.random_state) == (0, 5)
    assert "folds of the study's seed 0, sampler seed 5" in str(s)
    scores = second.study.trials[-1].user_attrs["fold_scores"]

    def reference(seed: int) -> list[float]:
        study = optuna.create_study(direction="maximize")
        study.enqueue_trial(CONFIG)
        res = tune(credit_small, storage=study._storage, study_name=study.study_name, n_trials=1,
                   random_state=seed, **FAST)
        return res.study.trials[0].user_attrs["fold_scores"]

    assert scores == pytest.approx(reference(0))  # the study's folds and fit seeds ...
    assert scores != pytest.approx(reference(5))  # ... not the worker's


# --------------------------------------------------------------------------- data fingerprint
def test_resuming_with_other_data_of_the_same_shape_is_refused(tmp_path, credit_small, capsys):
    url = f"sqlite:///{tmp_path / 'fp.db'}"
    tune(credit_small, storage=url, study_name="fp", n_trials=1, **FAST)
    other = credit_small.copy()
    other.loc[3, "duration"] = other.loc[3, "duration"] + 7  # one value: same shape, other data
    with pytest.raises(ConfigError, match="other data .*same columns and target but other values"):
        tune(other, storage=url, study_name="fp", n_trials=1, **FAST)
    renamed = credit_small.rename(columns={"duration": "months"})
    with pytest.raises(ConfigError, match=r"columns missing here: \['duration'\]") as refused:
        tune(renamed, storage=url, study_name="fp", n_trials=1, **FAST)
    assert "starts from its best trial" not in str(refused.value)  # another table: its trials are not used
    other.to_csv(tmp_path / "other.csv", index=False)
    rc = main(["tune", str(tmp_path / "other.csv"), "--target", "class", "--trials", "1", "--cv", "2", "-q",
               "--no-warm-start", "--learner", "lightgbm", "--sampler", "random", "--storage", url,
               "--study-name", "fp"])
    err = capsys.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1 and "other data" in err and "Traceback" not in err
    assert "a new study name in this storage starts from its best trial" in err  # next month's rows
    # a study from before fingerprints: this run's data is recorded, not refused; then it is enforced
    study = optuna.load_study(study_name="fp", storage=url)
    old = dict(study.user_attrs[SETUP_ATTR])
    del old["data"]
    study.set_user_attr(SETUP_ATTR, old)
    res = tune(other, storage=url, study_name="fp", n_trials=1, **FAST)
    assert res.summary.n_trials == 2
    assert "data" in optuna.load_study(study_name="fp", storage=url).user_attrs[SETUP_ATTR]
    with pytest.raises(ConfigError, match="other data"):
        tune(credit_small, storage=url, study_name="fp", n_trials=1, **FAST)


# --------------------------------------------------------------------------- interrupted trials
_STORAGES: dict[str, optuna.storages.BaseStorage] = {}


def _storage(url: str) -> optuna.storages.BaseStorage:
    from metaopt.tuning._storage import open_storage

    return _STORAGES.setdefault(url, open_storage(url))  # one engine (or journal reader) for all the polling


def _trials(url: str, name: str) -> dict[int, optuna.trial.FrozenTrial]:
    return {t.number: t for t in optuna.load_study(study_name=name, storage=_storage(url)).get_trials(deepcopy=False)}


def _trial_states(url: str, name: str) -> dict[int, str]:
    return {n: t.state.name for n, t in _trials(url, name).items()}


def _interrupt_running(proc: subprocess.Popen, url: str, name: str, number: int, sig: int) -> None:
    """Send ``sig`` to the worker once trial ``number`` is RUNNING its cross-validation (all parameters set)."""
    deadline = time.monotonic() + 90
    while (t := _trials(url, name).get(number)) is None or t.state.name != "RUNNING" or len(t.params) < len(SLOW):
        assert proc.poll() is None, proc.communicate()[1][-2000:]
        assert time.monotonic() < deadline, "the worker never started the trial"
        time.sleep(0.05)
    time.sleep(0.05)  # into the cross-validation (SLOW's takes seconds: a signal after it would stop the refit)
    os.kill(proc.pid, sig)
    out, err = proc.communicate(timeout=60)
    # Ctrl-C ends the search and the call builds its model from what finished; SIGKILL ends everything
    assert proc.returncode == (0 if sig == signal.SIGINT else -signal.SIGKILL), err[-3000:]
    if sig == signal.SIGINT:
        assert json.loads(out)["stopped_by_user"] is True


def _slow_data(folder: Path) -> Path:
    """credit-g three times over: SLOW's cross-validation lasts long enough for a signal to land inside it
    however late a loaded machine's polling sees the trial start (on credit-g once it took 0.85 s)."""
    import pandas as pd

    path = folder / "credit-g-x3.csv"
    pd.concat([pd.read_csv(CREDIT_G)] * 3, ignore_index=True).to_csv(path, index=False)
    return path


def _interrupt_and_resume(url: str, name: str, folder: Path) -> None:
    """Ctrl-C one worker and SIGKILL another during warm-start trials; a third retries both, once."""
    from metaopt.warmstart import warm_start

    data = _slow_data(folder)
    rf = dict(FAST, learner="random_forest")
    first = tune(str(data), storage=url, study_name=name, n_trials=1, **rf)  # trial 0
    # as slow as SLOW (entropy); a gini twin finished its ~1 s before the SIGKILL below once, on a loaded machine
    slow2 = dict(SLOW, min_samples_split=3)
    assert len(warm_start(first.study, learner="random_forest", k=2, recommendations=[SLOW, slow2],
                          search_space=dict(first.study.trials[0].distributions))) == 2  # trials 1, 2 wait
    cmd = dict(learner="random_forest", trials=1)
    # Ctrl-C during warm-start trial 1: Optuna marks it FAIL
    _interrupt_running(_start(_cmd(data, url, name, **cmd), **HEARTBEAT_ENV), url, name, 1, signal.SIGINT)
    assert _trial_states(url, name)[1] == "FAIL"
    # SIGKILL during trial 2 (the next waiting one; the retry of trial 1 is queued behind it): stays RUNNING
    _interrupt_running(_start(_cmd(data, url, name, **cmd), **HEARTBEAT_ENV), url, name, 2, signal.SIGKILL)
    assert _trial_states(url, name)[2] == "RUNNING"
    time.sleep(3.5)  # the heartbeat's grace period (3 x 1 s)
    s = _summary(_start(_cmd(data, url, name, learner="random_forest", trials=2), **HEARTBEAT_ENV))
    assert (s["n_interrupted"], s["n_retried"], s["n_running"]) == (2, 2, 0)
    assert s["n_warm_started"] == 2 and s["n_trials"] == 3  # trial 0 and the two retries, not the lost ones
    study = optuna.load_study(study_name=name, storage=_storage(url))
    retries = {t.system_attrs["failed_trial"]: t for t in study.trials if "failed_trial" in t.system_attrs}
    assert sorted(retries) == [1, 2]
    for number, t in retries.items():
        assert t.state.name in ("COMPLETE", "PRUNED") and t.params == {1: SLOW, 2: slow2}[number]
        assert t.user_attrs["metaopt:source"] == "warm_start" and "metaopt:interrupted" not in t.user_attrs
    # a later resume retries nothing again
    again = tune(str(data), storage=url, study_name=name, n_trials=1, **rf)
    assert again.summary.n_retried == 2 and again.summary.n_interrupted == 2
    assert "interrupted: 2 trial(s) of stopped or killed workers (2 configuration(s) re-queued once)" \
        in str(again.summary)


def test_sigint_and_sigkill_of_a_worker_then_resume_retries_once_sqlite(tmp_path):
    _interrupt_and_resume(f"sqlite:///{tmp_path / 'faults.db'}", "faults", tmp_path)


def test_sigint_and_sigkill_of_a_worker_then_resume_retries_once_journal(tmp_path):
    """No heartbeat in Optuna 5.0's journal storage: the resume on the same machine finds the killed worker's
    process gone (before: its trial stayed RUNNING for good, its configuration never retried)."""
    _interrupt_and_resume(f"journal:///{tmp_path / 'faults.log'}", "faults", tmp_path)


def test_postgresql_workers_start_together_and_a_killed_trial_is_retried(postgres_url, data_csv):
    import psycopg2

    conn = psycopg2.connect(postgres_url.replace("postgresql+psycopg2", "postgresql"))
    conn.autocommit = True
    conn.cursor().execute("CREATE DATABASE workers")  # no Optuna tables yet: both workers create them
    conn.close()
    url = postgres_url.rsplit("/", 1)[0] + "/workers"
    procs = _start_together([_cmd(data_csv, url, "pg", seed=seed) for seed in (0, 1)], data_csv.parent / "go")
    a, b = (_summary(p) for p in procs)
    assert a["fold_seed"] == b["fold_seed"] and max(a["n_trials"], b["n_trials"]) == 4
    _interrupt_and_resume(url, "pg-faults", data_csv.parent)
