"""Helpers shared by the tests in tests/tuning/ (imported by name: ``from tuning_support import ...``).

A uniquely named module, because ``from conftest import ...`` resolves to whichever
conftest pytest imported last when several test folders have one.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from shared_support import shared_data_dir

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "data" / "credit-g.csv"


def corpus_file(name: str) -> Path:
    """A corpus file of the shared data; the test is skipped when the shared data are absent."""
    path = shared_data_dir() / "corpus" / name
    if not path.is_file():
        pytest.skip(f"corpus file {name} not found under {shared_data_dir()} (set METAOPT_SHARED_DATA)")
    return path
