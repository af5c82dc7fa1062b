"""The fitted meta-model state on disk: exact round trip, no pickle, failures never raise."""

import json
import os

import numpy as np
import pandas as pd
import pytest

from metaopt.metamodel import FitTimeModel, MetaoptModel, Query
from metaopt.metamodel._persist import (
    cache_dir,
    canonical,
    decode,
    encode,
    entry_path,
    load_entry,
    save_entry,
)
from metaopt.metamodel._trees import TreeEnsemble


@pytest.fixture(scope="module")
def fitted(sm_slice):
    return {"model": MetaoptModel(n_models=2).fit(sm_slice), "fit_time": FitTimeModel().fit(sm_slice)}


def _queries(sm):
    return [Query.from_task(sm, t) for t in sm.task_ids[::5]]


def _same_frame(a, b):
    pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_tree_ensemble_equals_lightgbm_bit_for_bit():
    lgb = pytest.importorskip("lightgbm")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1500, 8))
    X[rng.random(X.shape) < 0.15] = np.nan
    X[:, 2] = np.where(rng.random(1500) < 0.3, 0.0, X[:, 2])
    y = np.nan_to_num(X[:, 0]) + np.nan_to_num(X[:, 2]) + rng.normal(size=1500)
    Q = rng.normal(size=(800, 8))
    Q[rng.random(Q.shape) < 0.2] = np.nan
    Q[::3, 2], Q[::5, 3], Q[::7, 4] = 0.0, -0.0, 1e-40
    for zero_as_missing in (False, True):
        m = lgb.LGBMRegressor(n_estimators=60, num_leaves=15, subsample=0.8, subsample_freq=1,
                              zero_as_missing=zero_as_missing, n_jobs=1, verbose=-1).fit(X, y)
        te = TreeEnsemble(m.booster_.model_to_string())
        assert np.array_equal(te.predict(Q), m.predict(Q))
        assert te.n_trees == 60
    with pytest.raises(ValueError):
        TreeEnsemble(lgb.LGBMClassifier(n_estimators=2, verbose=-1).fit(X[:, :1].clip(0), y > 0)
                     .booster_.model_to_string())


def test_round_trip_is_exact(fitted, sm_slice):
    state, tree, arrays = canonical(fitted)
    json.dumps(tree)  # JSON all the way
    assert all(isinstance(a, np.ndarray) and a.dtype != object for a in arrays.values())
    again = decode(json.loads(json.dumps(tree)), arrays)
    for s in (state, again):
        sm = s["model"].sm_
        for name in ("norm", "raw", "fit_time", "n_train_rows", "tasks", "meta", "configs"):
            _same_frame(getattr(sm, name), getattr(sm_slice, name))
        pd.testing.assert_series_equal(sm.metric, sm_slice.metric, check_exact=True)
        assert sm.pool == sm_slice.pool and sm.method == sm_slice.method
        # one ScoreMatrix shared by every part, as when fitted
        assert s["model"].nn_.sm_ is sm and s["model"].surrogate_.sm_ is sm
    orig = fitted["model"]
    for q in _queries(sm_slice):
        for model in (state["model"], again["model"]):
            assert model.rank(q, 10) == orig.rank(q, 10)
            for a, b in zip(model.predict(q), orig.predict(q)):
                assert np.array_equal(a.to_numpy(), b.to_numpy(), equal_nan=True)
        ps, pa = state["model"].predict(q), again["model"].predict(q)
        assert all(x.equals(y) for x, y in zip(ps, pa))
    keys = list(sm_slice.configs.index[:5])
    assert state["fit_time"].predict(keys, 1000, 10, 2).equals(fitted["fit_time"].predict(keys, 1000, 10, 2))


def test_entry_save_load_and_failures(fitted, tmp_path):
    key = {"what": "test", "kb_files": [["a.parquet", "0" * 64]]}
    path = entry_path(key, prefix="test")
    assert path.parent == cache_dir() == tmp_path / "metaopt-cache"
    _, tree, arrays = canonical(fitted)
    assert save_entry(path, key, tree, arrays)
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary left
    got = load_entry(path, key)
    q = _queries(fitted["model"].sm_)[0]
    assert got["model"].rank(q, 5) == fitted["model"].rank(q, 5)
    with np.load(path, allow_pickle=False) as npz:  # readable without pickle
        assert len(npz.files) > 1
    assert load_entry(path, {**key, "what": "other"}) is None      # stale key
    assert load_entry(tmp_path / "missing.npz", key) is None
    path.write_bytes(path.read_bytes()[: 5000])                      # truncated
    assert load_entry(path, key) is None
    path.write_bytes(b"not a zip file")
    assert load_entry(path, key) is None
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert not save_entry(blocker / "sub" / "e.npz", key, tree, arrays)  # unwritable: skipped, no error


def test_cached_entries_are_keyed_by_content(fitted, monkeypatch):
    """``cache_key`` adds the format and the code's content; another key or another code misses."""
    import metaopt.metamodel._persist as persist
    from metaopt.metamodel import cache_key, load_cached, save_cached

    key = cache_key("test", kb_files=[["a.parquet", "0" * 64]])
    assert key["format"] == persist.FORMAT and key["code"] == persist.code_fingerprint()
    _, tree, arrays = canonical(fitted)
    assert save_cached(key, tree, arrays)
    q = _queries(fitted["model"].sm_)[0]
    assert load_cached(key)["model"].rank(q, 5) == fitted["model"].rank(q, 5)
    assert load_cached(cache_key("test", kb_files=[["a.parquet", "1" * 64]])) is None
    monkeypatch.setattr(persist, "_fingerprint", "other code")
    assert load_cached(cache_key("test", kb_files=[["a.parquet", "0" * 64]])) is None


def test_encode_refuses_foreign_objects():
    with pytest.raises(TypeError):
        encode({"x": object()})
    with pytest.raises(TypeError):
        encode({"x": np.array([object()], dtype=object)})


def test_cache_dir_resolution(monkeypatch, tmp_path):
    monkeypatch.setenv("METAOPT_CACHE_DIR", str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c"
    monkeypatch.delenv("METAOPT_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "metaopt"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "metaopt"
    assert not os.path.exists(tmp_path / "home")  # resolving creates nothing


def test_code_fingerprint_is_keyed_by_every_module_content(tmp_path):
    """Any module's content or location changes the key: none is left out by a hard-coded path list."""
    import shutil
    from pathlib import Path

    from metaopt.metamodel._persist import code_fingerprint

    pkg = Path(code_fingerprint.__code__.co_filename).resolve().parent.parent
    copy = tmp_path / "metaopt"
    shutil.copytree(pkg, copy, ignore=shutil.ignore_patterns("__pycache__"))
    base = code_fingerprint(copy)
    assert code_fingerprint(copy) == base and code_fingerprint() == code_fingerprint(pkg)
    # a module outside the metamodel package (the KB builder, the learners) changes the fitted state too
    for rel in ("kb/_builder.py", "learners/_lightgbm.py", "metamodel/_surrogate.py"):
        f = copy / rel
        original = f.read_bytes()
        f.write_bytes(original + b"\n# changed\n")
        assert code_fingerprint(copy) != base, rel
        f.write_bytes(original)
    assert code_fingerprint(copy) == base
    # moving a module to another package keeps it in the key (and changes the key)
    (copy / "metamodel" / "_surrogate.py").rename(copy / "kb" / "_surrogate.py")
    moved = code_fingerprint(copy)
    assert moved != base
    (copy / "kb" / "_surrogate.py").write_text("changed")
    assert code_fingerprint(copy) != moved
