"""Fixtures of the warm-start tests: a real PostgreSQL server, a small real dataset."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from warmstart_support import CREDIT_G, REPO, worker_env  # noqa: F401  (re-exported for fixtures below)

sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture(scope="session")
def postgres_url():
    """URL of a throw-away PostgreSQL server on 127.0.0.1 (skips with the reason when impossible)."""
    from pg_server import PostgresServer, PostgresUnavailable

    try:
        server = PostgresServer().start()
    except PostgresUnavailable as exc:
        pytest.skip(f"PostgreSQL unavailable: {exc}")
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def credit_g():
    from metaopt import load_data

    return load_data(str(CREDIT_G))


