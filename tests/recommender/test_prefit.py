"""``metaopt kb prefit`` / :func:`metaopt.recommender.prefit`: the full meta-models fitted and cached once, so that
a run with a short time budget ranks with them instead of a quick one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from metaopt import tune
from metaopt.cli import main
from metaopt.exceptions import ConfigError
from metaopt.recommender import _cache, fit_seconds, load_kb_cached, peek_recommender, prefit
from metaopt.tuning._budget import META_FIT_SHARE

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "data" / "credit-g.csv"


def test_a_prefit_in_another_process_gives_a_short_budget_the_full_meta_model(tmp_path, monkeypatch):
    """The counterpart of ``tests/tuning/test_budget.py``'s quick-model test: the same 10 s run on the shipped KB,
    after ``metaopt kb prefit`` in its own process, reads the full meta-model from the disk cache."""
    cache = tmp_path / "metaopt-cache"
    assert fit_seconds(load_kb_cached(), "lightgbm") > 10 * META_FIT_SHARE  # without the prefit: the quick one
    cmd = [sys.executable, "-m", "metaopt", "kb", "prefit", "--learners", "lightgbm"]
    env = {**os.environ, "METAOPT_CACHE_DIR": str(cache)}
    first = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert first.returncode == 0, first.stderr
    assert "meta-model of lightgbm: fitted in" in first.stdout and len(list(cache.iterdir())) == 1
    again = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert "meta-model of lightgbm: cached already" in again.stdout

    monkeypatch.setattr(_cache, "_CACHE", {})  # as in a new process: only the disk cache has it
    df = pd.read_csv(EXAMPLE)
    df = df.groupby("class", group_keys=False).sample(frac=0.3, random_state=0).reset_index(drop=True)
    fits_before = len(_cache.meta_model_fits())
    result = tune(df, target="class", learner="lightgbm", n_trials=5, timeout=10, cv=2, ensemble=False)
    assert _cache.meta_model_fits()[fits_before:] == []  # neither the full nor a quick fit
    assert not any("meta-model" in n for n in result.notes)
    assert peek_recommender(None, "lightgbm").quick is False
    assert result.summary.n_warm_started >= 1 and result.summary.best_score is not None


def test_prefit_fits_each_named_meta_model_once(kb_dir):
    """The API: fitted (seconds) the first time, None (cached) the next, also for a new process's cache."""
    (name, seconds), = prefit(kb_dir, ["lightgbm"])
    assert name == "lightgbm" and seconds > 0
    _cache._CACHE.clear()  # as in a new process
    out = prefit(kb_dir, ["lightgbm", "auto", "lightgbm"])
    assert [n for n, _ in out] == ["lightgbm", "auto"]  # each once
    assert out[0][1] is None and out[1][1] > 0
    assert prefit(kb_dir, "auto") == [("auto", None)]  # one name as a string


def test_prefit_defaults_to_auto_and_every_learner_of_the_kb(kb_dir, capsys):
    assert main(["kb", "prefit", "--path", str(kb_dir)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("meta-model of all learners (auto): fitted in")
    assert out[1].startswith("meta-model of lightgbm: fitted in")  # the small KB's only learner
    assert out[2] == f"cache: {os.environ['METAOPT_CACHE_DIR']}"


@pytest.mark.parametrize("args, says", [
    (["--learners", "xgboost"], "no meta-model of 'xgboost' in this KB: choose among auto, lightgbm"),
    (["--learners", ","], "no learner given: choose among auto, lightgbm"),
])
def test_prefit_of_an_unknown_learner_is_a_one_line_error(kb_dir, capsys, args, says):
    assert main(["kb", "prefit", "--path", str(kb_dir), *args]) == 2
    err = capsys.readouterr().err
    assert says in err and len(err.strip().splitlines()) == 1


def test_prefit_into_an_unwritable_cache_fails_before_fitting(kb_dir, tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("METAOPT_CACHE_DIR", str(blocker))
    fits_before = len(_cache.meta_model_fits())
    with pytest.raises(ConfigError, match="cannot be written: set METAOPT_CACHE_DIR"):
        prefit(kb_dir, ["lightgbm"])
    assert len(_cache.meta_model_fits()) == fits_before
    assert main(["kb", "prefit", "--path", str(tmp_path / "nowhere")]) == 2
    assert "no knowledge base at" in capsys.readouterr().err
