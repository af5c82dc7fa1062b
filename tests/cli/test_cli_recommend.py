"""`metaopt recommend`: the why column, values set for the dataset, one-line warnings, offered learners."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metaopt.cli import main
from metaopt.kb import KnowledgeBase

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "data" / "credit-g.csv"


@pytest.fixture(scope="module")
def kb_dir(tmp_path_factory):
    """A small real KB (10 TabRepo tasks per kind, LightGBM): quick to fit."""
    full = KnowledgeBase.load()
    t = full.tasks[full.tasks["source"] == "tabrepo"].sort_values("task_id").groupby("kind").head(10)
    e = full.evaluations[full.evaluations["task_id"].isin(t["task_id"]) & (full.evaluations["learner"] == "lightgbm")]
    c = full.configs[full.configs["learner"] == "lightgbm"]
    path = tmp_path_factory.mktemp("kb")
    KnowledgeBase.from_frames(t, c, e).save(path)
    return str(path)


def _table_rows(out: str) -> list[str]:
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("----")) + 1
    return [line for line in lines[start:] if line[:2].strip().isdigit()]


def test_table_has_why_column_and_explains_the_order(kb_dir, capsys):
    assert main(["recommend", str(EXAMPLE), "--target", "class", "-k", "4", "--kb", kb_dir]) == 0
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if line.lstrip().startswith("#"))
    assert header.split()[:7] == ["#", "learner", "config", "score", "fit", "why", "params"]
    rows = _table_rows(out)
    assert len(rows) == 4
    assert "best blend on similar tasks" in rows[0] and "covers where #1 is weak" in rows[1]
    assert "order: a portfolio, not sorted by score" in out
    # --k, the spelling of `tune`, is k too (it used to be read as an abbreviation of --kb)
    assert main(["recommend", str(EXAMPLE), "--target", "class", "--k", "2", "--kb", kb_dir]) == 0
    assert len(_table_rows(capsys.readouterr().out)) == 2


def test_an_integer_coded_target_is_said_and_kind_makes_it_classes(kb_dir, tmp_path, capsys):
    path = tmp_path / "codes.csv"
    pd.read_csv(EXAMPLE).assign(rating=lambda f: f.index % 3 + 1).drop(columns="class").to_csv(path, index=False)
    assert main(["recommend", str(path), "--target", "rating", "-k", "2", "--kb", kb_dir]) == 0
    out, err = capsys.readouterr()
    assert "target 'rating' (regression)" in out and "3 distinct integer values: treated as regression" in err
    assert main(["recommend", str(path), "--target", "rating", "-k", "2", "--kb", kb_dir, "--json"]) == 0
    assert any("treated as regression" in n for n in json.loads(capsys.readouterr().out)["notes"])  # not only stderr
    assert main(["recommend", str(path), "--target", "rating", "--kind", "multiclass", "-k", "2", "--kb", kb_dir]) == 0
    out, err = capsys.readouterr()
    assert "target 'rating' (multiclass)" in out and "treated as regression" not in err


def test_a_column_left_out_as_an_identifier_is_said(kb_dir, tmp_path, capsys):
    path = tmp_path / "remarks.csv"
    frame = pd.read_csv(EXAMPLE)
    frame.assign(remark=[f"called on day {i}" for i in range(len(frame))]).to_csv(path, index=False)
    assert main(["recommend", str(path), "--target", "class", "-k", "2", "--kb", kb_dir]) == 0
    err = capsys.readouterr().err
    assert "note: dropped id-like column(s): remark (a distinct value in nearly every row" in err


def test_small_data_shows_the_kb_value_of_adapted_parameters(kb_dir, tmp_path, capsys):
    path = tmp_path / "small.csv"
    pd.read_csv(EXAMPLE).sample(32, random_state=0).to_csv(path, index=False)
    assert main(["recommend", str(path), "--target", "class", "-k", "5", "--kb", kb_dir]) == 0
    out = capsys.readouterr().out
    assert "(KB: " in out and "value set for this dataset (32 rows)" in out
    assert main(["recommend", str(path), "--target", "class", "-k", "5", "--kb", kb_dir, "--json"]) == 0
    recs = json.loads(capsys.readouterr().out)["recommendations"]
    assert all(r["params"].get("min_child_samples", 0) <= 6 for r in recs)
    assert any(r["adapted"].get("min_child_samples") for r in recs)


def test_all_missing_features_warn_in_one_line(kb_dir, tmp_path, capsys):
    path = tmp_path / "blind.csv"
    rng = np.random.default_rng(0)
    pd.DataFrame({"a": [np.nan] * 60, "b": [np.nan] * 60, "y": rng.choice(["p", "q"], 60)}).to_csv(path, index=False)
    assert main(["recommend", str(path), "--target", "y", "-k", "3", "--kb", kb_dir]) == 0
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("metaopt: warning: ") and "data-blind portfolio" in err[0]
    assert "Traceback" not in captured.err and "warnings.warn" not in captured.err
    assert all("data-blind portfolio #" in row for row in _table_rows(captured.out))


@pytest.mark.parametrize("command", ["recommend", "tune"])
def test_an_unoffered_learner_is_refused_in_one_line(command, capsys, unoffered_learner):
    with pytest.raises(SystemExit) as exc:
        main([command, str(EXAMPLE), "--target", "class", "--learner", unoffered_learner])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"no {unoffered_learner} results" in err[0]
    main_help = pytest.raises(SystemExit)
    with main_help:
        main([command, "--help"])
    assert "{auto,lightgbm,random_forest,extra_trees,linear}" in capsys.readouterr().out


def test_tune_api_refuses_an_unoffered_learner(unoffered_learner):
    from metaopt.exceptions import ConfigError
    from metaopt.tuning import tune

    with pytest.raises(ConfigError, match=unoffered_learner):
        tune(str(EXAMPLE), target="class", learner=unoffered_learner, n_trials=1)
