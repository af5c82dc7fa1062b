"""Shared fixtures of the knowledge-base tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from kb_support import FIXTURES, REPO, _eval_row, make_small_kb, shared_data_dir  # noqa: F401  (re-exported for fixtures below)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    d = shared_data_dir()
    if not (d / "histories").is_dir():
        pytest.skip(f"shared data not found at {d} (set METAOPT_SHARED_DATA)")
    return d


@pytest.fixture(scope="session")
def tabrepo_kb(shared_data):
    from metaopt.kb import import_tabrepo

    return import_tabrepo(shared_data / "histories" / "tabrepo_lightgbm")


@pytest.fixture(scope="session")
def pimp_kb(shared_data):
    from metaopt.kb import import_pimp

    return import_pimp(shared_data / "histories" / "openml_pimp")


@pytest.fixture
def small_kb():
    return make_small_kb()
