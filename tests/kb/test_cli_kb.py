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
