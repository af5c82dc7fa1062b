import pytest

from metaopt.kb import KnowledgeBase


def small_kb(per_kind: int = 8, n_configs: int | None = None, sources=("tabrepo",)) -> KnowledgeBase:
    """A slice of the shipped KB's LightGBM matrices: ``per_kind`` tasks of each kind from each of ``sources``."""
    kb = KnowledgeBase.load()
    with_lgbm = kb.evaluations.loc[kb.evaluations["learner"] == "lightgbm", "task_id"].unique()
    t = kb.tasks[kb.tasks["source"].isin(sources) & kb.tasks["task_id"].isin(with_lgbm)].sort_values("task_id")
    t = t.groupby(["kind", "source"], group_keys=False).head(per_kind)
    e = kb.evaluations[kb.evaluations["task_id"].isin(t["task_id"]) & (kb.evaluations["learner"] == "lightgbm")]
    c = kb.configs[kb.configs["learner"] == "lightgbm"]
    if n_configs is not None:
        keep = list(c["config_id"].iloc[:n_configs])
        c = c[c["config_id"].isin(keep)]
        e = e[e["config_id"].isin(keep)]
    return KnowledgeBase.from_frames(t, c, e)


@pytest.fixture(scope="session")
def kb_slice():
    return small_kb()


@pytest.fixture(scope="session")
def sm_two_sources():
    """TabRepo and our own corpus build side by side: two pools per kind."""
    from metaopt.metamodel import build_score_matrix
    return build_score_matrix(small_kb(6, sources=("tabrepo", "corpus")), "lightgbm")


@pytest.fixture(scope="session")
def sm_slice(kb_slice):
    from metaopt.metamodel import build_score_matrix
    return build_score_matrix(kb_slice, "lightgbm")


@pytest.fixture(autouse=True)
def _cache_dir(tmp_path, monkeypatch):
    """Keep the meta-model disk cache (metaopt.metamodel._persist) out of the user's home."""
    monkeypatch.setenv("METAOPT_CACHE_DIR", str(tmp_path / "metaopt-cache"))
