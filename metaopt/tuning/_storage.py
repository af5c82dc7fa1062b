"""A user's ``storage`` argument -> an Optuna storage, or one clear :class:`~metaopt.StorageError`.

The one place where ``tune()`` (and so the estimators and ``metaopt tune``) and
``metaopt kb add-study`` open storages.  Accepted:

* ``None`` (an in-memory study) and Optuna storage objects, as given;
* RDB URLs: ``sqlite:///relative.db``, ``sqlite:////absolute.db``,
  ``postgresql+psycopg2://user:pw@host/db``, ``mysql+pymysql://...``.  A URL
  that names no driver (``postgresql://``) gets SQLAlchemy's default driver or,
  when that one is not installed, an installed one (SQLAlchemy 2.1 made
  ``psycopg`` 3 the default while ``metaopt[postgres]`` installs ``psycopg2``);
* ``journal:///path/study.log`` (or ``file://``): Optuna's journal file storage;
* a plain path: an existing SQLite or Optuna journal file, or a new file whose
  name ends in ``.db``, ``.sqlite`` or ``.sqlite3`` (a new SQLite database).

Everything else is refused *before* anything is created: an unknown scheme, a
malformed URL, a missing driver, a missing directory, a file that is not a
database, a plain name that is not a database file, and a server that refuses
the connection.  Messages name the URL with its password masked.

``heartbeat=True`` (what ``tune`` asks for) opens RDB storages with Optuna's
heartbeat: every running trial records a heartbeat every ``interval`` seconds;
a trial whose worker died (SIGKILL, a lost machine) is failed by the next
worker once ``3 * interval`` seconds have passed since its last heartbeat, and
:class:`optuna.storages.RetryHeartbeatStaleTrialCallback` re-queues its
configuration once.  ``interval`` is 10 s; ``METAOPT_HEARTBEAT_S`` overrides
it (whole seconds >= 1).  Optuna 5.0's journal storage has no heartbeat (see
:func:`metaopt.tuning._resume.retry_dead_here`).

New SQLite files are created under an ``fcntl`` lock on
``<database>.metaopt.lock`` (the warm start's lock file): Optuna creates its
tables with a check-then-create that two processes starting together on a new
file race on (``table studies already exists``).  Server databases retry the
creation instead.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import optuna

from metaopt.exceptions import StorageError
from metaopt.tuning._storage_errors import database_error, first_line, storage_fault
from metaopt.utils import file_lock

SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")
#: seconds a search waits for a storage that failed during it to answer again (``through_outages``)
STORAGE_WAIT_S = 300.0
#: seconds a statement on a SQLite file waits for another process's lock (SQLite's own default, 5 s, fails runs
#: started together on one file, Optuna issue #820, and writes while a reader such as a dashboard holds it)
SQLITE_BUSY_S = 60.0
HEARTBEAT_INTERVAL_S = 10
_SQLITE_MAGIC = b"SQLite format 3\x00"
_EXAMPLES = ("sqlite:///tune.db (a SQLite file here), postgresql+psycopg2://user:PASSWORD@host/db "
             "or journal:///path/study.log")
#: import name of a DB-API module -> the package that installs it
_DRIVER_PACKAGES = {"psycopg": "psycopg[binary]", "psycopg2": "psycopg2-binary", "pg8000": "pg8000",
                    "asyncpg": "asyncpg", "MySQLdb": "mysqlclient", "pymysql": "PyMySQL",
                    "mysql": "mysql-connector-python", "oracledb": "oracledb", "pyodbc": "pyodbc"}
#: drivers tried, in order, when a URL names none and SQLAlchemy's default is not installed
_FALLBACK_DRIVERS = {"postgresql": ("psycopg2", "psycopg", "pg8000"),
                     "mysql": ("pymysql", "mysqldb", "mysqlconnector"),
                     "mariadb": ("pymysql", "mysqldb", "mysqlconnector")}


def mask_url(url: str) -> str:
    """``url`` with its password replaced by ``***``."""
    scheme, sep, rest = str(url).partition("://")
    if not sep:
        return str(url)
    return scheme + sep + re.sub(r"^([^:/@]*):[^@]*@", r"\1:***@", rest, count=1)


def storage_label(storage: Any) -> str | None:
    """How a storage is named in summaries and messages (password masked); None for in-memory."""
    if storage is None:
        return None
    if isinstance(storage, (str, os.PathLike)):
        return mask_url(os.fspath(storage))
    from metaopt.warmstart import unwrap_storage

    inner = unwrap_storage(storage)
    url = getattr(inner, "url", None)
    if isinstance(url, str):
        return mask_url(url)
    path = getattr(getattr(inner, "_backend", None), "_file_path", None)
    if path:
        return f"journal:///{os.path.abspath(path).lstrip('/')}"
    return type(inner).__name__


class OutageProofRDBStorage(optuna.storages.RDBStorage):
    """Optuna's RDB storage whose trials' heartbeats outlast a database outage.

    Optuna's heartbeat thread ends at its first failed write (printing a traceback); the trial, still
    running, then looks dead to the other workers once the grace period has passed, and is failed under
    it.  Here a beat the database cannot take is skipped; the next one, once it answers, goes on.  Only
    connection-level errors are skipped (:func:`storage_fault`); Optuna offers no hook for this."""

    def record_heartbeat(self, trial_id: int) -> None:
        try:
            super().record_heartbeat(trial_id)
        except Exception as exc:
            if storage_fault(exc) is None:
                raise


def heartbeat_interval() -> int:
    """Seconds between two heartbeats of a running trial (``METAOPT_HEARTBEAT_S`` overrides)."""
    raw = os.environ.get("METAOPT_HEARTBEAT_S", "").strip()
    if not raw:
        return HEARTBEAT_INTERVAL_S
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise StorageError(f"METAOPT_HEARTBEAT_S must be a whole number of seconds >= 1, got {raw!r}")
    return value


def open_storage(storage: Any, *, create: bool = True, heartbeat: bool = False) -> Any:
    """An Optuna storage for ``storage`` (see the module documentation), or raise :class:`StorageError`.

    Parameters
    ----------
    storage
        ``None``, an Optuna storage object, a URL or a file path.
    create
        Whether a new database file may be created and Optuna's tables written
        (``tune``); ``False`` opens existing storages only (``kb add-study``).
    heartbeat
        Open RDB storages with Optuna's heartbeat and a one-time retry of trials
        whose worker died.
    """
    if storage is None or isinstance(storage, optuna.storages.BaseStorage):
        return storage
    if isinstance(storage, os.PathLike):
        return _open_path(os.fspath(storage), create, heartbeat)
    if not isinstance(storage, str):
        raise StorageError(f"storage must be a URL, a database file path or an Optuna storage, got "
                           f"{type(storage).__name__}")
    text = storage.strip()
    if not text:
        raise StorageError(f"storage is empty; give a URL such as {_EXAMPLES}")
    if "://" in text:
        scheme = text.split("://", 1)[0].lower()
        if scheme in ("journal", "file"):
            return _open_journal(text, re.sub(r"^[A-Za-z]+://", "", text), create)
        return _open_rdb(text, text, create, heartbeat)
    scheme = re.match(r"^([A-Za-z][\w+.-]+):", text)
    if scheme and not os.path.exists(text) and (text[len(scheme.group(0)):].startswith("/") or scheme.group(1)
                                                 .split("+")[0].lower() in ("sqlite", "postgresql", "postgres",
                                                                            "mysql", "mariadb", "journal")):
        fix = f" (did you mean sqlite:///{text.split(':', 1)[1].lstrip('/')}?)" \
            if scheme.group(1).lower() == "sqlite" else ""
        raise StorageError(f"storage {mask_url(text)!r} is not a valid URL: a URL has the form "
                           f"scheme://..., e.g. {_EXAMPLES}{fix}")
    return _open_path(text, create, heartbeat)


# --------------------------------------------------------------------------- files
def _sniff(path: Path) -> str | None:
    """``"sqlite"``, ``"journal"`` or ``"empty"`` from a file's first bytes; None for anything else."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError as exc:
        raise StorageError(f"storage file {str(path)!r} cannot be read: {exc.strerror or exc}") from None
    if not head:
        return "empty"
    if head.startswith(_SQLITE_MAGIC):
        return "sqlite"
    if head.lstrip().startswith(b"{") and b'"op_code"' in head.split(b"\n", 1)[0]:
        return "journal"
    return None


def _open_path(text: str, create: bool, heartbeat: bool) -> Any:
    path = Path(text).expanduser()
    if path.is_dir():
        raise StorageError(f"storage {text!r} is a directory; give a database file such as "
                           f"{str(path / 'tune.db')!r}")
    if path.is_file():
        kind = _sniff(path)
        if kind == "empty":
            kind = "sqlite" if path.suffix.lower() in SQLITE_SUFFIXES else "journal"
        if kind == "sqlite":
            return _open_rdb(f"sqlite:///{path.resolve()}", text, create, heartbeat)
        if kind == "journal":
            return _journal_storage(path)
        raise StorageError(f"storage {text!r} is not a database: the file is neither SQLite nor an Optuna "
                           f"journal; give another file name or a URL such as {_EXAMPLES}")
    if not create:
        raise StorageError(f"storage {text!r}: no such file (nor a URL such as {_EXAMPLES})")
    if path.suffix.lower() not in SQLITE_SUFFIXES:
        raise StorageError(f"storage {text!r} is neither a URL nor a database file: a new SQLite file needs a "
                           f"name ending in {', '.join(SQLITE_SUFFIXES)} (e.g. {text}.db or sqlite:///{text}.db); "
                           f"other storages are URLs such as {_EXAMPLES}")
    return _open_rdb(f"sqlite:///{path.absolute()}", text, create, heartbeat)


def _check_new_file(path: Path, label: str, create: bool) -> None:
    if not create:
        raise StorageError(f"storage {label!r}: no such database file {str(path)!r}")
    parent = path.absolute().parent
    if not parent.is_dir():
        raise StorageError(f"storage {label!r}: directory {str(parent)!r} does not exist; create it first "
                           "or give another path")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise StorageError(f"storage {label!r}: directory {str(parent)!r} is not writable; give another path")


def _open_journal(label: str, path_text: str, create: bool) -> Any:
    if not path_text:
        raise StorageError(f"storage {label!r} names no journal file; use journal:///path/study.log")
    # journal:///abs/x.log -> /abs/x.log, journal://x.log -> x.log; journal:////abs/x.log, as SQLite spells an
    # absolute path, -> /abs/x.log too (POSIX keeps a leading "//", which Optuna's artifact store refuses)
    path = Path(re.sub(r"^/{2,}", "/", path_text)).expanduser()
    if path.is_dir():
        raise StorageError(f"storage {label!r} is a directory; give a journal file such as "
                           f"journal:///{str(path / 'study.log').lstrip('/')}")
    if path.is_file():
        if _sniff(path) not in ("journal", "empty"):
            raise StorageError(f"storage {label!r}: {str(path)!r} is not an Optuna journal file")
    elif not create:
        raise StorageError(f"storage {label!r}: no such journal file {str(path)!r}")
    else:
        _check_new_file(path, label, create)
    return _journal_storage(path)


def _journal_storage(path: Path) -> Any:
    from metaopt.tuning._journal import CutBackJournalFile

    return optuna.storages.JournalStorage(CutBackJournalFile(str(path)))


# --------------------------------------------------------------------------- RDB
def _sqlite_file(url: Any, label: str, create: bool) -> Path | None:
    """The database file of a SQLite URL, checked; None for in-memory and ``file:`` URIs."""
    if url.host:
        raise StorageError(f"storage {label!r}: a SQLite URL has three slashes before a relative path and four "
                           f"before an absolute one (sqlite:///{url.host}{'/' + url.database if url.database else ''})")
    db = url.database
    if not db or db == ":memory:" or db.startswith("file:"):
        return None
    path = Path(db)
    if path.is_dir():
        raise StorageError(f"storage {label!r}: {db!r} is a directory, not a database file")
    if path.is_file():
        kind = _sniff(path)
        if kind == "journal":
            raise StorageError(f"storage {label!r}: {db!r} is an Optuna journal file, not SQLite; use "
                               f"journal:///{str(path.resolve()).lstrip('/')}")
        if kind not in ("sqlite", "empty"):
            raise StorageError(f"storage {label!r}: {db!r} is not a SQLite database; give another file name")
        return path
    _check_new_file(path, label, create)
    return path


def _driver_url(url: Any, label: str) -> Any:
    """``url`` with an importable DB-API driver, or raise naming the package to install."""
    from sqlalchemy.exc import NoSuchModuleError

    try:
        dialect = url.get_dialect()
    except NoSuchModuleError:
        raise StorageError(f"storage {label!r}: unknown scheme {url.drivername!r}; use a URL such as "
                           f"{_EXAMPLES}") from None
    try:
        dialect.import_dbapi()
        return url
    except ImportError as exc:
        missing = (exc.name or str(exc)).split(".")[0]
    if "+" not in url.drivername:
        for driver in _FALLBACK_DRIVERS.get(url.drivername, ()):
            alt = url.set(drivername=f"{url.drivername}+{driver}")
            try:
                alt.get_dialect().import_dbapi()
                return alt
            except (ImportError, NoSuchModuleError):
                continue
    package = _DRIVER_PACKAGES.get(missing, missing)
    raise StorageError(f"storage {label!r}: its database driver {missing!r} is not installed; install it "
                       f"(pip install {package}) or name an installed driver in the URL "
                       f"({url.drivername.split('+')[0]}+DRIVER://...)")


def _rdb_kwargs(url: Any, create: bool, heartbeat: bool) -> dict[str, Any]:
    kw: dict[str, Any] = {"skip_table_creation": not create}
    if url.get_backend_name() == "sqlite":
        kw["engine_kwargs"] = {"connect_args": {"timeout": SQLITE_BUSY_S}}
    else:  # a server restarted between two calls leaves dead pooled connections; SQLAlchemy's ping replaces them
        kw["engine_kwargs"] = {"pool_pre_ping": True}
    if url.get_backend_name() == "postgresql" and url.get_driver_name() in ("psycopg2", "psycopg"):
        kw["engine_kwargs"]["connect_args"] = {"connect_timeout": 20}  # an unreachable host must not hang
    if heartbeat:
        from optuna.storages import RetryHeartbeatStaleTrialCallback

        interval = heartbeat_interval()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            retry = RetryHeartbeatStaleTrialCallback(max_retry=1)
        kw.update(heartbeat_interval=interval, grace_period=3 * interval,
                  heartbeat_stale_trial_callback=retry)
    return kw


@contextlib.contextmanager
def _creation_lock(db: Path | None) -> Iterator[None]:
    """Serialise Optuna's table creation on one SQLite file across processes (see the module docs)."""
    if db is None:
        yield
        return
    with file_lock(os.path.abspath(db) + ".metaopt.lock"):  # the warm start's lock file, re-entrant in a thread
        yield


@contextlib.contextmanager
def storage_failures(run: Any) -> Iterator[None]:
    """A storage that fails during ``run`` (its database server stopped, unreachable or refusing writes, a
    SQLite file locked too long) ends it with one :class:`StorageError` that says what is kept and how to go
    on, not with the error Optuna's trial loop raises on the way out (Optuna 5.0 even an
    ``UnboundLocalError``)."""
    try:
        yield
    except StorageError:
        raise
    except Exception as exc:
        fault = database_error(exc) if run.storage is not None else None
        if fault is None:
            raise
        retried = f" (a trial that was running is retried by a run started {3 * heartbeat_interval()} s or more " \
            "after it stopped)" if isinstance(run.storage, optuna.storages.RDBStorage) else ""  # a heartbeat
        kept = (f"the trials finished so far are in study {run.study_name!r}; the same command resumes it once "
                f"the storage answers{retried}") if run.study_name else "nothing of this run was saved"
        raise StorageError(f"storage {storage_label(run.storage)!r} failed during the run "
                           f"({first_line(fault)}): {kept}") from exc


def through_outages(storage: Any, attempt: Callable[[], None], deadline: Callable[[], float | None],
                    interrupted: Callable[[BaseException], bool], notes: list[str],
                    progress: Callable[[], int]) -> None:
    """``attempt()`` (a search), called again after the storage failed during it and answered again within
    :func:`outage_wait` seconds (or the search's ``deadline``, ``time.monotonic()``): a database server
    restarted or failed over does not end a long search.  The trial that was running is failed and
    re-queued by Optuna's heartbeat.  A storage that stays away, or an error that is not the storage's, is
    raised (:func:`storage_failures` words it).

    An outage lasts until a trial finishes again (``progress()``, the trials finished so far): a storage that
    answers reads but fails every write (a full disk, a SQLite file another process keeps locked for writing)
    gets one wait in all, not a new one per failed write."""
    since = resumed_at = said = None  # the outage's first failure; progress() when the search went on; its note
    while True:
        try:
            attempt()
            return
        except Exception as exc:
            fault = storage_fault(exc)
            if fault is None or interrupted(exc):
                raise
            if since is None or progress() != resumed_at:  # a new outage, not the one the search went on after
                since = time.monotonic()
            elif said in notes:
                notes.remove(said)  # the same outage: one note for it
            end = since + outage_wait()
            if not _answers_again(storage, end if deadline() is None else min(end, deadline())):
                raise
            resumed_at = progress()
            said = (f"storage {storage_label(storage)!r} failed during the search ({first_line(fault)}); it "
                    f"answered again {time.monotonic() - since:.0f} s later and the search went on")
            notes.append(said)


def outage_wait() -> float:
    """Seconds a search waits for a failed storage to answer again (``METAOPT_STORAGE_WAIT_S`` overrides)."""
    raw = os.environ.get("METAOPT_STORAGE_WAIT_S", "").strip()
    try:
        return max(0.0, float(raw)) if raw else STORAGE_WAIT_S
    except ValueError:
        raise StorageError(f"METAOPT_STORAGE_WAIT_S must be a number of seconds >= 0, got {raw!r}") from None


def _answers_again(storage: Any, end: float) -> bool:
    """Poll ``storage`` until it lists its studies (True) or ``end`` (``time.monotonic()``) has passed (False)."""
    pause = 1.0
    while time.monotonic() < end:
        time.sleep(min(pause, max(0.0, end - time.monotonic())))
        try:
            storage.get_all_studies()
            return True
        except Exception:  # noqa: BLE001 - still away: wait longer
            pause = min(2 * pause, 10.0)
    return False


def _open_rdb(url_text: str, label: str, create: bool, heartbeat: bool) -> Any:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    label = mask_url(label)
    try:
        url = make_url(url_text)
    except ArgumentError:
        raise StorageError(f"storage {label!r} is not a valid URL; use a URL such as {_EXAMPLES}") from None
    db = _sqlite_file(url, label, create) if url.get_backend_name() == "sqlite" else None
    if url.get_backend_name() != "sqlite":
        url = _driver_url(url, label)
    kw = _rdb_kwargs(url, create, heartbeat)
    existed = db is not None and db.exists()
    for attempt in range(3):
        try:
            with _creation_lock(db if create else None), warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return OutageProofRDBStorage(url.render_as_string(hide_password=False), **kw)
        except (SQLAlchemyError, optuna.exceptions.OptunaError, RuntimeError, ImportError) as exc:
            text = first_line(exc)
            racing = not isinstance(exc, ImportError) and any(
                s in text.lower() for s in ("already exists", "duplicate key", "unique constraint"))
            if racing and attempt < 2:  # another worker is creating the tables right now
                time.sleep(0.5 * (attempt + 1))
                continue
            if db is not None and not existed and db.is_file() and db.stat().st_size == 0:
                db.unlink()  # leave nothing behind for a refused storage
            raise StorageError(f"cannot open storage {label!r}: {text}; {_hint(text, create)}") from None
    raise AssertionError("unreachable")  # pragma: no cover


def _hint(text: str, create: bool) -> str:
    low = text.lower()
    if "no such table" in low or ("does not exist" in low and "relation" in low):
        return "it holds no Optuna studies" if not create else "is it an Optuna storage?"
    if "optuna storage upgrade" in low or "compatible with the table schema" in low:
        return "upgrade it with `optuna storage upgrade --storage URL` or use another storage"
    if "password" in low or "authentication" in low:
        return "check the user name and password in the URL"
    if "not a database" in low or "malformed" in low:
        return "the file is not a usable SQLite database; give another file name"
    if "database is locked" in low:
        return (f"another process held the SQLite file locked for more than {SQLITE_BUSY_S:.0f} s; try again once "
                f"it is done, or use a database server for many workers")
    return "check that the database server is running and that the URL's host, port, user and database are right"
