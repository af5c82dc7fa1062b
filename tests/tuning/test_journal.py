"""The journal file backend: a failed append (a full disk, a size limit) leaves the file as it was."""

from __future__ import annotations

import subprocess
import sys

import optuna
from optuna.storages.journal import JournalFileBackend

# runs in its own process: the file-size limit and SIGXFSZ's disposition are the process's
_APPEND_PAST_THE_LIMIT = """
import os, resource, signal, sys
import optuna
from metaopt.tuning._journal import CutBackJournalFile, JournalWriteError

optuna.logging.set_verbosity(optuna.logging.WARNING)
path = sys.argv[1]
study = optuna.create_study(storage=optuna.storages.JournalStorage(CutBackJournalFile(path)), study_name="s")
study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
size = os.path.getsize(path)
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails with EFBIG instead of killing the process
resource.setrlimit(resource.RLIMIT_FSIZE, (size + 200, resource.RLIM_INFINITY))
try:
    study.set_user_attr("big", "x" * 5000)  # 200 bytes fit: a partial line, before the cut-back
except JournalWriteError as exc:
    print("refused", exc.strerror, os.path.getsize(path) - size)
resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
study.set_user_attr("small", 1)
study.set_user_attr("after", 2)
"""


def test_an_append_past_a_size_limit_is_cut_back_and_the_journal_stays_readable(tmp_path):
    """Before (Optuna's own backend): the 200 bytes stayed, the next append joined them into a line that is
    not JSON (its attribute lost), and after one more append loading the study raised JSONDecodeError."""
    path = tmp_path / "study.log"
    proc = subprocess.run([sys.executable, "-c", _APPEND_PAST_THE_LIMIT, str(path)], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["refused", "File", "too", "large", "0"]
    study = optuna.load_study(study_name="s", storage=optuna.storages.JournalStorage(JournalFileBackend(str(path))))
    assert len(study.trials) == 3 and study.user_attrs == {"small": 1, "after": 2}
