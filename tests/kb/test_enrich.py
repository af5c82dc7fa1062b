"""Meta-feature enrichment of imported tasks from OpenML-published quality tables (metaopt.kb._enrich)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from kb_support import shared_data_dir

from metaopt.kb import KnowledgeBase
from metaopt.kb._enrich import (
    LCDB_SOURCE,
    enrich_imported,
    enrich_meta_features,
    meta_feature_provenance,
    read_lcdb_qualities,
)
from metaopt.kb._import_pimp import normalise_class_percentages

SHARED = shared_data_dir()
needs_shared = pytest.mark.skipif(not (SHARED / "openml_qualities" / "lcdb_datasets.csv").is_file(),
                                  reason=f"shared data not found at {SHARED} (set METAOPT_SHARED_DATA)")


def _task(tid, did, source="tabrepo", **q):
    row = {"task_id": f"openml-task/{tid}", "name": f"t{tid}", "source": source,
           "dataset_key": f"openml-data/{did}" if did else f"openml-task/{tid}", "openml_data_id": did,
           "openml_task_id": tid, "kind": "binary", "licence": "x", "data_hash": None,
           "n_rows": int(q.get("NumberOfInstances", 100)), "n_features": int(q.get("NumberOfFeatures", 5)) - 1}
    row.update({k: float(v) for k, v in q.items()})
    return row


def _small_kb():
    tasks = pd.DataFrame([
        _task(1, 11, NumberOfInstances=100, NumberOfFeatures=5, NumberOfClasses=2, MinorityClassSize=40),
        _task(2, 22, NumberOfInstances=200, NumberOfFeatures=4, NumberOfClasses=2),   # counts disagree
        _task(3, None, NumberOfInstances=300, NumberOfFeatures=3, NumberOfClasses=2),  # no data id
        _task(4, 44, source="openml_pimp", NumberOfInstances=50, NumberOfFeatures=3, NumberOfClasses=2),
    ])
    return KnowledgeBase.from_frames(tasks, None, None, [{"name": "tabrepo"}, {"name": "openml_pimp"}])


def _table():
    return pd.DataFrame(
        {"NumberOfInstances": [100.0, 200.0, 300.0, 50.0], "NumberOfFeatures": [5.0, 9.0, 3.0, 3.0],
         "NumberOfClasses": [2.0, 2.0, 2.0, 2.0], "MinorityClassSize": [41.0, 1.0, 1.0, np.nan],
         "ClassEntropy": [0.97, 0.5, 0.5, 0.3]},
        index=pd.Index([11, 22, 33, 44], name="openml_data_id"))


def test_enrich_fills_only_missing_by_data_id_and_records_provenance(caplog):
    kb = _small_kb()
    with caplog.at_level("WARNING", logger="metaopt.kb.enrich"):
        out, rep = enrich_meta_features(kb, [("lcdb", _table())], source_entries={"lcdb": {"name": "lcdb",
                                                                                          "licence": "MIT"}})
    t = out.tasks.set_index("task_id")
    # task 1: matched, ClassEntropy filled, its own MinorityClassSize kept (conflict logged)
    assert t.at["openml-task/1", "ClassEntropy"] == pytest.approx(0.97)
    assert t.at["openml-task/1", "MinorityClassSize"] == 40.0
    assert rep.conflicts["lcdb"] == [("openml-task/1", "MinorityClassSize", 40.0, 41.0)]
    assert "differ" in caplog.text
    # task 2: NumberOfFeatures disagrees -> match rejected, nothing filled
    assert np.isnan(t.at["openml-task/2", "ClassEntropy"])
    assert [s["task_id"] for s in rep.skipped["lcdb"]] == ["openml-task/2"]
    assert "not trusted" in caplog.text
    # task 3: no data id -> never matched (data id 33 exists but is not looked up by anything else)
    assert np.isnan(t.at["openml-task/3", "ClassEntropy"])
    # task 4 (another source) is enriched too
    assert t.at["openml-task/4", "ClassEntropy"] == pytest.approx(0.3)
    assert sorted(rep.matched["lcdb"]) == ["openml-task/1", "openml-task/4"]
    # provenance in the manifest source entry and as a frame
    src = {s["name"]: s for s in out.sources}["lcdb"]
    assert src["licence"] == "MIT" and src["meta_features"]["n_values"] == 2
    prov = meta_feature_provenance(out)
    assert prov.at["openml-task/1", "ClassEntropy"] == "lcdb"
    assert prov.at["openml-task/1", "MinorityClassSize"] == "tabrepo"
    assert prov.at["openml-task/3", "ClassEntropy"] is None
    out.validate()


def test_enrich_respects_task_sources_and_round_trips(tmp_path):
    out, rep = enrich_meta_features(_small_kb(), [("lcdb", _table())], task_sources=("openml_pimp",))
    assert rep.matched["lcdb"] == ["openml-task/4"]
    out.save(tmp_path / "kb", command="x")
    back = KnowledgeBase.load(tmp_path / "kb")
    assert meta_feature_provenance(back).at["openml-task/4", "ClassEntropy"] == "lcdb"
    assert "lcdb" in (tmp_path / "kb" / "NOTICE").read_text()


def test_pimp_class_percentages_are_scaled_to_percent():
    q = {"NumberOfInstances": 200.0, "MinorityClassSize": 20.0, "MinorityClassPercentage": 0.1,
         "MajorityClassSize": 180.0, "MajorityClassPercentage": 90.0}
    out = normalise_class_percentages(q)
    assert out["MinorityClassPercentage"] == pytest.approx(10.0)
    assert out["MajorityClassPercentage"] == 90.0
    assert normalise_class_percentages({"MinorityClassPercentage": float("nan")})["MinorityClassPercentage"] != 0


@needs_shared
def test_lcdb_table_reads():
    t = read_lcdb_qualities(SHARED / "openml_qualities" / "lcdb_datasets.csv")
    assert len(t) == 219 and t.index.name == "openml_data_id"
    assert "Name" not in t.columns and len(t.columns) == 64
    assert (t.dtypes == "float64").all()


@needs_shared
def test_enrich_real_imports():
    from metaopt.kb import import_pimp, import_tabrepo

    h = SHARED / "histories"
    kb = import_tabrepo(h / "tabrepo_lightgbm").merge(
        import_pimp(h / "openml_pimp", tabrepo_dir=h / "tabrepo_lightgbm"))
    mf_before = kb.tasks.set_index("task_id")[kb.meta_feature_names()].notna().sum(axis=1)
    out, rep = enrich_imported(kb, lcdb=SHARED / "openml_qualities" / "lcdb_datasets.csv",
                               pimp_dir=h / "openml_pimp", tabrepo_dir=h / "tabrepo_lightgbm")
    t = out.tasks.set_index("task_id")
    tab = t.index[t["source"] == "tabrepo"]
    matched_tab = [i for i in rep.matched[LCDB_SOURCE] if i in tab]
    assert len(matched_tab) >= 50
    mf_after = t[out.meta_feature_names()].notna().sum(axis=1)
    assert mf_after[tab].median() > 3 * mf_before[tab].median()
    assert (mf_after >= mf_before.reindex(mf_after.index)).all()
    # TabRepo's own qualities are never changed
    before = kb.tasks.set_index("task_id")
    for q in ("NumberOfInstances", "NumberOfFeatures", "NumberOfClasses", "MinorityClassSize"):
        pd.testing.assert_series_equal(t.loc[tab, q], before.loc[tab, q])
    assert not [c for c in rep.conflicts.get(LCDB_SOURCE, []) if c[0] in tab]
    # splice (task 45): OpenML-100's version has one feature more than LCDB's -> rejected
    assert "openml-task/45" in [s["task_id"] for s in rep.skipped[LCDB_SOURCE]]
    # class percentages are percent everywhere
    assert t["MinorityClassPercentage"].dropna().max() > 1.0
    pct = 100 * t["MinorityClassSize"] / t["NumberOfInstances"]
    ok = t["MinorityClassPercentage"].notna()
    np.testing.assert_allclose(t.loc[ok, "MinorityClassPercentage"], pct[ok], rtol=1e-3)
    out.validate()
    json.dumps(out.sources)  # manifest-serialisable


@needs_shared
def test_shipped_kb_is_enriched():
    from kb_support import REPO

    m = json.loads((REPO / "metadata" / "manifest.json").read_text())
    if "--lcdb" not in (m.get("command") or ""):
        pytest.skip("shipped KB not built with --lcdb")
    kb = KnowledgeBase.load(REPO / "metadata")
    assert LCDB_SOURCE in {s["name"] for s in kb.sources}
    assert "LCDB" in (REPO / "metadata" / "NOTICE").read_text()
    prov = meta_feature_provenance(kb)
    assert (prov == LCDB_SOURCE).any(axis=1).sum() >= 50
