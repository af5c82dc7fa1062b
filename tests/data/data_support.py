"""Helpers shared by the tests in tests/data/ (imported by name: `from data_support import ...`).

A uniquely named module, because `from conftest import ...` resolves to whichever
conftest pytest imported last when several test folders have one.
"""

from __future__ import annotations

import os
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _shared_dir() -> Path:
    env = os.environ.get("METAOPT_SHARED_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2].parent / "shared" / "data"


SHARED = _shared_dir()


CORPUS = SHARED / "corpus"


HAVE_CORPUS = (CORPUS / "catalog.csv").is_file()

