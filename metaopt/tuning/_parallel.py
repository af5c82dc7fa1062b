"""Parallel trials in worker processes that share the study through its storage (``n_jobs > 1``).

Why processes: a trial is Python and NumPy work around one single-threaded fit, and threads share one
GIL (Optuna deprecated its thread ``n_jobs`` for this reason in 2.7 and recommends processes).  This
process runs trials too; ``n_jobs - 1`` forked workers join it on the same study, as separately started
workers of ``tune`` do (``docs/tuning.md``, "Workers and faults"):

* **Storage.** The user's RDB or journal storage as it is; an in-memory study is copied into a
  temporary Optuna journal file for the search and back into memory afterwards, and the file removed.
* **Trials.** Each trial is claimed from a process-shared semaphore first, so the call runs exactly
  ``n_trials``; nobody starts a trial after the deadline or after a callback stopped the search.
  Samplers never propose a configuration the study has (``DistinctSampler``, ``MetaSampler``).
* **Samplers.** Each worker reseeds its copy of the sampler (Optuna's ``reseed_rng``).
* **Faults.** Ctrl-C stops every worker (each marks its running trial interrupted, as a single
  process does), also while this process waits for their last trials; :class:`SearchInterrupted`
  carries the finished trials (an in-memory study's copy) to ``tune``.  A worker that dies is seen at
  once: its running trial is failed and re-queued once (:func:`retry_dead`, what Optuna's heartbeat
  does after its grace period) and its claim freed, so nothing is lost.

Workers are forked, not spawned: a spawned worker would import metaopt, LightGBM and Optuna again
(2-5 s on a loaded 2-core machine) and rebuild the folds and the meta-model from pickles.  Forking
needs the inherited database connections dropped (SQLAlchemy's pool, ``_release_connections``);
where ``fork`` is unavailable or unsafe (Windows; macOS, whose system libraries are not fork-safe),
trials run in threads.  Measured: ``docs/warmstart.md``, "Parallel trials".
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from multiprocessing.connection import wait
from typing import Any

import optuna

from metaopt.tuning._storage import open_storage
from metaopt.tuning._storage_errors import storage_fault

#: trial attribute: the process id of the worker that ran the trial
WORKER_ATTR = "metaopt:pid"
#: seconds the workers get to finish on their own after Ctrl-C before they are sent SIGINT, then killed
_STOP_GRACE_S, _KILL_GRACE_S = 2.0, 30.0


def processes_available() -> bool:
    """Whether worker processes can be forked here (not on Windows, nor on macOS: see the module docs)."""
    return "fork" in multiprocessing.get_all_start_methods() and sys.platform != "darwin"


def _release_connections(storage: Any, close: bool) -> None:
    """Drop the pooled connections of an RDB storage: closed before forking, forgotten in a forked child
    (SQLAlchemy's recipe for ``os.fork``; a child closing its parent's connection would break it)."""
    from metaopt.warmstart import unwrap_storage

    engine = getattr(unwrap_storage(storage), "engine", None)
    if engine is not None:
        engine.dispose(close=close)


@contextlib.contextmanager
def shared_study(study: Any) -> Iterator[tuple[Any, Callable[[], Any]]]:
    """(a study the worker processes can share, ``result()`` -> the study to keep afterwards).

    An in-memory study goes to a temporary journal file for the search; ``result()`` copies it back into
    a new in-memory study.  Any other storage is shared as it is.
    """
    from optuna.storages import InMemoryStorage

    from metaopt.warmstart import guard_trial_queue, unwrap_storage

    if not isinstance(unwrap_storage(study._storage), InMemoryStorage):
        yield study, lambda: study
        return
    tmp = tempfile.mkdtemp(prefix="metaopt-jobs-")
    storage = None
    try:
        # a journal file: about 10x less per trial than SQLite (0.05 against 0.4-0.5 s measured here); its lack
        # of a heartbeat does not matter, as this process sees a worker die and retries its trial itself
        storage = open_storage("journal:///" + os.path.join(tmp, "study.log").lstrip("/"))
        optuna.copy_study(from_study_name=study.study_name, from_storage=study._storage, to_storage=storage)
        shared = optuna.load_study(study_name=study.study_name, storage=storage, sampler=study.sampler,
                                   pruner=study.pruner)

        def result() -> Any:
            memory = InMemoryStorage()
            optuna.copy_study(from_study_name=study.study_name, from_storage=storage, to_storage=memory)
            return optuna.load_study(study_name=study.study_name, storage=memory, sampler=study.sampler,
                                     pruner=study.pruner)

        yield guard_trial_queue(shared), result
    finally:
        if storage is not None:
            _release_connections(storage, close=True)
        shutil.rmtree(tmp, ignore_errors=True)


class _Control:
    """What the processes of one search share: the trials left, who holds one, the deadline, the stop flag.

    Semaphore and flags, not locked counters: a worker killed while claiming cannot leave a lock held.
    The deadline is this process's (it moves when the refit's reserve does; ``time.monotonic()`` is one
    clock for all processes of the machine).
    """

    def __init__(self, ctx: Any, n_trials: int | None, deadline: float | None, n_jobs: int):
        self.trials = None if n_trials is None else ctx.Semaphore(int(n_trials))
        self.holding = ctx.RawArray("b", n_jobs)  #: worker i has claimed a trial it has not finished
        self.stopped = ctx.RawValue("b", 0)
        self._deadline = ctx.RawValue("d", math.inf)
        self.set_deadline(deadline)
        self.parent = os.getpid()

    def set_deadline(self, deadline: float | None) -> None:
        self._deadline.value = math.inf if deadline is None else float(deadline)

    def deadline(self) -> float | None:
        value = self._deadline.value
        return None if math.isinf(value) else value

    def claim(self, worker: int) -> bool:
        """Whether ``worker`` may start one more trial (and, if so, it is counted); never once the parent died."""
        orphan = worker > 0 and os.getppid() != self.parent
        if orphan or self.stopped.value or time.monotonic() >= self._deadline.value:
            return False
        if self.trials is not None and not self.trials.acquire(block=False):
            return False
        self.holding[worker] = 1
        return True

    def done(self, worker: int) -> None:
        self.holding[worker] = 0

    def give_back(self, worker: int) -> None:
        """A worker died holding a claim: its trial is re-queued (:func:`retry_dead`), so the claim is free again."""
        if self.holding[worker] and self.trials is not None:
            self.trials.release()
        self.holding[worker] = 0

    def stop(self) -> None:
        self.stopped.value = 1


class _StudyView:
    """The study as callbacks see it: ``stop()`` ends the search in every process; the rest is the study's."""

    def __init__(self, study: Any, control: _Control):
        self._study, self._control = study, control

    def stop(self) -> None:
        self._control.stop()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._study, name)


def _run(study: Any, objective: Any, control: _Control, worker: int, catch: tuple, callbacks: list[Callable]
         ) -> None:
    """Run claimed trials one by one until none is left, the deadline passes or the search is stopped."""
    def tagged(trial: Any) -> Any:
        trial.set_user_attr(WORKER_ATTR, os.getpid())
        return objective(trial)

    while control.claim(worker):
        try:
            study.optimize(tagged, n_trials=1, catch=catch, callbacks=callbacks, gc_after_trial=False)
        finally:
            control.done(worker)


def _own_storage(study: Any) -> Any:
    """The forked study on storage of this process's own: fresh database connections; a journal storage
    anew, since its copy would share the parent's worker id and both would own the same enqueued trial."""
    from optuna.storages import JournalStorage

    from metaopt.warmstart import guard_trial_queue, unwrap_storage

    inner = unwrap_storage(study._storage)
    if not isinstance(inner, JournalStorage):
        _release_connections(study._storage, close=False)
        return study
    storage = JournalStorage(inner._backend)  # the same file; Optuna keeps no public handle on it
    return guard_trial_queue(optuna.load_study(study_name=study.study_name, storage=storage,
                                               sampler=study.sampler, pruner=study.pruner))


def _worker(study: Any, objective: Any, control: _Control, worker: int, catch: tuple, conn: Any) -> None:
    """A forked worker: its own storage and sampler seed, the parent's deadline; tells the parent the id
    of each finished trial."""
    study = _own_storage(study)
    study.sampler.reseed_rng()
    if getattr(objective, "deadline", None) is not None:  # its fits end when the parent's search does
        objective.deadline = control.deadline

    def tell(study_: Any, frozen: Any) -> None:
        conn.send(frozen._trial_id)  # a few bytes: one atomic pipe write, even if the worker dies after

    try:
        _run(study, objective, control, worker, catch, [tell])
    except KeyboardInterrupt:  # its trial is marked interrupted (Objective); the parent re-raises
        raise SystemExit(130) from None
    except Exception as exc:
        if not after_ctrl_c(exc, objective) and storage_fault(exc) is None:
            raise
        # Ctrl-C inside Optuna's own bookkeeping of a finished trial, or a storage error while it records
        # an interrupted one (``_run_trial`` then raises an UnboundLocalError or AssertionError), or a
        # database gone (the parent meets it too and says so in one line): no traceback; the parent sees
        # the exit code and re-queues the trial once
        raise SystemExit(1) from None
    finally:
        conn.close()


def after_ctrl_c(exc: BaseException, *objectives: Any) -> bool:
    """Whether ``exc`` was raised while a KeyboardInterrupt was being handled, or after one reached a trial of
    ``objectives`` (Optuna 5.1 records the interrupted trial outside the handler: a storage error there, e.g.
    SQLite's "database is locked" while every process of the job stops at once, carries no trace of it)."""
    if any(getattr(o, "interrupted", False) for o in objectives):
        return True
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return True
        seen.add(id(exc))
        exc = exc.__context__
    return False


def _listen(study: Any, workers: dict[Any, tuple[int, Any]], control: _Control, report: Callable[[Any], None]
            ) -> None:
    """Report the workers' finished trials (read from the storage) until every worker has closed its pipe;
    a worker that died gives its claim back."""
    while workers:
        for conn in wait(list(workers), timeout=0.5):
            try:
                trial_id = conn.recv()
            except (EOFError, OSError):
                index, proc = workers.pop(conn)
                proc.join(5.0)
                if proc.exitcode not in (0, 130):
                    with contextlib.suppress(Exception):  # else Optuna's heartbeat, where the storage has one
                        retry_dead(study, proc.pid)
                    control.give_back(index)
                continue
            with contextlib.suppress(Exception):  # a report is for the progress bar and the counts only
                report(study._storage.get_trial(trial_id))


def retry_dead(study: Any, pid: int) -> int:
    """Fail the trials the dead worker ``pid`` was running and re-queue each once (as Optuna's heartbeat
    does for a stale trial, without waiting for its grace period); returns how many."""
    from optuna.trial import TrialState

    from metaopt.tuning._resume import fail_and_retry

    return fail_and_retry(study, [t for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
                                  if t.user_attrs.get(WORKER_ATTR) == pid])


def optimize_in_processes(study: Any, objective: Any, *, n_jobs: int, n_trials: int | None,
                          deadline: Callable[[], float | None], catch: tuple, callbacks: list[Callable]) -> list[str]:
    """``study.optimize`` in this process and ``n_jobs - 1`` forked workers; returns notes on the workers.

    No trial starts after ``deadline()`` (``time.monotonic()``; None: none), read again after every
    trial.  ``callbacks`` see every trial of the call (this process's and the workers'), one at a time,
    with a study whose ``stop()`` stops all of them.  Every trial records its process (``metaopt:pid``).
    """
    ctx = multiprocessing.get_context("fork")
    control = _Control(ctx, n_trials, deadline(), n_jobs)
    view, lock = _StudyView(study, control), threading.Lock()

    def report(frozen: Any) -> None:
        with lock:
            for cb in callbacks:
                cb(view, frozen)
            control.set_deadline(deadline())

    _release_connections(study._storage, close=True)  # nothing for the workers to inherit
    workers: dict[Any, tuple[int, Any]] = {}
    for index in range(1, n_jobs):
        reader, writer = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_worker, args=(study, objective, control, index, catch, writer), daemon=True)
        proc.start()
        writer.close()
        workers[reader] = (index, proc)
    procs = [proc for _, proc in workers.values()]
    listener = threading.Thread(target=_listen, args=(study, workers, control, report), daemon=True)
    listener.start()
    try:
        _run(study, objective, control, 0, catch, [lambda s, t: report(t)])
        for proc in procs:  # inside the try: a Ctrl-C while the workers finish their last trials stops them too
            proc.join()
    except BaseException:
        control.stop()
        _stop_workers(procs)
        raise
    finally:
        for proc in procs:
            proc.join()
        listener.join()
    return [f"worker process {i} ended with {_exit_text(p.exitcode)}; the trial it was running was re-queued once"
            for i, p in enumerate(procs, start=1) if p.exitcode not in (0, 130)]


def _stop_workers(procs: list[Any]) -> None:
    """After Ctrl-C here: let the workers stop (they got the terminal's SIGINT too), else SIGINT, else SIGKILL."""
    end = time.monotonic() + _STOP_GRACE_S
    for proc in procs:
        proc.join(max(0.0, end - time.monotonic()))
    for proc in procs:
        if proc.is_alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGINT)
    end = time.monotonic() + _KILL_GRACE_S
    for proc in procs:
        proc.join(max(0.0, end - time.monotonic()))
        if proc.is_alive():
            proc.kill()


def _exit_text(code: int | None) -> str:
    if code is not None and code < 0:
        return f"signal {signal.Signals(-code).name}"
    return f"exit code {code}"


class SearchInterrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`search_in_processes`; ``study`` holds the trials finished until then (an
    in-memory study's copy would otherwise be lost with the temporary journal file)."""

    def __init__(self, study: Any, how: str = "Ctrl-C"):
        super().__init__()
        self.study, self.how = study, how


def search_in_processes(study: Any, objective: Any, *, n_jobs: int, n_trials: int | None,
                        deadline: Callable[[], float | None], catch: tuple, callbacks: list[Callable]
                        ) -> tuple[Any, list[str]]:
    """(the study with this search's trials, notes): :func:`optimize_in_processes` on :func:`shared_study`.

    Raises :class:`SearchInterrupted` on Ctrl-C (also where Optuna turned it into another error), once every
    worker has stopped.
    """
    with shared_study(study) as (shared, result):
        try:
            notes = optimize_in_processes(shared, objective, n_jobs=n_jobs, n_trials=n_trials, deadline=deadline,
                                          catch=catch, callbacks=callbacks)
            kept = result()  # inside the try: a Ctrl-C while the trials are copied back copies them again below
        except BaseException as stop:
            # Ctrl-C inside Optuna's bookkeeping of this process's trial surfaces as another error
            # (``after_ctrl_c``): the finished trials must still leave the temporary file
            ctrl_c = isinstance(stop, KeyboardInterrupt) or (isinstance(stop, Exception)
                                                             and after_ctrl_c(stop, objective))
            if not ctrl_c:
                raise
            raise SearchInterrupted(result(), getattr(stop, "how", "Ctrl-C")) from None
        return kept, notes
