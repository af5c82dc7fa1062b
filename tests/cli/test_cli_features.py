"""`metaopt features`: table, JSON, timings, and one-line errors with exit code 2."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
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
    (["features", str(EXAMPLE), "--target", "class", "--groups", "purpose"], "'purpose' is a column of the data"),
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


def test_help_mentions_only_options_that_exist():
    from metaopt.cli import build_parser

    parser = build_parser()
    features = parser._subparsers._group_actions[0].choices["features"]
    options = {s for action in features._actions for s in action.option_strings}
    text = features.format_help()
    mentioned = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", text))
    assert mentioned and mentioned <= options, mentioned - options
    assert "--list-groups" not in text and "landmarking" in text  # the groups are listed instead


def test_default_output_is_a_summary_that_explains_nan_and_says_what_next(capsys):
    assert main(["features", str(EXAMPLE), "--target", "class"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) <= 45  # was 186 lines, 29 of them NaN
    assert not any(line.rstrip().endswith("NaN") for line in lines)
    nan_lines = [line for line in lines if "NaN" in line]
    assert len(nan_lines) == 1 and "29 of 171 values are not defined" in nan_lines[0]
    assert "only to regression targets" in nan_lines[0] and "--all" in nan_lines[0]
    assert lines[-1].startswith(f"next: metaopt recommend {EXAMPLE} --target class")
    # --all: every value, NaN included
    assert main(["features", str(EXAMPLE), "--target", "class", "--all"]) == 0
    full = capsys.readouterr().out.splitlines()
    assert sum(line.rstrip().endswith("NaN") for line in full) == 29
    assert sum(line.startswith("  ") for line in full) == 173  # 171 values + 2 sampling values


def _features_of(frame: pd.DataFrame, target: str, tmp_path, capsys) -> str:
    """``metaopt features`` (general group, no --verbose) of the example's first 100 rows with ``target`` added."""
    frame.drop(columns=["class"]).to_csv(tmp_path / "data.csv", index=False)
    assert main(["features", str(tmp_path / "data.csv"), "--target", target, "--groups", "general"]) == 0
    return capsys.readouterr().out


def test_dropped_rows_are_always_reported(tmp_path, capsys):
    frame = pd.read_csv(EXAMPLE).head(100)
    frame["amount"] = frame["credit_amount"].astype("float64")
    frame.loc[[3, 5], "amount"] = [np.inf, -np.inf]
    frame.loc[7, "amount"] = np.nan
    out = _features_of(frame, "amount", tmp_path, capsys)
    assert "97 rows" in out
    assert "note: dropped 2 row(s) with an infinite target 'amount' (+inf/-inf)" in out
    assert "note: dropped 1 row(s) with a missing target 'amount'" in out


def test_an_integer_coded_target_taken_as_regression_is_always_said(tmp_path, capsys):
    out = _features_of(pd.read_csv(EXAMPLE).head(100).assign(rating=lambda f: f.index % 3 + 1), "rating", tmp_path,
                       capsys)
    assert "(regression)" in out
    assert "note: target 'rating' is numeric with 3 distinct integer values: treated as regression" in out
    assert "--kind multiclass" in out


def test_target_only_csv_is_one_line(tmp_path):
    path = tmp_path / "target_only.csv"
    path.write_text("class\n" + "good\nbad\n" * 10)
    proc = subprocess.run([sys.executable, "-m", "metaopt", "features", str(path), "--target", "class"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "no feature columns" in proc.stderr and "delimiter" not in proc.stderr
