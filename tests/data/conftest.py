"""Shared fixtures for the data-loading tests.

The ``corpus`` fixture is the corpus folder (``/work/shared/data`` next to the
repository + ``corpus``, or ``$METAOPT_SHARED_DATA``); tests that need it skip cleanly when
it is absent. The OpenML cache builder lives in ``data_openml_cache.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _shared_dir() -> Path:
    env = os.environ.get("METAOPT_SHARED_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2].parent / "shared" / "data"


SHARED = _shared_dir()
CORPUS = SHARED / "corpus"
HAVE_CORPUS = (CORPUS / "catalog.csv").is_file()


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
