"""An exclusive lock on a file, shared by the threads of this process and by other processes.

``fcntl.flock`` serialises processes (on one machine, or on a file system that honours it); a per-path
``RLock`` serialises this process's threads, which ``flock`` alone would not (it is per open file, and a
thread re-entering must not deadlock). Written here because the standard library has only the
primitive and Optuna's ``JournalFileOpenLock`` (used where ``fcntl`` is missing) is not re-entrant.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

_PATH_LOCKS: dict[str, threading.RLock] = {}
_GUARD = threading.Lock()


@contextlib.contextmanager
def file_lock(path: str) -> Iterator[None]:
    """Hold the lock of ``path`` (created if missing, never removed: removing it would race)."""
    with _GUARD:
        tlock = _PATH_LOCKS.setdefault(path, threading.RLock())
    with tlock:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: Optuna's portable lock file
            from optuna.storages.journal import JournalFileOpenLock

            lk = JournalFileOpenLock(path)
            lk.acquire()
            try:
                yield
            finally:
                lk.release()
            return
        with open(path, "a+") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
