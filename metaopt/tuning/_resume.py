"""Trials whose worker was stopped (SIGINT) or died (SIGKILL): retried once on resume, counted apart.

* **Died** (SIGKILL, a lost machine): the trial stays RUNNING.  On RDB
  storages (SQLite included) ``tune`` opens the storage with Optuna's heartbeat
  (:mod:`metaopt.tuning._storage`): the next worker fails the trial once its
  heartbeat is stale and Optuna's ``RetryHeartbeatStaleTrialCallback``
  re-queues the configuration once.  Optuna 5.0's journal storage has no
  heartbeat: the next run on the same machine fails and re-queues the trials
  whose worker ran there and is gone (:func:`retry_dead_here`, by process id);
  a worker of another machine cannot be asked, so its trial is only reported.
* **Stopped** (Ctrl-C): Optuna marks the trial FAIL.  The objective records
  :data:`INTERRUPTED_ATTR` first, and :func:`retry_interrupted` re-queues the
  configuration once with the same callback, under the storage lock that the
  warm start uses, so that two resuming workers do not both re-queue it.

A failed trial without an ``error`` attribute is an interrupted one (metaopt's
objective records an error for every configuration that fails on its own);
it is counted neither as a failure nor as a warm-started trial.
"""

from __future__ import annotations

import contextlib
import copy
import os
import socket
import warnings
from dataclasses import dataclass
from typing import Any

INTERRUPTED_ATTR = "metaopt:interrupted"
#: trial attribute: the search (one ``Objective``) that ran the trial, to find its trials after a storage outage
RUN_ATTR = "metaopt:run"
#: trial attribute: the process that ran the trial (``host:pid``; the ensemble reports whose trials it used)
WORKER_ATTR = "metaopt:worker"


@dataclass
class TrialCounts:
    """The study's trials by what happened to them."""

    finished: list[Any]  #: COMPLETE, PRUNED, and FAIL with a recorded error, in trial order
    interrupted: list[Any]  #: FAIL without an error: stopped or dead workers
    retried: list[Any]  #: re-queued copies of interrupted trials (any state)
    running: list[Any]  #: still RUNNING: other workers, or dead ones not yet detected


def _retry_callback() -> Any:
    import optuna
    from optuna.storages import RetryHeartbeatStaleTrialCallback

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return RetryHeartbeatStaleTrialCallback(max_retry=1)


def is_interrupted(trial: Any) -> bool:
    """Whether a trial ended because its worker stopped or died (not because its configuration failed)."""
    return trial.state.name == "FAIL" and not trial.user_attrs.get("error")


class ReportedTrials:
    """A trial callback that remembers the trials it was called for, so that it can be called late for those
    it missed (:meth:`report_late`)."""

    def __init__(self, callback: Any):
        self.callback, self.numbers = callback, set()

    def __call__(self, study: Any, frozen: Any) -> None:
        self.numbers.add(frozen.number)
        self.callback(study, frozen)

    def report_late(self, study: Any, run_id: str) -> int:
        """Call the callback for the trials of the search ``run_id`` that finished unreported; returns how many.

        A trial that finished as the storage went down is written, but Optuna reads it back before its
        callbacks, and that read fails: uncounted, a search that goes on after the outage would run one trial
        too many."""
        import optuna

        states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED, optuna.trial.TrialState.FAIL)
        late = [t for t in study.get_trials(deepcopy=False, states=states)
                if t.user_attrs.get(RUN_ATTR) == run_id and t.number not in self.numbers and not is_interrupted(t)]
        for t in late:
            self(study, t)
        return len(late)


def retry_interrupted(study: Any) -> int:
    """Re-queue, once, every configuration whose trial was stopped by Ctrl-C, or whose worker on this machine
    died where no heartbeat does it (:func:`retry_dead_here`); returns how many."""
    from metaopt.warmstart import storage_lock

    with storage_lock(study._storage, study.study_name):
        n_dead = retry_dead_here(study)
        trials = study.get_trials(deepcopy=False)
        done = {n for t in trials for n in t.system_attrs.get("retry_history", [])}
        todo = [t for t in trials if is_interrupted(t) and t.user_attrs.get(INTERRUPTED_ATTR)
                and t.number not in done]
        if not todo:
            return n_dead
        retry, n = _retry_callback(), len(trials)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Optuna's ExperimentalWarning of retry_history
            for t in todo:
                clone = copy.deepcopy(t)
                clone.user_attrs = {k: v for k, v in clone.user_attrs.items() if k != INTERRUPTED_ATTR}
                retry(study, clone)  # skips a trial that is itself a retry (max_retry=1)
        return n_dead + len(study.get_trials(deepcopy=False)) - n


def retry_dead_here(study: Any) -> int:
    """On a storage without a heartbeat (Optuna 5.0's journal): fail the RUNNING trials whose worker ran on this
    machine and is gone, and re-queue each once, as the heartbeat does on RDB storages; returns how many."""
    import optuna
    from optuna.trial import TrialState

    from metaopt.warmstart import unwrap_storage

    if isinstance(unwrap_storage(study._storage), optuna.storages.RDBStorage):
        return 0  # Optuna's heartbeat (tuning._storage)
    here, dead = socket.gethostname(), []
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        host, _, pid = str(t.user_attrs.get(WORKER_ATTR, "")).rpartition(":")
        if host == here and pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            dead.append(t)
    return fail_and_retry(study, dead)


def fail_and_retry(study: Any, trials: list[Any]) -> int:
    """Fail each of the RUNNING ``trials`` (their worker is gone) and re-queue its configuration once, as Optuna's
    heartbeat does for a stale trial; returns how many were failed here."""
    import optuna
    from optuna.trial import TrialState

    n = 0
    for t in trials:
        with contextlib.suppress(optuna.exceptions.UpdateFinishedTrialError):  # it finished, or was failed first
            if study._storage.set_trial_state_values(t._trial_id, TrialState.FAIL):
                _retry_callback()(study, study._storage.get_trial(t._trial_id))
                n += 1
    return n


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # no signal sent: whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process of that id
    return True


def count_trials(trials: list[Any]) -> TrialCounts:
    """Split ``trials`` (sorted by number) into finished, interrupted, retried and running ones."""
    finished = [t for t in trials if t.state.name in ("COMPLETE", "PRUNED")
                or (t.state.name == "FAIL" and not is_interrupted(t))]
    return TrialCounts(finished=finished, interrupted=[t for t in trials if is_interrupted(t)],
                       retried=[t for t in trials if "failed_trial" in t.system_attrs],
                       running=[t for t in trials if t.state.name == "RUNNING"])
