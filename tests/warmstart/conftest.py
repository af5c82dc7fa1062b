"""Fixtures of the warm-start tests: a real PostgreSQL server, a small real dataset."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

REPO = Path(__file__).resolve().parents[2]
CREDIT_G = REPO / "examples" / "data" / "credit-g.csv"


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


def worker_env() -> dict[str, str]:
    """Environment of worker processes: single-threaded numerics, the repo importable."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "PYTHONWARNINGS": "ignore"}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env
