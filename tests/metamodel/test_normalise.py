import numpy as np
import pytest

from metaopt.exceptions import ConfigError, KnowledgeBaseError
from metaopt.metamodel import build_score_matrix, normalise_scores


def test_minmax_direction_and_nan():
    raw = np.array([[0.9, 0.8, np.nan, 0.7], [1.0, 3.0, 2.0, np.nan]])
    out = normalise_scores(raw, [True, False])
    np.testing.assert_allclose(out[0, [0, 1, 3]], [1.0, 0.5, 0.0])
    assert np.isnan(out[0, 2]) and np.isnan(out[1, 3])
    np.testing.assert_allclose(out[1, :3], [1.0, 0.0, 0.5])   # lower log loss / rmse is better


def test_constant_row_and_methods():
    assert normalise_scores([[0.5, 0.5, 0.5]], True).tolist() == [[1.0, 1.0, 1.0]]
    r = normalise_scores([[1.0, 2.0, 3.0, 4.0]], True, "rank")
    np.testing.assert_allclose(r[0], [0, 1 / 3, 2 / 3, 1])
    c = normalise_scores([[0.0] + [1.0 + i for i in range(10)]], True, "clipped")
    assert c.min() == 0.0 and c.max() == 1.0 and c[0, 1] > 0.0 or c[0, 1] == 0.0
    with pytest.raises(ConfigError):
        normalise_scores([[1.0]], True, "zscore")


def test_score_matrix_on_kb_slice(sm_slice):
    sm = sm_slice
    assert sm.norm.shape == (24, 104)
    v = sm.norm.to_numpy()
    assert np.nanmin(v) >= 0 and np.nanmax(v) <= 1
    np.testing.assert_allclose(np.nanmax(v, axis=1), 1.0)
    kinds = sm.tasks["kind"]
    assert set(sm.metric[kinds == "binary"]) == {"roc_auc"}
    assert set(sm.metric[kinds == "multiclass"]) == {"log_loss"}
    assert set(sm.metric[kinds == "regression"]) == {"rmse"}
    assert set(sm.pool) == {"binary:tabrepo", "multiclass:tabrepo", "regression:tabrepo"}
    assert len(sm.pool["binary:tabrepo"]) == 104
    assert (sm.task_pool == sm.tasks["kind"] + ":tabrepo").all()
    # the best raw log loss gets normalised score 1
    t = sm.tasks.index[kinds == "multiclass"][0]
    assert sm.norm.loc[t, sm.raw.loc[t].idxmin()] == 1.0


def test_unknown_learner(kb_slice):
    with pytest.raises(KnowledgeBaseError):
        build_score_matrix(kb_slice, "svm")


def test_one_pool_per_kind_and_source(sm_two_sources):
    sm = sm_two_sources
    assert set(sm.pool) == {f"{k}:{s}" for k in ("binary", "multiclass", "regression") for s in ("tabrepo", "corpus")}
    tabrepo, ours = set(sm.pool["binary:tabrepo"]), set(sm.pool["binary:corpus"])
    assert len(tabrepo) == 104 and len(ours) == 71 and not tabrepo & ours
    assert sm.pools_of("binary") == ["binary:corpus", "binary:tabrepo"]   # our protocol first
    assert sm.pool_for("binary") == "binary:corpus" and sm.pool_for("binary", "binary:tabrepo") == "binary:tabrepo"
    for name in sm.pool:
        dense = sm.dense_tasks(name)
        assert len(dense) == 6 and (sm.task_pool[dense] == name).all()
    sub = sm.subset(sm.dense_tasks("binary:corpus")[:2])
    assert list(sub.task_pool) == ["binary:corpus"] * 2


def _same_matrix(a, b):
    import pandas as pd

    for name in ("norm", "raw", "fit_time", "n_train_rows", "tasks", "meta", "configs"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True, obj=name)
    pd.testing.assert_series_equal(a.metric, b.metric, obj="metric")
    pd.testing.assert_series_equal(a.task_pool, b.task_pool, obj="task_pool")
    assert a.pool == b.pool


def _mixed_kb(kinds_with_pool):
    """TabRepo's LightGBM pool on tasks of ``kinds_with_pool`` beside openml-pimp's sparse random-forest runs."""
    from metaopt.kb import KnowledgeBase

    kb = KnowledgeBase.load()
    t = kb.tasks
    tab = t[(t["source"] == "tabrepo") & t["kind"].isin(kinds_with_pool)].sort_values("task_id").groupby("kind").head(5)
    pimp = t[t["source"] == "openml_pimp"].sort_values("task_id").groupby("kind").head(4)
    tasks = t[t["task_id"].isin(set(tab["task_id"]) | set(pimp["task_id"]))]
    e = kb.evaluations[kb.evaluations["task_id"].isin(tasks["task_id"])]
    return KnowledgeBase.from_frames(tasks, kb.configs[kb.configs["config_id"].isin(e["config_id"])], e)


@pytest.mark.parametrize("kinds_with_pool", [("binary", "multiclass"), ("binary",)])
def test_pooled_only_is_the_full_matrix_cut_to_its_pools(kinds_with_pool):
    """The recommender's matrix built directly equals the full one cut afterwards: every configuration's
    column where a kind has no pool, each task normalised over all its evaluations either way."""
    kb = _mixed_kb(kinds_with_pool)
    full = build_score_matrix(kb)
    kinds_pooled = {name.split(":")[0] for name in full.pool}
    assert kinds_pooled == set(kinds_with_pool) and len(full.norm.columns) > 1000  # the sparse runs are there
    cut = full.only_configs(full.pool_configs) if kinds_pooled >= set(full.tasks["kind"]) else full
    pooled = build_score_matrix(kb, pooled_only=True)
    _same_matrix(pooled, cut.pooled_tasks())
    assert len(pooled.norm.columns) < 200 if len(kinds_with_pool) == 2 else len(pooled.norm.columns) > 1000
