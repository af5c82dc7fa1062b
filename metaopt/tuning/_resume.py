"""Trials whose worker was stopped (SIGINT) or died (SIGKILL): retried once on resume, counted apart.

* **Died** (SIGKILL, a lost machine): the trial stays RUNNING.  On RDB
  storages (SQLite included) ``tune`` opens the storage with Optuna's heartbeat
  (:mod:`metaopt.tuning._storage`): the next worker fails the trial once its
  heartbeat is stale and Optuna's ``RetryHeartbeatStaleTrialCallback``
  re-queues the configuration once.  Optuna 5.0's journal and in-memory
  storages have no heartbeat: such a trial is indistinguishable from one still
  running in another worker and is only reported.
* **Stopped** (Ctrl-C): Optuna marks the trial FAIL.  The objective records
  :data:`INTERRUPTED_ATTR` first, and :func:`retry_interrupted` re-queues the
  configuration once with the same callback, under the storage lock that the
  warm start uses, so that two resuming workers do not both re-queue it.

A failed trial without an ``error`` attribute is an interrupted one (metaopt's
objective records an error for every configuration that fails on its own);
it is counted neither as a failure nor as a warm-started trial.
"""

from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass
from typing import Any

INTERRUPTED_ATTR = "metaopt:interrupted"
#: trial attribute: the search (one ``Objective``) that ran the trial, to find its trials after a storage outage
RUN_ATTR = "metaopt:run"


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
    """Re-queue, once, every configuration whose trial was stopped by Ctrl-C; returns how many."""
    from metaopt.warmstart import storage_lock

    with storage_lock(study._storage, study.study_name):
        trials = study.get_trials(deepcopy=False)
        done = {n for t in trials for n in t.system_attrs.get("retry_history", [])}
        todo = [t for t in trials if is_interrupted(t) and t.user_attrs.get(INTERRUPTED_ATTR)
                and t.number not in done]
        if not todo:
            return 0
        retry, n = _retry_callback(), len(trials)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Optuna's ExperimentalWarning of retry_history
            for t in todo:
                clone = copy.deepcopy(t)
                clone.user_attrs = {k: v for k, v in clone.user_attrs.items() if k != INTERRUPTED_ATTR}
                retry(study, clone)  # skips a trial that is itself a retry (max_retry=1)
        return len(study.get_trials(deepcopy=False)) - n


def count_trials(trials: list[Any]) -> TrialCounts:
    """Split ``trials`` (sorted by number) into finished, interrupted, retried and running ones."""
    finished = [t for t in trials if t.state.name in ("COMPLETE", "PRUNED")
                or (t.state.name == "FAIL" and not is_interrupted(t))]
    return TrialCounts(finished=finished, interrupted=[t for t in trials if is_interrupted(t)],
                       retried=[t for t in trials if "failed_trial" in t.system_attrs],
                       running=[t for t in trials if t.state.name == "RUNNING"])
