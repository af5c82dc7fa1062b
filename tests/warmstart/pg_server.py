"""A throw-away PostgreSQL server on loopback for the distributed-tuning tests.

``PostgresServer.start()`` runs ``initdb`` into a fresh temporary directory and
starts ``postgres`` on a free port of 127.0.0.1 (trust authentication, fsync
off); ``stop()`` shuts it down and deletes the directory.  initdb refuses to run
as root, so under root both run as an unprivileged user (``postgres`` when it
exists, else ``nobody``) through ``os.setgid``/``os.setuid`` in the child, with
the directory owned by that user.  ``find_binaries()`` looks on PATH, in
/usr/local/bin and in /usr/lib/postgresql/*/bin (Debian's ``apt-get install
postgresql``).  Every reason it cannot work is raised as ``PostgresUnavailable``
with a message the tests use as their skip reason.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


class PostgresUnavailable(RuntimeError):
    pass


def find_binaries() -> Path:
    for cand in [shutil.which("initdb"), "/usr/local/bin/initdb",
                 *sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True),
                 *sorted(glob.glob("/usr/local/pgsql*/bin/initdb"), reverse=True)]:
        if cand and os.access(cand, os.X_OK):
            bindir = Path(cand).resolve().parent
            if (bindir / "postgres").exists():
                return bindir
    raise PostgresUnavailable("PostgreSQL server binaries (initdb, postgres) not found; install them with "
                              "`apt-get install postgresql`")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _unprivileged() -> tuple[int, int] | None:
    """(uid, gid) to run the server as, or None when we are not root."""
    if os.geteuid() != 0:
        return None
    import pwd

    for name in ("postgres", "nobody"):
        try:
            pw = pwd.getpwnam(name)
        except KeyError:
            continue
        return pw.pw_uid, pw.pw_gid
    raise PostgresUnavailable("running as root and no unprivileged user (postgres, nobody) to run initdb as")


class PostgresServer:
    def __init__(self) -> None:
        self.bindir = find_binaries()
        self.port = _free_port()
        self.dir: str | None = None
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/postgres"

    def _preexec(self):
        ids = _unprivileged()
        if ids is None:
            return None
        uid, gid = ids

        def drop() -> None:
            os.setgid(gid)
            os.setgroups([])
            os.setuid(uid)

        return drop

    def start(self, timeout: float = 60.0) -> PostgresServer:
        try:
            import psycopg2  # noqa: F401
        except ImportError:
            raise PostgresUnavailable("psycopg2 is not installed (pip install psycopg2-binary)") from None
        self.dir = tempfile.mkdtemp(prefix="metaopt-pg-")
        ids = _unprivileged()
        if ids is not None:
            os.chown(self.dir, *ids)
        os.chmod(self.dir, 0o700)
        data = os.path.join(self.dir, "data")
        env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
        res = subprocess.run([str(self.bindir / "initdb"), "-D", data, "-U", "postgres", "--auth=trust",
                              "-E", "UTF8", "--no-sync"], capture_output=True, text=True, env=env,
                             preexec_fn=self._preexec(), cwd=self.dir, timeout=timeout)
        if res.returncode != 0:
            self.stop()
            raise PostgresUnavailable(f"initdb failed: {(res.stderr or res.stdout).strip()[-500:]}")
        return self._launch(timeout)

    def restart(self, down_s: float = 0.0, timeout: float = 60.0) -> PostgresServer:
        """Shut the server down and start it again ``down_s`` seconds later on the same port and data (a
        restart for maintenance): the clients' pooled connections are then dead."""
        self.pause()
        time.sleep(down_s)
        return self.resume(timeout)

    def pause(self) -> None:
        """Shut the server down, keeping its data for :meth:`resume`."""
        self.proc.send_signal(2)  # SIGINT: fast shutdown
        self.proc.wait(20)

    def resume(self, timeout: float = 60.0) -> PostgresServer:
        return self._launch(timeout)

    def read_only(self, on: bool = True) -> None:
        """Refuse (or take again) writes in every session, open ones included, as a standby does that a
        fail-over reached before its promotion."""
        import psycopg2

        conn = psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres")
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f"ALTER SYSTEM SET default_transaction_read_only = {'on' if on else 'off'}")
            cur.execute("SELECT pg_reload_conf()")
        conn.close()

    def _launch(self, timeout: float) -> PostgresServer:
        data = os.path.join(self.dir, "data")
        env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
        log = open(os.path.join(self.dir, "server.log"), "a")
        self.proc = subprocess.Popen(
            [str(self.bindir / "postgres"), "-D", data, "-p", str(self.port), "-h", "127.0.0.1",
             "-k", self.dir, "-c", "fsync=off", "-c", "synchronous_commit=off",
             "-c", "full_page_writes=off", "-c", "max_connections=200"],
            stdout=log, stderr=subprocess.STDOUT, env=env, preexec_fn=self._preexec(), cwd=self.dir)
        log.close()
        import psycopg2

        deadline = time.time() + timeout
        while True:
            if self.proc.poll() is not None:
                text = Path(self.dir, "server.log").read_text()[-800:]
                self.stop()
                raise PostgresUnavailable(f"postgres exited at start-up: {text}")
            try:
                psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres").close()
                return self
            except psycopg2.OperationalError:
                if time.time() > deadline:
                    self.stop()
                    raise PostgresUnavailable("postgres did not accept connections in time") from None
                time.sleep(0.2)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(2)  # SIGINT: fast shutdown
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
