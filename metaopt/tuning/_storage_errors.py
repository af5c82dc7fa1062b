"""Which errors are the storage's: those a wait may cure (:func:`storage_fault`), and any other refusal of the
database or journal file (:func:`database_error`), each told in one line (:func:`first_line`)."""

from __future__ import annotations

import errno
from collections.abc import Iterator
from typing import Any

import optuna

from metaopt.tuning._journal import JournalWriteError

#: SQLSTATE of a write refused by a read-only server (a standby, a fail-over not yet complete)
_READ_ONLY_SQLSTATE = "25006"
#: errors of a journal file's file system a wait may cure: full, over quota, NFS away, I/O, remounted read-only
_FILE_FAULTS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.ESTALE, errno.EIO, errno.EROFS})


def storage_fault(exc: BaseException) -> BaseException | None:
    """The storage's error behind ``exc`` (its cause or context chain) that a wait may cure: connection-level
    ones, a server that only reads (a fail-over reached a standby), a file system's (:data:`_FILE_FAULTS`);
    else None."""
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

    for cur in _chain(exc):
        if isinstance(cur, (OperationalError, InterfaceError)) or (isinstance(cur, OSError)
                                                                   and cur.errno in _FILE_FAULTS):
            return cur
        if isinstance(cur, DBAPIError) and _sqlstate(cur.orig) == _READ_ONLY_SQLSTATE:
            return cur
    return None


def database_error(exc: BaseException) -> BaseException | None:
    """Any error of the storage behind ``exc`` (a :func:`storage_fault` or another refusal), or None."""
    from sqlalchemy.exc import DBAPIError

    return storage_fault(exc) or next((e for e in _chain(exc) if isinstance(e, (DBAPIError, JournalWriteError))), None)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and its causes or contexts, each once."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        yield cur
        cur = cur.__cause__ or cur.__context__


def _sqlstate(orig: Any) -> str | None:
    return getattr(orig, "pgcode", None) or getattr(orig, "sqlstate", None)  # psycopg2, psycopg 3


def first_line(exc: BaseException) -> str:
    """The first line of the storage's own message behind ``exc`` (for one-line errors and notes)."""
    if isinstance(exc, optuna.exceptions.StorageInternalError) and exc.__cause__ is not None:
        exc = exc.__cause__  # Optuna's wrapper says nothing; the database's own message does
    text = str(getattr(exc, "orig", None) or (isinstance(exc, OSError) and exc.strerror) or exc).strip()
    return (text.splitlines() or [type(exc).__name__])[0].strip()[:300]
