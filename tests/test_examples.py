"""The examples run as users run them (small budgets where the script takes one)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.mark.parametrize("script,args,expect", [
    ("quickstart.py", ["3"], "predictions for 5 rows"),
    ("own_objective.py", [], "MetaSampler      : best"),
    ("grouped_cv.py", ["3"], "grouped folds: CV log_loss"),
    ("sklearn_pipeline.py", [], "ROC AUC per outer fold"),
    ("monthly_retune.py", ["2"], "December, the same storage: first trial study:2026-11/"),
])
def test_example_runs(script, args, expect, tmp_path):
    out = subprocess.run([sys.executable, str(EXAMPLES / script), *args], capture_output=True, text=True,
                         cwd=tmp_path, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert expect in out.stdout
