"""Fixtures of the warm-start tests: a small real dataset (the PostgreSQL server is in tests/conftest.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from warmstart_support import CREDIT_G, REPO, worker_env  # noqa: F401  (re-exported for fixtures below)

sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture(scope="session")
def credit_g():
    from metaopt import load_data

    return load_data(str(CREDIT_G))


