"""KnowledgeBase store: round trip, validation, damaged files, atomic save, merge, parts."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from kb_support import REPO, _eval_row

from metaopt.exceptions import ConfigError, KnowledgeBaseError
from metaopt.kb import KnowledgeBase, compile_parts
from metaopt.kb import _schema as S


def test_round_trip(tmp_path, small_kb):
    small_kb.save(tmp_path / "kb")
    files = sorted(p.name for p in (tmp_path / "kb").iterdir())
    assert files == ["NOTICE", "configs.parquet", "evaluations.parquet", "manifest.json", "tasks.parquet"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # temp dir cleaned up
    kb = KnowledgeBase.load(tmp_path / "kb")
    pd.testing.assert_frame_equal(kb.tasks, small_kb.tasks)
    pd.testing.assert_frame_equal(kb.configs, small_kb.configs)
    assert kb.evaluations.shape == small_kb.evaluations.shape
    assert list(kb.evaluations.loc[0, "roc_auc_folds"]) == [0.7, 0.9]
    assert kb.evaluations["roc_auc_folds"].iloc[1] is None
    assert str(kb.tasks["n_rows"].dtype) == "Int64" and kb.tasks["openml_data_id"].isna().iloc[0]
    m = kb.manifest
    assert m["schema_version"] == 1 and m["command"] == "make it"
    assert m["counts"]["tasks"] == 2 and m["counts"]["evaluations"] == 4
    assert m["counts"]["per_learner"]["lightgbm"]["configs"] == 2
    assert m["created_at"].endswith("Z") and set(m["files"]) == set(S.TABLE_FILES.values())
    assert "corpus" in (tmp_path / "kb" / "NOTICE").read_text()


def test_parquet_only_no_pickle(tmp_path, small_kb):
    small_kb.save(tmp_path)
    for p in tmp_path.iterdir():
        assert p.suffix in (".parquet", ".json", "") and b"\x80\x04\x95" not in p.read_bytes()[:4]


def test_queries(small_kb):
    sc = small_kb.scores("lightgbm", "roc_auc")
    assert sc.shape == (1, 2) and sc.loc["corpus/a", "s1"] == 0.85
    assert small_kb.scores("lightgbm", "accuracy").empty
    with pytest.raises(ConfigError):
        small_kb.scores("lightgbm", "f1")
    mf = small_kb.meta_features()
    assert list(mf.columns) == ["NumberOfInstances", "mo_x"] and mf.loc["corpus/b", "NumberOfInstances"] == 200
    assert small_kb.params("lightgbm", "s1") == {"learning_rate": 0.1}


@pytest.mark.parametrize("mutate, message", [
    (lambda kb: kb.evaluations.__setitem__("roc_auc", kb.evaluations["roc_auc"].where(
        kb.evaluations["roc_auc"].isna(), 1.5)), "roc_auc"),
    (lambda kb: kb.evaluations.__setitem__("task_id", kb.evaluations["task_id"].replace("corpus/b", "x/y")),
     "unknown tasks"),
    (lambda kb: kb.evaluations.__setitem__("config_id", kb.evaluations["config_id"].replace("s1", "zz")),
     "unknown configs"),
    (lambda kb: kb.tasks.__setitem__("kind", "clustering"), "kind"),
    (lambda kb: kb.configs.__setitem__("origin", "magic"), "origin"),
    (lambda kb: kb.evaluations.__setitem__("status", "weird"), "status"),
    (lambda kb: kb.configs.__setitem__("params", "not json"), "not JSON"),
    (lambda kb: kb.configs.__setitem__("params", "[1, 2]"), "JSON object"),
    (lambda kb: kb.tasks.__setitem__("mo_x", "text"), "mo_x"),
])
def test_validate_rejects(small_kb, mutate, message):
    mutate(small_kb)
    with pytest.raises(KnowledgeBaseError, match=message):
        small_kb.validate()


def test_validate_duplicate_keys(small_kb):
    small_kb.configs = pd.concat([small_kb.configs, small_kb.configs.iloc[[0]]], ignore_index=True)
    with pytest.raises(KnowledgeBaseError, match="duplicate"):
        small_kb.validate()


def test_invalid_kb_is_not_saved(tmp_path, small_kb):
    small_kb.tasks["kind"] = "clustering"
    with pytest.raises(KnowledgeBaseError):
        small_kb.save(tmp_path / "kb")
    assert not (tmp_path / "kb").exists()


# -- damaged files ------------------------------------------------------------------------


@pytest.fixture
def saved(tmp_path, small_kb) -> Path:
    return small_kb.save(tmp_path / "kb")


def test_missing_dir(tmp_path):
    with pytest.raises(KnowledgeBaseError, match="does not exist"):
        KnowledgeBase.load(tmp_path / "nope")


def test_missing_manifest(saved):
    (saved / "manifest.json").unlink()
    with pytest.raises(KnowledgeBaseError, match="manifest.json is missing"):
        KnowledgeBase.load(saved)


def test_missing_table(saved):
    (saved / "evaluations.parquet").unlink()
    with pytest.raises(KnowledgeBaseError, match="evaluations.parquet is missing"):
        KnowledgeBase.load(saved)


def test_bad_json(saved):
    (saved / "manifest.json").write_text('{"schema_version": 1,')
    with pytest.raises(KnowledgeBaseError, match="not valid JSON"):
        KnowledgeBase.load(saved)


def test_wrong_schema_version(saved):
    m = json.loads((saved / "manifest.json").read_text())
    m["schema_version"] = 2
    (saved / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(KnowledgeBaseError, match="schema_version 2"):
        KnowledgeBase.load(saved)


def test_truncated_parquet(saved):
    p = saved / "configs.parquet"
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(KnowledgeBaseError, match="damaged or not a Parquet file.*rebuild it with: make it"):
        KnowledgeBase.load(saved)


def test_not_parquet(saved):
    (saved / "tasks.parquet").write_text("task_id,name\nx,y\n")
    with pytest.raises(KnowledgeBaseError, match="damaged or not a Parquet file"):
        KnowledgeBase.load(saved)


def test_foreign_parquet(saved):
    pq.write_table(pa.table({"a": [1, 2], "b": ["x", "y"]}), saved / "tasks.parquet")
    with pytest.raises(KnowledgeBaseError, match="not a metaopt tasks table"):
        KnowledgeBase.load(saved)


def test_wrong_column_type(saved):
    tbl = pq.read_table(saved / "configs.parquet")
    i = tbl.schema.get_field_index("params")
    tbl = tbl.set_column(i, "params", pa.array([1] * tbl.num_rows, type=pa.int64()))
    pq.write_table(tbl, saved / "configs.parquet")
    with pytest.raises(KnowledgeBaseError, match="column 'params' has type int64"):
        KnowledgeBase.load(saved)


def test_modified_file_fails_checksum(saved):
    kb = KnowledgeBase.load(saved)
    kb.evaluations.loc[0, "roc_auc"] = 0.1
    from metaopt.kb._arrow import to_arrow

    pq.write_table(to_arrow(kb.evaluations, "evaluations"), saved / "evaluations.parquet")
    with pytest.raises(KnowledgeBaseError, match="checksum"):
        KnowledgeBase.load(saved)
    assert KnowledgeBase.load(saved, verify_checksums=False).evaluations.loc[0, "roc_auc"] == 0.1


# -- atomic save --------------------------------------------------------------------------


def _bigger(kb):
    ev = kb.evaluations.copy()
    ev.loc[0, "roc_auc"] = 0.99
    return KnowledgeBase(kb.tasks, kb.configs, ev, dict(kb.manifest))


def test_crash_while_writing_keeps_old_kb(saved, monkeypatch, small_kb):
    import metaopt.kb._store as store

    calls = {"n": 0}
    real = store.pq.write_table

    def crashing(*a, **k):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk full (simulated)")
        return real(*a, **k)

    monkeypatch.setattr(store.pq, "write_table", crashing)
    with pytest.raises(OSError, match="simulated"):
        _bigger(small_kb).save(saved)
    monkeypatch.undo()
    kb = KnowledgeBase.load(saved)
    assert kb.evaluations.loc[0, "roc_auc"] == 0.8
    assert not [p for p in saved.parent.iterdir() if p.name.startswith(".")]


def test_crash_while_renaming_never_validates_wrongly(saved, monkeypatch, small_kb):
    import metaopt.kb._store as store

    real = os.replace
    calls = {"n": 0}

    def crashing(src, dst):
        calls["n"] += 1
        if calls["n"] == 3:  # tasks and configs replaced, evaluations not, manifest not
            raise OSError("power cut (simulated)")
        return real(src, dst)

    new = _bigger(small_kb)
    new.configs.loc[1, "params"] = '{"learning_rate": 0.2}'
    monkeypatch.setattr(store.os, "replace", crashing)
    with pytest.raises(OSError, match="simulated"):
        new.save(saved)
    monkeypatch.undo()
    with pytest.raises(KnowledgeBaseError, match="interrupted save"):
        KnowledgeBase.load(saved)
    new.save(saved)  # a completed save repairs it
    assert KnowledgeBase.load(saved).evaluations.loc[0, "roc_auc"] == 0.99


# -- merge and compile_parts --------------------------------------------------------------


def test_merge_combines_and_rejects_conflicts(small_kb):
    other = KnowledgeBase.from_frames(
        pd.DataFrame([{"task_id": "corpus/b", "name": "b", "source": "corpus", "dataset_key": "openml-data/31",
                       "openml_data_id": 31, "openml_task_id": 31, "kind": "regression", "licence": "CC0",
                       "data_hash": None, "n_rows": 200, "n_features": 3, "mo_x": 7.0, "mo_new": 1.0}]),
        pd.DataFrame([{"learner": "lightgbm", "config_id": "s2", "params": '{"num_leaves": 7}',
                       "origin": "tpe", "native_params": None}]),
        pd.DataFrame([_eval_row("corpus/b", "lightgbm", "s2", rmse=1.2)]),
        [{"name": "other", "licence": "MIT"}])
    merged = small_kb.merge(other)
    merged.validate()
    assert len(merged.tasks) == 2 and len(merged.configs) == 4 and len(merged.evaluations) == 5
    b = merged.tasks.set_index("task_id").loc["corpus/b"]
    assert b["mo_x"] == 7.0 and b["mo_new"] == 1.0  # missing values filled from the other KB
    assert [s["name"] for s in merged.sources] == ["corpus", "other"]
    assert len(small_kb.merge(small_kb).evaluations) == 4  # identical rows collapse

    bad = KnowledgeBase(small_kb.tasks, small_kb.configs.copy(), small_kb.evaluations, {})
    bad.configs.loc[1, "params"] = '{"learning_rate": 0.3}'
    with pytest.raises(KnowledgeBaseError, match="conflicting.*params"):
        small_kb.merge(bad)
    bad2 = KnowledgeBase(small_kb.tasks.copy(), small_kb.configs, small_kb.evaluations, {})
    bad2.tasks.loc[0, "kind"] = "multiclass"
    with pytest.raises(KnowledgeBaseError, match="conflicting.*kind"):
        small_kb.merge(bad2)


def _write_parts(kb, root: Path):
    from metaopt.kb._arrow import to_arrow

    (root / "tasks").mkdir(parents=True)
    (root / "configs").mkdir()
    pq.write_table(to_arrow(kb.tasks.iloc[:1], "tasks"), root / "tasks" / "part-0.parquet")
    pq.write_table(to_arrow(kb.tasks.iloc[1:], "tasks"), root / "tasks" / "part-1.parquet")
    pq.write_table(to_arrow(kb.configs, "configs"), root / "configs" / "lightgbm-0.parquet")
    for tid, g in kb.evaluations.groupby("task_id"):
        d = root / "parts" / tid.replace("/", "__")
        d.mkdir(parents=True)
        for learner, gl in g.groupby("learner"):
            pq.write_table(to_arrow(gl, "evaluations"), d / f"{learner}-0.parquet")
            pq.write_table(to_arrow(gl, "evaluations"), d / f"{learner}-1.parquet")  # a repeated chunk


def test_compile_parts(tmp_path, small_kb):
    _write_parts(small_kb, tmp_path / "build")
    (tmp_path / "build" / "sources.json").write_text(json.dumps({"sources": [{"name": "corpus"}],
                                                                  "command": "metaopt kb build"}))
    kb = compile_parts(tmp_path / "build")
    kb.validate()
    assert (len(kb.tasks), len(kb.configs), len(kb.evaluations)) == (2, 3, 4)
    assert kb.manifest["command"] == "metaopt kb build" and kb.sources[0]["name"] == "corpus"
    kb.save(tmp_path / "out")
    assert KnowledgeBase.load(tmp_path / "out").counts()["evaluations"] == 4


def test_compile_parts_conflict(tmp_path, small_kb):
    from metaopt.kb._arrow import to_arrow

    _write_parts(small_kb, tmp_path / "build")
    ev = small_kb.evaluations.iloc[[0]].copy()
    ev["roc_auc"] = 0.5
    pq.write_table(to_arrow(ev, "evaluations"), tmp_path / "build" / "parts" / "extra.parquet")
    with pytest.raises(KnowledgeBaseError, match="conflicting values.*roc_auc"):
        compile_parts(tmp_path / "build")


def test_compile_parts_damaged(tmp_path, small_kb):
    _write_parts(small_kb, tmp_path / "build")
    (tmp_path / "build" / "parts" / "bad.parquet").write_bytes(b"PAR1 nope")
    with pytest.raises(KnowledgeBaseError, match="damaged"):
        compile_parts(tmp_path / "build")


# -- the shipped KB -----------------------------------------------------------------------


def test_shipped_metadata_loads_fast():
    path = REPO / "metadata"
    if not (path / "manifest.json").is_file():
        pytest.skip("no shipped metadata/ in this checkout")
    KnowledgeBase.load(path)  # warm imports
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        kb = KnowledgeBase.load(path)
        times.append(time.perf_counter() - t0)
    print(f"\nshipped KB load time: best {min(times):.3f} s, runs {[round(t, 3) for t in times]}")
    kb.validate(deep=True)
    assert kb.counts()["evaluations"] >= 9672 + 47000
    total = sum(p.stat().st_size for p in path.iterdir() if p.is_file())
    assert total < 50 * 2**20
    names = {s["name"] for s in kb.sources}
    assert {"tabrepo", "openml_pimp"} <= names
    notice = (path / "NOTICE").read_text()
    assert "Apache-2.0" in notice and "BSD-3-Clause" in notice


def test_default_path_env(monkeypatch, saved):
    monkeypatch.setenv("METAOPT_KB", str(saved))
    assert KnowledgeBase.load().path == saved


def test_only_sources_keeps_consistent_subset():
    from kb_support import make_small_kb

    from metaopt.exceptions import KnowledgeBaseError

    kb = make_small_kb()
    src = sorted(kb.evaluations["source"].unique())[0]
    sub = kb.only_sources([src])
    assert set(sub.evaluations["source"]) == {src}
    assert set(sub.evaluations["task_id"]) <= set(sub.tasks["task_id"])
    sub.validate()
    with pytest.raises(KnowledgeBaseError, match="no evaluations from source"):
        kb.only_sources(["nope"])


def test_only_learners_keeps_consistent_subset():
    from kb_support import make_small_kb

    from metaopt.exceptions import KnowledgeBaseError

    kb = make_small_kb()
    sub = kb.only_learners(["lightgbm"])
    assert set(sub.evaluations["learner"]) == {"lightgbm"} and len(sub.evaluations) == 3
    assert set(sub.configs["learner"]) == {"lightgbm"} and len(sub.configs) == 2
    assert set(sub.tasks["task_id"]) == {"corpus/a", "corpus/b"}
    sub.validate(deep=True)
    rf = kb.only_learners(["random_forest"])
    assert list(rf.tasks["task_id"]) == ["corpus/a"] and len(rf.configs) == 1
    with pytest.raises(KnowledgeBaseError, match="no evaluations of learner"):
        kb.only_learners(["linear"])
