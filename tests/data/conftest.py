"""Shared fixtures for the data-loading tests.

The ``corpus`` fixture is the corpus folder (``/work/shared/data`` next to the
repository + ``corpus``, or ``$METAOPT_SHARED_DATA``); tests that need it skip cleanly when
it is absent. The OpenML cache builder lives in ``data_openml_cache.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from data_support import CORPUS, FIXTURES, HAVE_CORPUS, SHARED  # noqa: F401  (re-exported for fixtures below)


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture
def corpus() -> Path:
    if not HAVE_CORPUS:
        pytest.skip(f"shared corpus not found at {CORPUS} (set METAOPT_SHARED_DATA)")
    return CORPUS


@pytest.fixture(autouse=True)
def _no_openml_downloads(monkeypatch):
    """Tests never hit the network: OpenML downloads are off unless a test opts in."""
    monkeypatch.setenv("METAOPT_OPENML_OFFLINE", "1")
    monkeypatch.delenv("METAOPT_OPENML_CACHE", raising=False)
