"""Several worker processes on one study: PostgreSQL (a real server), SQLite and JournalStorage.

Each worker is ``examples/distributed_worker.py`` with a real LightGBM objective on credit-g; the
study must end with exactly workers x trials finished trials and each warm-start configuration once.
"""

from __future__ import annotations

import collections
import json
import subprocess
import sys

import optuna
import pytest
from optuna.trial import TrialState

from warmstart_support import CREDIT_G, REPO, worker_env

WORKER = REPO / "examples" / "distributed_worker.py"


def _run_workers(url: str, study_name: str, n_workers: int, n_trials: int, sampler: str, k: int = 5):
    procs = [subprocess.Popen([sys.executable, str(WORKER), "--storage", url, "--study-name", study_name,
                               "--data", str(CREDIT_G), "--target", "class", "--n-trials", str(n_trials),
                               "--k", str(k), "--seed", str(i), "--sampler", sampler],
                              env=worker_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(n_workers)]
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-3000:]


def _check(storage, study_name: str, n_expected: int, k: int = 5):
    study = optuna.load_study(study_name=study_name, storage=storage)
    trials = study.get_trials(deepcopy=False)
    assert len(trials) == n_expected
    assert all(t.state == TrialState.COMPLETE for t in trials)
    assert len({t.number for t in trials}) == n_expected
    record = study.user_attrs["metaopt:warm_start"]
    assert len(record["config_ids"]) == k
    ids = [t.user_attrs["metaopt:config_id"] for t in trials if "metaopt:config_id" in t.user_attrs]
    assert sorted(ids) == sorted(record["config_ids"]), collections.Counter(ids)
    keys = collections.Counter(json.dumps(t.params, sort_keys=True) for t in trials)
    for p in record["params"]:
        assert keys[json.dumps(p, sort_keys=True)] == 1
    assert len({t.user_attrs["worker"] for t in trials}) >= 2
    return study


@pytest.mark.slow
def test_postgres_four_workers(postgres_url):
    _run_workers(postgres_url, "pg-credit-g", n_workers=4, n_trials=10, sampler="meta")
    _check(postgres_url, "pg-credit-g", 40)


def test_sqlite_three_workers(tmp_path):
    url = f"sqlite:///{tmp_path / 'study.db'}"
    _run_workers(url, "sqlite-credit-g", n_workers=3, n_trials=4, sampler="tpe")
    _check(url, "sqlite-credit-g", 12)


def test_journal_three_workers(tmp_path):
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    path = tmp_path / "study.log"
    _run_workers(f"journal:{path}", "journal-credit-g", n_workers=2, n_trials=4, sampler="meta", k=3)
    _check(JournalStorage(JournalFileBackend(str(path))), "journal-credit-g", 8, k=3)


def test_guard_trial_queue_only_wraps_sqlite(tmp_path):
    """SQLite's pop of an enqueued trial is wrapped in the file lock; other storages are left alone."""
    from metaopt.warmstart import guard_trial_queue

    study = optuna.create_study(storage=f"sqlite:///{tmp_path / 's.db'}", study_name="s")
    guard_trial_queue(guard_trial_queue(study))
    assert study._pop_waiting_trial_id._metaopt_guarded
    study.enqueue_trial({"x": 1.0})
    study.enqueue_trial({"x": 2.0})
    study.optimize(lambda t: t.suggest_float("x", 0, 3), n_trials=3)
    assert [t.params["x"] for t in study.trials[:2]] == [1.0, 2.0] and len(study.trials) == 3
    assert (tmp_path / "s.db.metaopt.lock").exists()
    mem = optuna.create_study()
    guard_trial_queue(mem)
    assert not hasattr(mem._pop_waiting_trial_id, "_metaopt_guarded")
