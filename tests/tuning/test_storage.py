"""Storage arguments of ``tune`` / ``metaopt tune``: accepted forms, and every refused one is one
``StorageError`` (exit 2 from the CLI) naming the URL with its password masked, leaving no file behind."""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import sqlite3

import optuna
import pytest

from metaopt import StorageError
from metaopt.cli import main
from metaopt.exceptions import MetaoptError
from metaopt.tuning import tune
from metaopt.tuning._storage import mask_url, open_storage

FAST = dict(target="class", n_trials=1, cv=2, progress=False, warm_start=False, learner="lightgbm", sampler="random")
SECRET = "s3cret-pw"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again on exit: connecting is refused


def _need_missing(*modules: str) -> None:
    if any(importlib.util.find_spec(m) is not None for m in modules):
        pytest.skip(f"a driver of {modules} is installed here")


def _bad_storages(tmp_path):
    """(storage argument, fragment of the message) for every refused kind of storage."""
    (tmp_path / "junk.db").write_bytes(b"PK\x03\x04 this is a zip, not a database" * 10)
    (tmp_path / "notes.txt").write_text("a,b\n1,2\n")
    cases = [
        ("foo://bar", "unknown scheme 'foo'"),
        ("sqlite:////missing/dir/x.db", "directory '/missing/dir' does not exist"),
        ("sqlite:/typo.db", "did you mean sqlite:///typo.db"),
        ("sqlite://typo.db", "three slashes"),
        ("sqlite:///junk.db", "not a SQLite database"),
        ("junk.db", "is not a database"),
        ("notes.txt", "is not a database"),
        ("results", "neither a URL nor a database file"),
        (str(tmp_path), "is a directory"),
    ]
    if importlib.util.find_spec("pg8000") is None:
        cases.append((f"postgresql+pg8000://u:{SECRET}@127.0.0.1:5432/db", "driver 'pg8000' is not installed"))
    if not any(importlib.util.find_spec(m) for m in ("MySQLdb", "pymysql", "mysql")):
        cases.append((f"mysql://u:{SECRET}@127.0.0.1/db", "pip install mysqlclient"))
    if importlib.util.find_spec("psycopg2") is not None:
        cases.append((f"postgresql+psycopg2://u:{SECRET}@127.0.0.1:{_closed_port()}/db", "Connection refused"))
    return cases


def test_refused_storages_raise_storage_error_and_create_nothing(tmp_path, monkeypatch, credit_small):
    monkeypatch.chdir(tmp_path)
    cases = _bad_storages(tmp_path)
    before = sorted(os.listdir(tmp_path))
    for storage, fragment in cases:
        with pytest.raises(StorageError) as info:
            tune(credit_small, storage=storage, **FAST)
        msg = str(info.value)
        assert fragment in msg, (storage, msg)
        assert "\n" not in msg and SECRET not in msg, msg
        assert isinstance(info.value, MetaoptError)
    assert sorted(os.listdir(tmp_path)) == before  # no SQLite file, no lock file
    assert not os.path.exists("/missing")


def test_refused_storages_are_one_line_exit_2_from_the_cli(tmp_path, monkeypatch, capsys, credit_small):
    monkeypatch.chdir(tmp_path)
    credit_small.to_csv("data.csv", index=False)
    cases = _bad_storages(tmp_path)
    before = sorted(os.listdir(tmp_path))
    for storage, fragment in cases:
        rc = main(["tune", "data.csv", "--target", "class", "--trials", "1", "--cv", "2", "--no-warm-start",
                   "--learner", "lightgbm", "--sampler", "random", "-q", "--storage", storage])
        out, err = capsys.readouterr()
        lines = err.strip().splitlines()
        assert rc == 2 and len(lines) == 1, (storage, err)
        assert lines[0].startswith("metaopt: error: ") and fragment in lines[0], (storage, err)
        assert SECRET not in err and "Traceback" not in err
    assert sorted(os.listdir(tmp_path)) == before


def test_password_is_masked():
    assert mask_url(f"postgresql+psycopg2://user:{SECRET}@db:5432/optuna") == \
        "postgresql+psycopg2://user:***@db:5432/optuna"
    assert mask_url("sqlite:////tmp/a:b@c.db") == "sqlite:////tmp/a:b@c.db"
    assert mask_url("postgresql://user@db/optuna") == "postgresql://user@db/optuna"


def test_accepted_forms(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rdb = optuna.storages.RDBStorage
    assert isinstance(open_storage("sqlite:///rel.db"), rdb) and (tmp_path / "rel.db").is_file()
    assert isinstance(open_storage("plain.sqlite3"), rdb) and (tmp_path / "plain.sqlite3").is_file()
    assert isinstance(open_storage(tmp_path / "path.db"), rdb)
    assert isinstance(open_storage("rel.db"), rdb)  # an existing SQLite file by path
    journal = open_storage("journal://study.log")
    assert isinstance(journal, optuna.storages.JournalStorage)
    optuna.create_study(storage=journal, study_name="j")
    assert isinstance(open_storage("study.log"), optuna.storages.JournalStorage)  # sniffed, not by suffix
    mem = optuna.storages.InMemoryStorage()
    assert open_storage(mem) is mem and open_storage(None) is None
    # heartbeat for tune: a dead worker's trial is failed and retried once (Optuna's own mechanism)
    hb = open_storage("sqlite:///hb.db", heartbeat=True)
    assert hb.heartbeat_interval == 10 and hb.grace_period == 30
    assert isinstance(hb.heartbeat_stale_trial_callback, optuna.storages.RetryHeartbeatStaleTrialCallback)


def test_a_journal_url_with_four_slashes_is_an_absolute_path_like_sqlites(tmp_path, credit_small):
    """journal:////abs/x.log, spelled as SQLite's absolute URLs are (before: a traceback from Optuna's artifact
    store, "Invalid artifact_id", when the first out-of-fold predictions were saved next to the file)."""
    log = tmp_path / "study.log"
    url = f"journal:///{log}"
    assert url.startswith("journal:////")
    result = tune(credit_small, storage=url, study_name="j", **{**FAST, "n_trials": 3})
    assert log.is_file() and len(optuna.load_study(study_name="j", storage=open_storage(url)).trials) == 3
    assert result.summary.storage == f"journal://{log}"
    assert any((tmp_path / "study.log.metaopt-oof").iterdir())


def test_open_existing_only_creates_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for storage in ("sqlite:///missing.db", "missing.db", "journal://missing.log"):
        with pytest.raises(StorageError, match="no such"):
            open_storage(storage, create=False)
    sqlite3.connect("other.db").execute("CREATE TABLE t (x INTEGER)").connection.commit()
    with pytest.raises(StorageError, match="no Optuna studies"):
        open_storage("sqlite:///other.db", create=False)
    assert sorted(os.listdir(tmp_path)) == ["other.db"]


def test_sqlalchemy_default_driver_missing_falls_back_to_an_installed_one():
    """SQLAlchemy 2.1's default for postgresql:// is psycopg 3; metaopt[postgres] installs psycopg2."""
    if importlib.util.find_spec("psycopg2") is None or importlib.util.find_spec("psycopg") is not None:
        pytest.skip("needs psycopg2 installed and psycopg (3) absent")
    with pytest.raises(StorageError, match="Connection refused") as info:
        open_storage(f"postgresql://u:{SECRET}@127.0.0.1:{_closed_port()}/db")
    assert "postgresql://u:***@" in str(info.value)


def test_a_restarted_database_server_is_reconnected(own_postgres):
    """The pooled connections die with the server; the storage's next call must not fail (Optuna's own
    ``RDBStorage`` without a pre-ping raises there)."""
    storage = open_storage(own_postgres.url, heartbeat=True)
    optuna.create_study(storage=storage, study_name="before")
    own_postgres.restart()
    assert [s.study_name for s in storage.get_all_studies()] == ["before"]
    bare = optuna.storages.RDBStorage(own_postgres.url)
    bare.get_all_studies()
    own_postgres.restart()
    with pytest.raises(optuna.exceptions.StorageInternalError):
        bare.get_all_studies()  # what the pre-ping spares a long search


def test_a_heartbeat_the_database_cannot_take_is_skipped(own_postgres):
    """Optuna's heartbeat thread would end at the failed write, and the still-running trial be failed by
    another worker after the grace period."""
    storage = open_storage(own_postgres.url, heartbeat=True)
    with pytest.warns(UserWarning, match="Heartbeat of storage is supposed to be used with Study.optimize"):
        trial = optuna.create_study(storage=storage, study_name="beat").ask()  # a trial as optimize starts it
    storage.record_heartbeat(trial._trial_id)
    own_postgres.pause()
    storage.record_heartbeat(trial._trial_id)  # skipped: no error
    with pytest.raises(optuna.exceptions.StorageInternalError):
        storage.get_all_studies()  # the database is down indeed
    own_postgres.resume()
    storage.record_heartbeat(trial._trial_id)
    assert storage.get_trial(trial._trial_id).state == optuna.trial.TrialState.RUNNING


def _wait_for_trials(proc, url: str, name: str, n: int) -> None:
    """Until study ``name`` holds ``n`` complete trials (or the run ended, or 4 minutes passed)."""
    import time

    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.3)
        try:
            done = optuna.load_study(study_name=name, storage=url).get_trials(
                deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
        except Exception:  # noqa: BLE001 - not created yet, or this call raced the run creating the tables
            continue
        if len(done) >= n:
            return


def _tune_in_background(tmp_path, credit_small, url: str, study: str, *options: str, **env: str):
    """``metaopt tune`` of LightGBM on ``credit_small`` into study ``study`` of ``url``, started, not awaited;
    ``env``: environment variables on top of this process's."""
    import subprocess
    import sys

    credit_small.to_csv(tmp_path / "credit.csv", index=False)
    cmd = [sys.executable, "-m", "metaopt", "tune", str(tmp_path / "credit.csv"), "--target", "class", "--learner",
           "lightgbm", "--storage", url, "--study-name", study, "--no-ensemble", *options]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **env})


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_database_restarted_during_the_search_is_waited_for_and_nothing_is_lost(own_postgres, tmp_path,
                                                                                  credit_small, jobs):
    """The server goes away for a few seconds mid-search: the run waits, goes on and finishes its trials; the
    trial that was running when it went is failed by the heartbeat and re-queued once."""
    proc = _tune_in_background(tmp_path, credit_small, own_postgres.url, "restart", "--trials", "16", "--jobs", jobs,
                               "--json", METAOPT_HEARTBEAT_S="1")  # stale after 3 s: retried in this run
    try:
        _wait_for_trials(proc, own_postgres.url, "restart", 3)
        own_postgres.restart(down_s=3)
        out, err = proc.communicate(timeout=300)
    finally:
        proc.kill()
    assert proc.returncode == 0, err[-3000:]
    assert "Traceback" not in err, err[-3000:]
    summary = json.loads(out)
    said = [n for n in summary["notes"] if "failed during the search" in n]
    assert len(said) == 1 and "it answered again" in said[0] and "the search went on" in said[0], summary["notes"]
    study = optuna.load_study(study_name="restart", storage=own_postgres.url)
    finished = [t for t in study.trials if t.state.name in ("COMPLETE", "PRUNED")]
    assert len(finished) == 16  # every trial asked for ran
    lost = [t for t in study.trials if t.state.name == "FAIL"]
    retried = [t for t in study.trials if t.system_attrs.get("failed_trial") in {x.number for x in lost}]
    assert len(lost) <= int(jobs) and len(retried) == len(lost), [(t.number, t.state.name) for t in study.trials]


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_database_server_that_stops_during_the_run_ends_it_in_one_line(own_postgres, tmp_path, credit_small, jobs):
    """In every process: a forked worker that meets the dead database exits without a traceback."""
    proc = _tune_in_background(tmp_path, credit_small, own_postgres.url, "drop", "--timeout", "300", "--jobs", jobs,
                               METAOPT_STORAGE_WAIT_S="3")  # then the search gives up waiting for it
    try:
        _wait_for_trials(proc, own_postgres.url, "drop", 2)
        own_postgres.stop()  # mid-search: the database is gone
        out, err = proc.communicate(timeout=240)
    finally:
        proc.kill()
    assert proc.returncode == 2, err[-2000:]
    assert "Traceback" not in err, err[-3000:]
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"metaopt: error: storage '{own_postgres.url}' failed during the run (") and (
        "the trials finished so far are in study 'drop'; the same command resumes it once the storage answers" in last)


_HOLD_LOCK = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute({"write": "BEGIN EXCLUSIVE", "reserve": "BEGIN IMMEDIATE", "read": "BEGIN"}[sys.argv[2]])
db.execute("SELECT count(*) FROM trials").fetchone()  # a reader's transaction holds a shared lock from here
print("locked", flush=True)
time.sleep(float(sys.argv[3]))
db.execute("COMMIT")
"""


def _hold_sqlite_lock(db, mode: str, seconds: float):
    """Another process holding ``db`` locked (``"write"``: as a writer; ``"reserve"``: reserved for writing,
    so that others can read but not write; ``"read"``: as a reader with an open transaction, e.g. a
    dashboard), returned once the lock is taken."""
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", _HOLD_LOCK, str(db), mode, str(seconds)], stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def _sqlite_tune(tmp_path, credit_small, study: str, trials: int):
    return _tune_in_background(tmp_path, credit_small, f"sqlite:///{tmp_path / 'study.db'}", study, "--trials",
                               str(trials), "--sampler", "random", "--no-warm-start", "--json")


def _finished(tmp_path, study: str) -> list[str]:
    trials = optuna.load_study(study_name=study, storage=f"sqlite:///{tmp_path / 'study.db'}").trials
    return [t.state.name for t in trials]


def test_a_sqlite_file_locked_by_another_process_at_the_start_is_waited_for(tmp_path, credit_small):
    """Several processes starting on one SQLite file at once (Optuna issue #820), or another writer, hold it for
    seconds: the run waits for it, longer than SQLite's default 5 s."""
    optuna.create_study(study_name="other", storage=f"sqlite:///{tmp_path / 'study.db'}")
    holder = _hold_sqlite_lock(tmp_path / "study.db", "write", 8)
    proc = _sqlite_tune(tmp_path, credit_small, "locked", 3)
    out, err = proc.communicate(timeout=300)
    holder.wait(timeout=60)
    assert proc.returncode == 0, err[-2000:]
    assert _finished(tmp_path, "locked") == ["COMPLETE"] * 3


def test_a_reader_holding_the_sqlite_file_mid_search_loses_no_trial(tmp_path, credit_small):
    """A reader with a long open transaction (optuna-dashboard on a big study) mid-search: each write waits for it,
    no trial fails and the search ends with every trial asked for."""
    proc = _sqlite_tune(tmp_path, credit_small, "read", 12)
    try:
        _wait_for_trials(proc, f"sqlite:///{tmp_path / 'study.db'}", "read", 3)
        holder = _hold_sqlite_lock(tmp_path / "study.db", "read", 8)
        assert proc.poll() is None, "the search ended before the lock was taken"
        out, err = proc.communicate(timeout=300)
        holder.wait(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, err[-2000:]
    states = _finished(tmp_path, "read")
    assert len(states) == 12 and set(states) <= {"COMPLETE", "PRUNED"}, states
    assert not [n for n in json.loads(out)["notes"] if "failed during the search" in n]


def test_a_sqlite_file_locked_too_long_is_one_storage_error_that_says_so(tmp_path, credit_small, monkeypatch):
    from metaopt.tuning import _storage

    monkeypatch.setattr(_storage, "SQLITE_BUSY_S", 1.0)  # the real wait is a minute
    optuna.create_study(study_name="other", storage=f"sqlite:///{tmp_path / 'study.db'}")
    holder = _hold_sqlite_lock(tmp_path / "study.db", "write", 6)
    with pytest.raises(StorageError, match="another process held the SQLite file locked for more than 1 s"):
        tune(credit_small, storage=f"sqlite:///{tmp_path / 'study.db'}", study_name="late", **FAST)
    holder.wait(timeout=60)
    assert optuna.study.get_all_study_names(f"sqlite:///{tmp_path / 'study.db'}") == ["other"]


_TUNE_ON_SQLITE = """
import sys
import pandas as pd
from metaopt.tuning import _storage, tune
_storage.SQLITE_BUSY_S = 1.0  # each write gives up after 1 s instead of a minute
try:
    tune(pd.read_csv(sys.argv[1]), target="class", n_trials=200, cv=2, progress=False, warm_start=False,
         learner="lightgbm", sampler="random", storage=sys.argv[2], study_name="held", ensemble=False)
except _storage.StorageError as exc:
    print("StorageError:", exc)
"""


def test_a_storage_that_reads_but_never_writes_gets_one_wait_not_one_per_write(tmp_path, credit_small):
    """Another process keeps the SQLite file reserved for writing (reads still work, as on a full disk): before,
    each failed write was a new outage whose poll (a read) succeeded, so a search without a time budget retried
    for as long as the lock stayed; now the outage's wait (METAOPT_STORAGE_WAIT_S) holds for all of them."""
    import subprocess
    import sys

    credit_small.to_csv(tmp_path / "credit.csv", index=False)
    url = f"sqlite:///{tmp_path / 'study.db'}"
    env = {**os.environ, "METAOPT_STORAGE_WAIT_S": "4"}
    proc = subprocess.Popen([sys.executable, "-c", _TUNE_ON_SQLITE, str(tmp_path / "credit.csv"), url],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    holder = None
    try:
        _wait_for_trials(proc, url, "held", 3)
        holder = _hold_sqlite_lock(tmp_path / "study.db", "reserve", 600)
        assert proc.poll() is None, "the search ended before the lock was taken"
        out, err = proc.communicate(timeout=120)  # the lock is held for 10 minutes
    finally:
        proc.kill()
        if holder is not None:
            holder.kill()
    assert "StorageError: storage" in out and "failed during the run (database is locked)" in out, (out, err[-2000:])


@pytest.mark.parametrize("back_after_s", [3, None])
def test_a_database_that_refuses_writes_mid_search_is_waited_for_then_one_line(own_postgres, tmp_path, credit_small,
                                                                              back_after_s):
    """A fail-over that reaches a read-only standby: before, a traceback (Optuna's "Should not reach"); now the
    search waits as for an outage, goes on when writes are taken again, and ends in one line if they are not."""
    import time

    proc = _tune_in_background(tmp_path, credit_small, own_postgres.url, "ro", "--trials", "16", "--sampler", "random",
                               "--no-warm-start", "--json", METAOPT_STORAGE_WAIT_S="30" if back_after_s else "3",
                               METAOPT_HEARTBEAT_S="1")
    try:
        _wait_for_trials(proc, own_postgres.url, "ro", 3)
        own_postgres.read_only()
        if back_after_s:
            time.sleep(back_after_s)
            own_postgres.read_only(False)
        out, err = proc.communicate(timeout=240)
    finally:
        proc.kill()
    assert "Traceback" not in err, err[-3000:]
    if back_after_s:
        assert proc.returncode == 0, err[-2000:]
        assert any("read-only transaction" in n and "the search went on" in n for n in json.loads(out)["notes"])
        finished = [t for t in optuna.load_study(study_name="ro", storage=own_postgres.url).trials
                    if t.state.name in ("COMPLETE", "PRUNED")]
        assert len(finished) == 16
    else:
        assert proc.returncode == 2, err[-2000:]
        last = err.strip().splitlines()[-1]
        assert "failed during the run (cannot execute" in last and "read-only transaction" in last, last
        assert "the trials finished so far are in study 'ro'" in last, last


def test_a_journal_file_that_cannot_grow_ends_the_run_in_one_line_and_the_same_command_resumes(tmp_path,
                                                                                               credit_small):
    """A size limit on the files the run writes (as a full disk, but without the wait: the limit does not go
    away). Before: a traceback from the out-of-fold store, and a journal file no reader could parse."""
    import resource
    import signal
    import subprocess
    import sys

    from optuna.storages.journal import JournalFileBackend

    data, log = tmp_path / "credit.csv", tmp_path / "study.log"
    credit_small.to_csv(data, index=False)
    cmd = [sys.executable, "-m", "metaopt", "tune", str(data), "--target", "class", "--storage", f"journal:///{log}",
           "--study-name", "j", "--cv", "2", "--learner", "lightgbm", "--no-warm-start", "--sampler", "random",
           "--quiet", "--trials"]

    def size_limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a killed process
        resource.setrlimit(resource.RLIMIT_FSIZE, (48_000, resource.RLIM_INFINITY))

    proc = subprocess.run([*cmd, "400"], preexec_fn=size_limit, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert proc.stderr.strip().splitlines()[-1].startswith(
        f"metaopt: error: storage 'journal:///{str(log).lstrip('/')}' failed during the run (File too large): "
        "the trials finished so far are in study 'j'")

    def trials():  # read by Optuna's own backend
        storage = optuna.storages.JournalStorage(JournalFileBackend(str(log)))
        return optuna.load_study(study_name="j", storage=storage).trials

    before = trials()
    assert 0 < len(before) < 400
    proc = subprocess.run([*cmd, "3"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    after = trials()
    assert len(after) == len(before) + 3 and [t.params for t in after[:len(before)]] == [t.params for t in before]
    assert sum(t.state == optuna.trial.TrialState.COMPLETE for t in after[len(before):]) >= 2


@pytest.fixture
def small_disk(tmp_path):
    """A 1 MiB tmpfs at ``tmp_path / "disk"`` (needs root in a namespace that may mount; else skipped)."""
    import subprocess

    disk = tmp_path / "disk"
    disk.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)], capture_output=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.decode(errors='replace').strip()[:200]}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)


def test_a_full_disk_under_a_journal_is_waited_for_then_one_line_and_the_same_command_resumes(small_disk,
                                                                                              credit_small):
    """ENOSPC mid-search: a wait (shortened to 3 s), then one line; space freed, the run resumes."""
    import subprocess
    import sys

    data, log, pad = small_disk.parent / "credit.csv", small_disk / "study.log", small_disk / "pad"
    credit_small.to_csv(data, index=False)
    pad.write_bytes(b"\0" * 800_000)
    cmd = [sys.executable, "-m", "metaopt", "tune", str(data), "--target", "class", "--storage", f"journal:///{log}",
           "--study-name", "j", "--cv", "2", "--learner", "lightgbm", "--no-warm-start", "--sampler", "random",
           "--quiet", "--trials"]
    proc = subprocess.run([*cmd, "1000"], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "METAOPT_STORAGE_WAIT_S": "3"})
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert "failed during the run (No space left on device): the trials finished so far are in study 'j'" in \
        proc.stderr.strip().splitlines()[-1]
    before = len(optuna.load_study(study_name="j", storage=open_storage(f"journal:///{log}")).trials)
    pad.unlink()
    proc = subprocess.run([*cmd, "3"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert len(optuna.load_study(study_name="j", storage=open_storage(f"journal:///{log}")).trials) == before + 3
