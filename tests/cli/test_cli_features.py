"""`metaopt features`: table, JSON, timings, and one-line errors with exit code 2."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from metaopt.cli import main

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "data" / "credit-g.csv"


def test_console_script_prints_grouped_table():
    out = subprocess.run([sys.executable, "-m", "metaopt", "features", str(EXAMPLE), "--target", "class"],
                         capture_output=True, text=True, check=True).stdout
    assert "credit-g: 1000 rows x 20 features" in out
    for group in ("general", "statistical", "info-theory", "landmarking", "metaopt"):
        assert f"\n{group} (" in out
    assert "NumberOfFeatures" in out and "ClassEntropy" in out


def test_json_output_is_machine_readable(capsys):
    assert main(["features", str(EXAMPLE), "--target", "class", "--json", "--groups", "general", "info-theory"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["kind"] == "binary"
    assert doc["values"]["NumberOfInstances"] == 1000
    assert doc["values"]["NumberOfFeatures"] == 21  # OpenML counts the target
    assert {"general", "info-theory"} <= set(doc["groups"]) and "statistical" not in doc["groups"]
    assert math.isclose(doc["values"]["ClassEntropy"], 0.8812908992306927, rel_tol=1e-9)


def test_verbose_prints_timings(capsys):
    assert main(["features", str(EXAMPLE), "--target", "class", "--groups", "general", "--verbose"]) == 0
    out = capsys.readouterr().out
    assert "general (" in out and " s]" in out and "load " in out


@pytest.mark.parametrize("argv, fragment", [
    (["features", "no/such/file.csv", "--target", "y"], "not found"),
    (["features", str(EXAMPLE), "--target", "clas"], "did you mean 'class'"),
    (["features", str(EXAMPLE), "--target", "class", "--groups", "nonsense"], "nonsense"),
])
def test_bad_input_is_one_line_exit_2(capsys, argv, fragment):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert fragment in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_no_traceback_from_console_script(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    proc = subprocess.run([sys.executable, "-m", "metaopt", "features", str(empty), "--target", "y"],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.startswith("metaopt: error:") and "Traceback" not in proc.stderr
