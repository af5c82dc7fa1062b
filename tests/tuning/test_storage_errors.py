"""Which errors are the storage's: waited for (a full disk, a lost connection) or told in one line."""

from __future__ import annotations

import errno

import optuna

from metaopt.tuning._journal import JournalWriteError
from metaopt.tuning._storage_errors import database_error, first_line, storage_fault


def _raised_in_a_trial(exc: BaseException) -> BaseException:
    """``exc`` as the search sees it: the context of another error raised while handling it."""
    try:
        try:
            raise exc
        except BaseException:
            raise RuntimeError("the trial loop's own error on the way out")
    except RuntimeError as outer:
        return outer


def test_a_full_disk_is_waited_for_and_a_file_too_large_is_one_line():
    full = JournalWriteError(errno.ENOSPC, "No space left on device", "/data/study.log")
    too_large = JournalWriteError(errno.EFBIG, "File too large", "/data/study.log")
    assert storage_fault(_raised_in_a_trial(full)) is full  # free space, and the search goes on
    assert storage_fault(_raised_in_a_trial(too_large)) is None  # no wait cures a size limit ...
    assert database_error(_raised_in_a_trial(too_large)) is too_large  # ... but it is the storage's: one line
    assert first_line(full) == "No space left on device"
    assert storage_fault(OSError(errno.ENOENT, "No such file or directory")) is None  # e.g. a data file
    assert database_error(ValueError("a bug of ours")) is None


def test_optunas_wrapper_says_nothing_so_the_cause_is_told():
    cause = JournalWriteError(errno.EDQUOT, "Disk quota exceeded", "/data/study.log")
    try:
        raise optuna.exceptions.StorageInternalError("An exception is raised during the commit.") from cause
    except optuna.exceptions.StorageInternalError as wrapped:
        assert first_line(wrapped) == "Disk quota exceeded" and storage_fault(wrapped) is cause
