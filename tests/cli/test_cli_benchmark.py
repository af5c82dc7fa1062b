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
    e = ev[ev["task_id"].isin(t["task_id"])]
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
