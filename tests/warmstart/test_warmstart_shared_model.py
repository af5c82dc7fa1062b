"""One owner of fitted meta-models: recommend, the warm start and MetaSampler share one fit; the fit is announced."""

from __future__ import annotations

import logging
import re
import subprocess
import sys

import numpy as np
import optuna
import pandas as pd
import pytest
from warmstart_support import CREDIT_G, REPO, worker_env

import metaopt.recommender._cache as _cache
from metaopt.recommender import (Recommender, fit_allowance, fit_seconds, get_recommender, peek_recommender,
                                 shared_surrogate)
from metaopt.kb import KnowledgeBase
from metaopt.metamodel import Surrogate
from metaopt.warmstart import MetaSampler, default_surrogate, get_recommendations

optuna.logging.set_verbosity(optuna.logging.WARNING)

RECS = [{"config_id": "a", "params": {"learning_rate": 0.05, "num_leaves": 31}},
        {"config_id": "b", "params": {"learning_rate": 0.02, "num_leaves": 100}}]


def _slice(per_kind: int) -> KnowledgeBase:
    """``per_kind`` TabRepo tasks of each kind with their LightGBM evaluations (a small, real KB)."""
    full = KnowledgeBase.load()
    t = full.tasks[full.tasks["source"] == "tabrepo"].sort_values("task_id").groupby("kind").head(per_kind)
    e = full.evaluations[full.evaluations["task_id"].isin(t["task_id"]) & (full.evaluations["learner"] == "lightgbm")]
    return KnowledgeBase.from_frames(t, full.configs[full.configs["learner"] == "lightgbm"], e)


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return _slice(8)


@pytest.fixture(scope="module")
def kb_dir(kb, tmp_path_factory):
    path = tmp_path_factory.mktemp("kb")
    kb.save(path)
    return path


def _binary_task(rec: Recommender) -> dict[str, float]:
    """The meta-features of a binary KB task."""
    tid = rec.sm.tasks.index[rec.sm.tasks["kind"] == "binary"][0]
    return {k: float(v) for k, v in rec.sm.meta.loc[tid].dropna().items()}


def _cheap(trial):
    lr = trial.suggest_float("learning_rate", 0.005, 0.3, log=True)
    nl = trial.suggest_int("num_leaves", 4, 256, log=True)
    mcs = trial.suggest_int("min_child_samples", 2, 100, log=True)
    return -(np.log(lr) - np.log(0.03)) ** 2 - (np.log(nl) - np.log(60)) ** 2 - 0.01 * mcs


def _no_fit(*args, **kwargs):
    raise AssertionError("a second meta-model fit")


def _search_without_a_fit(monkeypatch, rec: Recommender, kb, n_trials: int) -> tuple[MetaSampler, optuna.Study]:
    """A MetaSampler given its recommendations (as ``tune`` builds it) searching ``n_trials``, where any
    meta-model fit or a 'no surrogate' warning fails the test."""
    monkeypatch.setattr(Surrogate, "fit", _no_fit)
    sampler = MetaSampler(kind="binary", meta_features=_binary_task(rec), recommendations=RECS, kb=kb, seed=0)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    with _no_warning("no surrogate"):
        study.optimize(_cheap, n_trials=n_trials)
    return sampler, study


def test_sampler_uses_the_recommenders_surrogate(kb_dir, monkeypatch):
    rec = get_recommender(kb_dir, "lightgbm")
    sampler, _ = _search_without_a_fit(monkeypatch, rec, kb_dir, 8)
    assert sampler.surrogate.model is rec.model.surrogate_
    assert 0 < sampler.last_weight < 1  # the surrogate ranked the candidates


def test_the_auto_recommender_serves_its_learners(kb, monkeypatch):
    own = KnowledgeBase.from_frames(kb.tasks, kb.configs, kb.evaluations)  # not fitted in this process yet
    auto = get_recommender(own, "auto")
    assert auto.learners == ["lightgbm"]
    monkeypatch.setattr(Surrogate, "fit", _no_fit)
    assert default_surrogate("binary", "lightgbm", own).model is auto.model.surrogate_


def test_warm_start_without_data_ranks_with_the_shared_model(kb, monkeypatch):
    rec = get_recommender(kb, "lightgbm")
    meta = _binary_task(rec)
    import metaopt.metamodel

    monkeypatch.setattr(metaopt.metamodel, "build_score_matrix", _no_fit)  # nothing is fitted again
    configs = get_recommendations(kind="binary", meta_features=meta, learner="lightgbm", k=4, kb=kb)
    expected = rec.recommend("binary", meta, int(meta["NumberOfInstances"]), int(meta["NumberOfFeatures"]),
                             int(meta.get("NumberOfClasses", 2)), 4)
    assert [c.config_id for c in configs] == [r.config_id for r in expected]
    assert [c.params for c in configs] == [r.params for r in expected]


def test_a_fit_is_announced_once_with_an_estimate(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("METAOPT_CACHE_DIR", str(tmp_path / "cache"))
    small = _slice(4)
    path = tmp_path / "kb"
    small.save(path)
    with caplog.at_level(logging.INFO, logger="metaopt"):
        get_recommender(path, "lightgbm")
        first = [r.getMessage() for r in caplog.records if "meta-model" in r.getMessage()]
        caplog.clear()
        _cache._CACHE.clear()  # as in a new process: the disk cache has it
        get_recommender(path, "lightgbm")
        again = [r.getMessage() for r in caplog.records if "meta-model" in r.getMessage()]
    assert len(first) == 1 and re.fullmatch(
        r"fitting the meta-model of lightgbm once \(about \d+ s\); cached for later runs", first[0]), first
    assert again == []
    # the estimate grows with what is fitted
    assert fit_seconds(small, "lightgbm") < fit_seconds(KnowledgeBase.load(), "lightgbm")


def test_a_fit_longer_than_the_allowance_is_quick_and_stays_in_the_process(tmp_path, monkeypatch, caplog):
    """Under fit_allowance a fit estimated to take longer is the quick one (no surrogate), fitted once, never
    stored; a call without an allowance then fits the full one, which is preferred from then on."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("METAOPT_CACHE_DIR", str(cache))
    monkeypatch.setattr(_cache, "_CACHE", {})  # as in a new process (an earlier test fitted this KB's content)
    path = tmp_path / "kb"
    _slice(4).save(path)
    with fit_allowance(lambda: 0.0), caplog.at_level(logging.INFO, logger="metaopt"):
        quick = get_recommender(path, "lightgbm")
        assert get_recommender(path, "lightgbm") is quick  # one quick fit per process
    assert quick.quick and quick.model.surrogate_ is None
    said, = [r.getMessage() for r in caplog.records if "meta-model" in r.getMessage()]
    assert said.startswith("the meta-model of lightgbm needs about ")  # 1 s, 2 s where LightGBM is not imported yet
    assert said.endswith(" s to fit, more than the time budget allows: fitting it without its surrogate for this "
                         "run (`metaopt kb prefit` fits and caches the full one once)")
    assert peek_recommender(path, "lightgbm") is quick
    assert shared_surrogate(path, "lightgbm") is None and default_surrogate("binary", "lightgbm", path) is None
    assert not cache.exists() or not any(cache.iterdir())  # never written to disk
    meta = _binary_task(quick)
    size = (int(meta["NumberOfInstances"]), int(meta["NumberOfFeatures"]), 2)
    assert len(quick.recommend("binary", meta, *size, k=5)) == 5

    full = get_recommender(path, "lightgbm")  # no allowance: the full fit, on disk for later processes
    assert not full.quick and isinstance(full.model.surrogate_, Surrogate) and any(cache.iterdir())
    assert peek_recommender(path, "lightgbm") is full
    with fit_allowance(lambda: 0.0):
        assert get_recommender(path, "lightgbm") is full  # a fitted full one is always taken
    # the quick model is the full one without its surrogate: the same candidates, ranked by the neighbours
    assert {r.config_id for r in quick.recommend("binary", meta, *size, k=50)} == \
        {r.config_id for r in full.recommend("binary", meta, *size, k=50)}
    fresh = KnowledgeBase.load(path)
    with fit_allowance(lambda: 1e6):  # an allowance the estimate fits in: the full fit
        assert not get_recommender(fresh, "lightgbm").quick


def test_a_sampler_after_a_quick_fit_neither_fits_nor_warns(tmp_path, monkeypatch):
    """A MetaSampler after a quick fit takes no surrogate, outside the allowance too: no full fit mid-search,
    no 'no surrogate' warning."""
    monkeypatch.setenv("METAOPT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(_cache, "_CACHE", {})
    path = tmp_path / "kb"
    _slice(4).save(path)
    with fit_allowance(lambda: 0.0):
        quick = get_recommender(path, "lightgbm")
    sampler, study = _search_without_a_fit(monkeypatch, quick, path, 10)
    assert sampler.surrogate is None and len(study.trials) == 10
    assert peek_recommender(path, "lightgbm") is quick


def test_cli_says_what_it_tunes_and_that_it_fits_before_the_search(kb_dir, tmp_path):
    data = tmp_path / "credit.csv"
    df = pd.read_csv(CREDIT_G)
    df.groupby("class", group_keys=False).sample(n=60, random_state=0).to_csv(data, index=False)
    env = {**worker_env(), "METAOPT_KB": str(kb_dir), "METAOPT_CACHE_DIR": str(tmp_path / "cache")}
    cmd = [sys.executable, "-m", "metaopt", "tune", str(data), "--trials", "6", "--cv", "2", "--learner",
           "lightgbm"]
    runs = [subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True, timeout=300) for _ in range(2)]
    for run in runs:
        assert run.returncode == 0, run.stderr
    lines = runs[0].stderr.splitlines()
    assert re.fullmatch(r"credit: 120 rows x 20 features, target 'class' \(binary\); learner lightgbm, metric "
                        r"roc_auc, 2-fold CV, sampler meta, 6 trials", lines[0]), lines[:3]
    assert re.fullmatch(r"metaopt: fitting the meta-model of lightgbm once \(about \d+ s\); cached for later runs",
                        lines[1])
    assert "tuning lightgbm" in runs[0].stderr.split(lines[1], 1)[1]  # the progress bar comes after both
    assert runs[1].stderr.splitlines()[0] == lines[0]
    assert "fitting the meta-model" not in runs[1].stderr  # cached by the first run


class _no_warning:
    """Fail if a warning containing ``text`` is issued inside the block."""

    def __init__(self, text: str):
        self.text = text

    def __enter__(self):
        import warnings

        self._cm = warnings.catch_warnings(record=True)
        self._log = self._cm.__enter__()
        warnings.simplefilter("always")
        return self

    def __exit__(self, *exc):
        self._cm.__exit__(*exc)
        bad = [str(w.message) for w in self._log if self.text in str(w.message)]
        assert not bad, bad
        return False
