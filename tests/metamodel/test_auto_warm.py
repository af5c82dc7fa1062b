"""``learner="auto"``'s warm start as ``tune`` runs it (one study per learner), on the shipped KB's joint pool."""

from __future__ import annotations

import numpy as np
import pytest

from metaopt.metamodel import ADAPTIVE_START, AutoWarmStartModel, MetaoptModel, Query, build_score_matrix, candidates
from metaopt.metamodel._auto_warm import learner_matrix


@pytest.fixture(scope="module")
def joint():
    """The corpus tasks' joint matrix over the four learners: 70 training tasks, 12 held out."""
    from metaopt.kb import KnowledgeBase, task_collections

    kb = KnowledgeBase.load()
    sm = build_score_matrix(kb, ["lightgbm", "random_forest", "extra_trees", "linear"]).pooled_tasks()
    corpus = [t for t in sm.dense_tasks() if task_collections(sm.tasks)[t] == "corpus"]
    if len(corpus) < 82:
        pytest.skip("the shipped KB lacks the corpus build's joint pools")
    rng = np.random.default_rng(0)
    tasks = [corpus[i] for i in rng.choice(len(corpus), size=82, replace=False)]
    return sm, tasks[:70], tasks[70:]


def test_each_learner_is_normalised_over_its_own_configurations(joint):
    sm, train, _ = joint
    own = learner_matrix(sm.subset(train), "random_forest")
    v = own.norm.to_numpy(dtype="float64")
    assert set(own.configs["learner"]) == {"random_forest"}
    assert np.allclose(np.nanmax(v, axis=1), 1.0) and np.nanmin(v) >= 0.0


def test_the_joint_ranking_shares_the_picks_and_each_learner_picks_as_its_own_study(joint):
    sm, train, held = joint
    model = AutoWarmStartModel().fit(sm.subset(train))
    learner = sm.configs["learner"]
    for t in held:
        query = Query.from_task(sm, t)
        truth = sm.norm.loc[t]
        picks = model.rank_observing(query, 5, lambda key: float(truth.get(key, np.nan)))
        top = model.rank(query, 5)
        assert len(picks) == len(set(picks)) == len(top)
        assert set(picks) <= set(candidates(sm, query.kind, query.pool))
        # the same learners in the same order and shares as the joint top 5
        assert [learner[p] for p in picks] == [learner[p] for p in top]
        mixed = len({learner[p] for p in top}) > 1
        primary = learner[top[0]] if mixed else None
        own_first = model.own_models_[learner[top[0]]].rank(query, ADAPTIVE_START)
        for lr in dict.fromkeys(learner[p] for p in top):
            mine = [p for p in picks if learner[p] == lr]
            first = own_first if lr == primary else [p for p in top if learner[p] == lr]
            assert mine[:ADAPTIVE_START] == first[:min(ADAPTIVE_START, len(mine))]


def test_without_scores_the_picks_after_the_first_two_differ_only_by_what_was_observed(joint):
    """The later picks read the held-out task's scores: other scores, other picks (on some task)."""
    sm, train, held = joint
    model = AutoWarmStartModel().fit(sm.subset(train))
    differ = 0
    for t in held:
        query = Query.from_task(sm, t)
        real = model.rank_observing(query, 8, lambda key: float(sm.norm.loc[t].get(key, np.nan)))
        flipped = model.rank_observing(query, 8, lambda key: -float(sm.norm.loc[t].get(key, np.nan)))
        differ += real != flipped
    assert differ > 0
    assert isinstance(model, MetaoptModel)
