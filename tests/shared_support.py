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


def kb_protocol_scores(corpus_name: str, learner: str, config: dict, changed: dict) -> tuple[dict, dict]:
    """5-fold CV metrics of ``learner``'s ``config`` on a shared corpus dataset as the KB scores it: with
    ``changed`` added, and as given (metaopt's rules decide); skipped without the shared corpus."""
    import pandas as pd
    import pytest

    from metaopt import load_data
    from metaopt.core import Protocol
    from metaopt.learners import get_learner

    path = shared_data_dir() / "corpus" / f"{corpus_name}.arff"
    if not path.is_file():
        pytest.skip("shared corpus not available")
    cat = pd.read_csv(shared_data_dir() / "corpus" / "catalog.csv")
    ds = load_data(str(path), target=cat.loc[cat["name"] == corpus_name, "target"].iloc[0])
    proto = Protocol(time_limit_s=60)
    task = proto.prepare(ds)
    lr = get_learner(learner)
    return proto.evaluate(lr, {**config, **changed}, task), proto.evaluate(lr, config, task)
