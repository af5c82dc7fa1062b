"""Settings for the whole test suite."""

from __future__ import annotations

import os
import shutil
import tempfile

_OWN_CACHE: str | None = None


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
