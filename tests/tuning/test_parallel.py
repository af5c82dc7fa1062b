"""``n_jobs > 1``: trials in real worker processes sharing the study (in memory, SQLite); Ctrl-C and a
killed worker, sent to real ``metaopt tune --jobs 2`` processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna
import pytest

from metaopt.exceptions import ConfigError
from metaopt.tuning import tune
from metaopt.tuning._parallel import WORKER_ATTR
from tuning_support import default_sigint

CREDIT_G = Path(__file__).resolve().parents[2] / "examples" / "data" / "credit-g.csv"
FAST = dict(target="class", cv=2, progress=False, learner="lightgbm")
#: random-forest configurations whose 2-fold CV takes 1-2 s on credit-g (deep unbagged trees on every feature)
SLOW = [{"criterion": c, "max_features": 1.0, "min_samples_leaf": leaf, "min_samples_split": 2, "bootstrap": False}
        for c in ("gini", "entropy") for leaf in (1, 2)]


def _params(study: optuna.Study) -> list[str]:
    return [json.dumps(t.params, sort_keys=True) for t in study.trials if t.params]


def test_two_processes_share_an_in_memory_study(credit_small, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the temporary study file goes
    res = tune(credit_small, n_trials=10, n_jobs=2, **FAST)
    trials = res.study.trials
    assert res.summary.n_trials == res.summary.n_trials_run == 10 and len(trials) == 10
    pids = {t.user_attrs[WORKER_ATTR] for t in trials}
    assert len(pids) == 2 and os.getpid() in pids  # this process and one worker both ran trials
    assert len(set(_params(res.study))) == 10  # no configuration evaluated twice
    assert res.summary.n_warm_started == 5 and all(t.state.name == "COMPLETE" for t in trials)
    assert isinstance(res.study._storage, optuna.storages.InMemoryStorage)  # copied back ...
    assert not list(tmp_path.glob("metaopt-jobs-*"))  # ... and the temporary file removed
    assert res.model.predict(credit_small.drop(columns="class")).shape == (len(credit_small),)


def test_two_processes_on_a_sqlite_study_with_a_trial_budget(credit_small, tmp_path):
    url = f"sqlite:///{tmp_path / 'p.db'}"
    res = tune(credit_small, n_trials=6, n_jobs=2, storage=url, study_name="p", sampler="random",
               warm_start=False, **FAST)
    study = optuna.load_study(study_name="p", storage=url)
    assert [t.state.name for t in study.trials] == ["COMPLETE"] * 6  # exactly the call's trials, all stored
    assert len({t.user_attrs[WORKER_ATTR] for t in study.trials}) == 2
    assert len(set(_params(study))) == 6
    assert res.summary.n_trials_run == 6


# --------------------------------------------------------------------------- faults, in real CLI processes
def _cli(url: str, name: str, trials: int) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "metaopt", "tune", str(CREDIT_G), "--target", "class", "--trials", str(trials),
           "--cv", "2", "--learner", "random_forest", "--sampler", "random", "--no-warm-start", "-q", "--json",
           "--storage", url, "--study-name", name, "--jobs", "2"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}  # the default heartbeat (30 s grace): a dead worker is seen at once
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True,  # its own process group, as a terminal's job
                            preexec_fn=default_sigint)


def _slow_study(url: str, name: str) -> None:
    """A study whose next trials are the slow configurations (enqueued), so that workers are caught in them."""
    study = optuna.create_study(study_name=name, storage=url, direction="maximize")
    for p in SLOW:
        study.enqueue_trial(p)


def _running(url: str, name: str, n: int, proc: subprocess.Popen) -> list[optuna.trial.FrozenTrial]:
    """Wait until ``n`` trials are RUNNING their cross-validation (parameters and worker recorded)."""
    storage = optuna.storages.RDBStorage(url)
    deadline = time.monotonic() + 120
    while True:
        assert proc.poll() is None, proc.communicate()[1][-2000:]
        assert time.monotonic() < deadline, "the workers never ran their trials"
        running = [t for t in optuna.load_study(study_name=name, storage=storage).get_trials(deepcopy=False)
                   if t.state.name == "RUNNING" and WORKER_ATTR in t.user_attrs and len(t.params) >= len(SLOW[0])]
        if len(running) >= n:
            return running
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_ctrl_c_stops_every_worker_and_marks_their_trials_interrupted(tmp_path):
    url, name = f"sqlite:///{tmp_path / 'c.db'}", "c"
    _slow_study(url, name)
    proc = _cli(url, name, trials=len(SLOW))
    running = _running(url, name, 2, proc)
    pids = {t.user_attrs[WORKER_ATTR] for t in running}
    assert len(pids) == 2 and proc.pid in pids
    time.sleep(0.3)
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C in a terminal: the whole foreground job
    out, err = proc.communicate(timeout=60)
    # the search stops as at a time budget: the model comes from what finished (here the library default)
    assert proc.returncode == 0 and "Traceback" not in err, err[-2000:]
    assert json.loads(out)["stopped_by_user"] is True
    assert not any(_alive(pid) for pid in pids)
    study = optuna.load_study(study_name=name, storage=url)
    stopped = {t.number for t in study.trials if t.user_attrs.get("metaopt:interrupted")}
    assert {t.number for t in running} <= stopped
    assert all(study.trials[n].state.name == "FAIL" for n in stopped)  # retried once by the next run (_resume)


def test_a_killed_worker_loses_no_trial(tmp_path):
    url, name = f"sqlite:///{tmp_path / 'k.db'}", "k"
    _slow_study(url, name)
    proc = _cli(url, name, trials=len(SLOW))
    victim = next(t for t in _running(url, name, 2, proc) if t.user_attrs[WORKER_ATTR] != proc.pid)
    os.kill(victim.user_attrs[WORKER_ATTR], signal.SIGKILL)
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err[-2000:]
    s = json.loads(out)
    # the killed trial is retried once, in this call, and the call still finishes all its trials
    assert (s["n_interrupted"], s["n_retried"]) == (1, 1) and s["n_trials"] == len(SLOW)
    assert any("worker process 1 ended with signal SIGKILL" in n for n in s["notes"])
    study = optuna.load_study(study_name=name, storage=url)
    retry = next(t for t in study.trials if t.system_attrs.get("failed_trial") == victim.number)
    assert retry.state.name == "COMPLETE" and retry.params == victim.params


def _pop_after(barrier, study, conn) -> None:  # a forked worker: pops the waiting trial when both are ready
    from metaopt.tuning._parallel import _own_storage

    study = _own_storage(study)
    barrier.wait()
    conn.send(study._pop_waiting_trial_id())


def test_forked_workers_on_a_journal_file_never_take_the_same_enqueued_trial(tmp_path):
    """Before: a forked copy of a journal storage kept its parent's worker id, so both took the trial (seen
    as 'Cannot tell a COMPLETE trial' in a worker while benchmarking)."""
    import multiprocessing

    from metaopt.tuning._storage import open_storage

    study = optuna.create_study(storage=open_storage(f"journal:///{str(tmp_path / 'j.log').lstrip('/')}"))
    ctx = multiprocessing.get_context("fork")
    for rep in range(15):
        study.enqueue_trial({"x": float(rep)})
        barrier, (reader, writer) = ctx.Barrier(2), ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_pop_after, args=(barrier, study, writer))
        proc.start()
        barrier.wait()
        mine = study._pop_waiting_trial_id()
        theirs = reader.recv()
        proc.join()
        assert (mine is None) != (theirs is None), (rep, mine, theirs)


def _progress_at_least(proc: subprocess.Popen, n: int, seen: list[str]) -> None:
    """Read the progress bar on stderr until it shows ``n`` finished trials."""
    import re

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        seen.append(proc.stderr.read(1))
        done = re.findall(r"\| *(\d+)/\d+ \[", "".join(seen[-400:]))
        if done and int(done[-1]) >= n:
            return
        assert seen[-1] or proc.poll() is None, "".join(seen)[-2000:]
    raise AssertionError("the search never finished its first trials")


@pytest.mark.parametrize("jobs", [1, 2])
def test_ctrl_c_in_a_search_without_storage_still_saves_the_model(tmp_path, jobs):
    """An in-memory study (with --jobs 2: a temporary file the workers share) keeps the finished trials when
    the search is stopped: the model is built from them, saved, and predicts; nothing is lost but the
    running trials."""
    model = tmp_path / "m.joblib"
    cmd = [sys.executable, "-m", "metaopt", "tune", str(CREDIT_G), "--target", "class", "--trials", "200",
           "--cv", "2", "--learner", "lightgbm", "--json", "--output", str(model), "--jobs", str(jobs)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"}, start_new_session=True,
                            preexec_fn=default_sigint)
    seen: list[str] = []
    _progress_at_least(proc, 6, seen)
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    err = "".join(seen) + err
    assert proc.returncode == 0 and "Traceback" not in err, err[-3000:]
    assert "search stopped (Ctrl-C); building the model from the finished trials" in err
    s = json.loads(out)
    assert s["stopped_by_user"] and 6 <= s["n_complete"] < 200 and s["n_trials_run"] < 200
    assert any("stopped (Ctrl-C) after" in n for n in s["notes"])
    pred = subprocess.run([sys.executable, "-m", "metaopt", "predict", str(model), str(CREDIT_G)],
                          capture_output=True, text=True, timeout=120)
    assert pred.returncode == 0 and len(pred.stdout.splitlines()) == 1001, pred.stderr[-2000:]


class _CtrlCInTell(optuna.samplers.RandomSampler):
    """Ctrl-C while Optuna records the third trial (``after_trial`` runs inside its ``tell``): Optuna 5.0 then
    raises an UnboundLocalError from ``_run_trial`` instead of the KeyboardInterrupt."""

    def after_trial(self, study, trial, state, values):
        if trial.number == 2:
            raise KeyboardInterrupt


def test_ctrl_c_inside_optunas_bookkeeping_also_ends_the_search_with_a_model(credit_small):
    res = tune(credit_small, n_trials=10, sampler=_CtrlCInTell(seed=0), warm_start=False, on_interrupt="finish",
               **FAST)
    assert res.summary.stopped_by_user and res.summary.n_trials == 3  # the third one was recorded first
    assert res.model.predict(credit_small.drop(columns="class")).shape == (len(credit_small),)


class _CtrlCInFoldThenStorageError(optuna.samplers.RandomSampler):
    """Ctrl-C between the folds of the third trial (raised by the pruner), then a storage error while Optuna
    records that trial as failed: what SQLite's "database is locked" does when every process of a job stops
    at once (Optuna 5.1 then raises an AssertionError whose chain holds no KeyboardInterrupt)."""

    def after_trial(self, study, trial, state, values):
        if state == optuna.trial.TrialState.FAIL:
            raise RuntimeError("database is locked")


class _CtrlCPruner(optuna.pruners.NopPruner):
    def prune(self, study, trial):
        if trial.number == 2:
            raise KeyboardInterrupt
        return False


def test_a_storage_error_while_an_interrupted_trial_is_recorded_still_ends_the_search_with_a_model(credit_small):
    res = tune(credit_small, n_trials=10, sampler=_CtrlCInFoldThenStorageError(seed=0), pruner=_CtrlCPruner(),
               warm_start=False, on_interrupt="finish", **FAST)
    assert res.summary.stopped_by_user and res.summary.n_complete == 2
    assert res.model.predict(credit_small.drop(columns="class")).shape == (len(credit_small),)
    with pytest.raises(KeyboardInterrupt):  # the default: re-raised as the KeyboardInterrupt it was
        tune(credit_small, n_trials=10, sampler=_CtrlCInFoldThenStorageError(seed=0), pruner=_CtrlCPruner(),
             warm_start=False, **FAST)


class _CtrlCInTellHere(optuna.samplers.RandomSampler):
    """:class:`_CtrlCInTell` from trial 2 on, in the process that called ``tune`` only (not its workers)."""

    def __init__(self):
        super().__init__(seed=0)
        self.parent = os.getpid()

    def after_trial(self, study, trial, state, values):
        if os.getpid() == self.parent and trial.number >= 2:
            raise KeyboardInterrupt


class _StorageErrorHere(_CtrlCInTellHere):
    """:class:`_CtrlCInFoldThenStorageError`'s storage error, in the calling process only."""

    def after_trial(self, study, trial, state, values):
        if os.getpid() == self.parent and state == optuna.trial.TrialState.FAIL:
            raise RuntimeError("database is locked")


class _CtrlCPrunerHere(optuna.pruners.NopPruner):
    def __init__(self):
        self.parent = os.getpid()

    def prune(self, study, trial):
        if os.getpid() == self.parent and trial.number >= 2:
            raise KeyboardInterrupt
        return False


@pytest.mark.parametrize("where", ["tell", "storage error"])
def test_ctrl_c_inside_optunas_bookkeeping_with_two_processes_keeps_the_finished_trials(credit_small, where):
    """With ``n_jobs=2`` an in-memory study lives in a temporary file during the search; where Optuna turns the
    Ctrl-C in this process's trial into another error, the trials finished so far still come back from it
    (they were lost before: the model was built from the library default)."""
    sampler, pruner = (_CtrlCInTellHere(), None) if where == "tell" else (_StorageErrorHere(), _CtrlCPrunerHere())
    res = tune(credit_small, n_trials=40, n_jobs=2, sampler=sampler, pruner=pruner, warm_start=False,
               on_interrupt="finish", **FAST)
    assert res.summary.stopped_by_user and 1 <= res.summary.n_complete < 40
    assert res.summary.n_complete == len(res.study.get_trials(states=(optuna.trial.TrialState.COMPLETE,)))
    assert res.model.predict(credit_small.drop(columns="class")).shape == (len(credit_small),)


def test_a_ctrl_c_while_the_trials_come_back_from_the_temporary_file_keeps_them(credit_small, monkeypatch):
    """Ctrl-C right after the search, while an in-memory study's trials are copied back from the workers'
    temporary journal file: they are copied again, not lost."""
    real, hits = optuna.copy_study, []

    def copy_study(*, from_storage, **kwargs):
        if isinstance(from_storage, optuna.storages.JournalStorage) and not hits:
            hits.append(1)
            raise KeyboardInterrupt
        return real(from_storage=from_storage, **kwargs)

    monkeypatch.setattr(optuna, "copy_study", copy_study)
    res = tune(credit_small, n_trials=6, n_jobs=2, warm_start=False, on_interrupt="finish", **FAST)
    assert hits and res.summary.stopped_by_user and res.summary.n_trials == 6
    assert res.summary.n_complete == len(res.study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))) >= 1


def test_in_python_ctrl_c_is_raised_by_default_so_that_a_loop_of_searches_stops(credit_small):
    """``tune``'s default re-raises (a KeyboardInterrupt, also where Optuna turned it into another error), so
    that Ctrl-C in a script or ``cross_val_score`` over self-tuning estimators stops all of it."""
    with pytest.raises(KeyboardInterrupt):
        tune(credit_small, n_trials=10, sampler=_CtrlCInTell(seed=0), warm_start=False, **FAST)
    with pytest.raises(ConfigError, match="on_interrupt must be 'raise' or 'finish'"):
        tune(credit_small, n_trials=1, on_interrupt="ignore", **FAST)


def test_sigterm_from_a_scheduler_ends_the_search_and_saves_the_model(tmp_path):
    """A batch scheduler's stop (SIGTERM to the command) is handled as Ctrl-C: the finished trials' model
    is saved, the note names the signal, and a resume retries the stopped trial."""
    model, url = tmp_path / "m.joblib", f"sqlite:///{tmp_path / 's.db'}"
    cmd = [sys.executable, "-m", "metaopt", "tune", str(CREDIT_G), "--target", "class", "--trials", "200",
           "--cv", "2", "--learner", "lightgbm", "--json", "--output", str(model), "--storage", url,
           "--study-name", "s"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"}, preexec_fn=default_sigint)
    seen: list[str] = []
    _progress_at_least(proc, 4, seen)
    proc.terminate()
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0 and "Traceback" not in err, ("".join(seen) + err)[-3000:]
    s = json.loads(out)
    assert s["stopped_by_user"] and 4 <= s["n_complete"] < 200 and model.is_file()
    assert any(n.startswith("the search was stopped (SIGTERM) after") for n in s["notes"])
    assert optuna.load_study(study_name="s", storage=url).user_attrs  # the study is there to resume
