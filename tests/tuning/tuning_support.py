"""Helpers shared by the tests in tests/tuning/ (imported by name: ``from tuning_support import ...``).

A uniquely named module, because ``from conftest import ...`` resolves to whichever
conftest pytest imported last when several test folders have one.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from shared_support import shared_data_dir

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "data" / "credit-g.csv"


def corpus_file(name: str) -> Path:
    """A corpus file of the shared data; the test is skipped when the shared data are absent."""
    path = shared_data_dir() / "corpus" / name
    if not path.is_file():
        pytest.skip(f"corpus file {name} not found under {shared_data_dir()} (set METAOPT_SHARED_DATA)")
    return path


def default_sigint() -> None:
    """``preexec_fn``: Ctrl-C as in a terminal.  A test run started in the background without job control
    (``cmd &`` in a script, as CI may be) inherits SIGINT *ignored*, and so would every ``metaopt`` process
    it starts: the Ctrl-C tests then saw a search that never stopped."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_process(cmd: list[str], **env: str) -> subprocess.Popen:
    """A process with one thread for native libraries (as a worker on a shared machine runs)."""
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1", **env}, preexec_fn=default_sigint)


#: ``metaopt tune`` with its imports done first, then waiting for a go file: workers started "together"
#: then reach the storage within milliseconds of each other, as after a shared wait in production
_LAUNCH = ("import os, sys, time\n"
           "import lightgbm, optuna, sklearn.model_selection, metaopt.cli, metaopt.cli._tune, metaopt.tuning\n"
           "open(sys.argv[1] + '.ready-' + str(os.getpid()), 'w').close()\n"
           "while not os.path.exists(sys.argv[1]):\n"
           "    time.sleep(0.002)\n"
           "sys.exit(metaopt.cli.main(sys.argv[2:]))\n")


def start_together(cmds: list[list[str]], go: Path) -> list[subprocess.Popen]:
    """Start ``metaopt tune`` commands so that they reach the storage together (after their imports)."""
    procs = [start_process([sys.executable, "-c", _LAUNCH, str(go), *cmd[3:]]) for cmd in cmds]
    deadline = time.monotonic() + 120
    while len(list(go.parent.glob(go.name + ".ready-*"))) < len(procs):
        assert all(p.poll() is None for p in procs) and time.monotonic() < deadline
        time.sleep(0.01)
    go.touch()
    return procs


def summary_of(proc: subprocess.Popen, timeout: float = 120) -> dict:
    """The ``--json`` summary of a finished ``metaopt tune`` process (which must have succeeded)."""
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err[-2000:]
    return json.loads(out)
