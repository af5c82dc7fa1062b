"""Fixtures of the recommender tests: a private meta-model cache, and a small KB of TabRepo's LightGBM tasks."""

from __future__ import annotations

import pytest

from metaopt.kb import KnowledgeBase


@pytest.fixture(autouse=True)
def _cache_dir(tmp_path, monkeypatch):
    """Keep the meta-model disk cache out of the user's home (a fresh, empty one per test)."""
    monkeypatch.setenv("METAOPT_CACHE_DIR", str(tmp_path / "metaopt-cache"))


@pytest.fixture(scope="module")
def kb():
    full = KnowledgeBase.load()
    t = full.tasks[full.tasks["source"] == "tabrepo"].sort_values("task_id").groupby("kind").head(10)
    e = full.evaluations[full.evaluations["task_id"].isin(t["task_id"]) & (full.evaluations["learner"] == "lightgbm")]
    c = full.configs[full.configs["learner"] == "lightgbm"]
    return KnowledgeBase.from_frames(t, c, e)


@pytest.fixture(scope="module")
def kb_dir(kb, tmp_path_factory):
    path = tmp_path_factory.mktemp("kb")
    kb.save(path)
    return path
