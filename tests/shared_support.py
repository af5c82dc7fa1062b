"""Where the tests find the shared data folder (imported by name: ``from shared_support import ...``).

``$METAOPT_SHARED_DATA`` when set, else ``<repo>/../shared/data``: the corpus,
TabRepo/openml-pimp histories and OpenML qualities that tests needing them
read (and skip without).  One definition for every test folder; ``tests/`` is
on ``sys.path`` because it holds the root ``conftest.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    env = os.environ.get("METAOPT_SHARED_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data"
