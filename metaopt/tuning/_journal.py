"""``CutBackJournalFile``: Optuna's journal file, whose failed append is cut back off.

Why by hand: Optuna 5.0's ``JournalFileBackend.append_logs`` leaves what a failed write got onto the disk (a
full disk, a quota) as a partial last line.  The next append that fits joins it into a line that is not JSON,
and from then on every reader of the file raises ``JSONDecodeError``: the whole study is lost to a few
bytes.  Here the append runs under the same lock and, when it fails, truncates the file back to its size
before the append, so the file holds whole log lines only and the search can wait for space
(:func:`metaopt.tuning._storage.through_outages`).
"""

from __future__ import annotations

import json
import os
from typing import Any

from optuna.storages.journal import JournalFileBackend, JournalFileSymlinkLock


class JournalWriteError(OSError):
    """An append the journal file refused (``errno`` and ``strerror`` as the file system said), cut back off."""


class CutBackJournalFile(JournalFileBackend):
    """A journal file backend whose failed append leaves the file as it was (module docstring)."""

    def __init__(self, file_path: str):
        self.path = file_path
        self.lock = JournalFileSymlinkLock(file_path)  # Optuna's default lock, kept to take it here
        super().__init__(file_path, lock_obj=self.lock)

    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        data = ("\n".join(json.dumps(log, separators=(",", ":")) for log in logs) + "\n").encode("utf-8")
        try:
            self.lock.acquire()  # a symbolic link next to the file: on a full disk this fails too
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
                try:
                    _append(fd, data)
                finally:
                    os.close(fd)
            finally:
                self.lock.release()
        except OSError as exc:
            raise JournalWriteError(exc.errno, exc.strerror, self.path) from exc


def _append(fd: int, data: bytes) -> None:
    """Write all of ``data`` at the end of ``fd`` and sync it, or leave the file at its size before."""
    start = os.fstat(fd).st_size
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    except OSError:
        os.ftruncate(fd, start)
        raise
