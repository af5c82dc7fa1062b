"""Settings for the whole test suite."""

from __future__ import annotations

import os
import tempfile


def pytest_configure(config) -> None:
    # Keep the meta-model disk cache out of the user's home directory during tests.
    if "METAOPT_CACHE_DIR" not in os.environ:
        os.environ["METAOPT_CACHE_DIR"] = tempfile.mkdtemp(prefix="metaopt-test-cache-")
