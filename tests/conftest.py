"""Settings for the whole test suite."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "warmstart"))  # pg_server.py

_OWN_CACHE: str | None = None


@pytest.fixture
def unoffered_learner():
    """A registered learner the shipped KB has no results of (``offered = False``), for the refusals."""
    from metaopt.learners import ExtraTreesLearner, register_learner, unregister_learner

    class FutureTrees(ExtraTreesLearner):
        name, id_prefix, offered = "future_trees", "ft", False

    register_learner(FutureTrees())
    yield "future_trees"
    unregister_learner("future_trees")


def pytest_configure(config) -> None:
    # Keep the meta-model disk cache out of the user's home directory during tests, in a
    # temporary directory that this run removes again (pytest_unconfigure).
    global _OWN_CACHE
    if "METAOPT_CACHE_DIR" not in os.environ:
        _OWN_CACHE = tempfile.mkdtemp(prefix="metaopt-test-cache-")
        os.environ["METAOPT_CACHE_DIR"] = _OWN_CACHE


def pytest_unconfigure(config) -> None:
    global _OWN_CACHE
    if _OWN_CACHE is not None:
        shutil.rmtree(_OWN_CACHE, ignore_errors=True)
        os.environ.pop("METAOPT_CACHE_DIR", None)
        _OWN_CACHE = None


def _postgres_server() -> Iterator[Any]:
    """A throw-away PostgreSQL server on 127.0.0.1, stopped afterwards (skips with the reason when impossible)."""
    from pg_server import PostgresServer, PostgresUnavailable

    try:
        server = PostgresServer().start()
    except PostgresUnavailable as exc:
        pytest.skip(f"PostgreSQL unavailable: {exc}")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_url():
    """URL of the session's throw-away PostgreSQL server."""
    for server in _postgres_server():
        yield server.url


@pytest.fixture()
def own_postgres():
    """A PostgreSQL server of the test's own, to restart, pause or stop (``pg_server.PostgresServer``)."""
    yield from _postgres_server()
