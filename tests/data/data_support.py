"""Helpers shared by the tests in tests/data/ (imported by name: `from data_support import ...`).

A uniquely named module, because `from conftest import ...` resolves to whichever
conftest pytest imported last when several test folders have one.
"""

from __future__ import annotations

from pathlib import Path

from shared_support import shared_data_dir

FIXTURES = Path(__file__).resolve().parent / "fixtures"


SHARED = shared_data_dir()


CORPUS = SHARED / "corpus"


HAVE_CORPUS = (CORPUS / "catalog.csv").is_file()

