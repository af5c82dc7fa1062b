"""Helpers shared by the tests in tests/warmstart/ (imported by name: `from warmstart_support import ...`).

A uniquely named module, because `from conftest import ...` resolves to whichever
conftest pytest imported last when several test folders have one.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


CREDIT_G = REPO / "examples" / "data" / "credit-g.csv"


def worker_env() -> dict[str, str]:
    """Environment of worker processes: single-threaded numerics, the repo importable."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "PYTHONWARNINGS": "ignore"}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env

