import itertools
import math

import numpy as np

from metaopt.metamodel import MetaoptModel, StaticPortfolio, lodo, summarise
from metaopt.metamodel._lodo import _expected_best_of_random
from metaopt.metamodel._normalise import build_score_matrix

from .conftest import small_kb


def test_expected_random_matches_brute_force():
    v = np.array([0.1, 0.9, 0.4, 1.0, 0.0])
    for k in (1, 2, 3):
        subsets = list(itertools.combinations(v, k))
        assert math.isclose(_expected_best_of_random(v, k)[0], np.mean([max(s) for s in subsets]))


def test_lodo_never_fits_on_held_out_dataset_group():
    kb = small_kb(per_kind=4, n_configs=20)
    # two tasks share a dataset: neither may be in the fit when the other is held out
    ids = list(kb.tasks["task_id"][:2])
    kb.tasks.loc[kb.tasks["task_id"].isin(ids), "dataset_key"] = "openml-data/shared"
    sm = build_score_matrix(kb, "lightgbm")
    fits: dict = {}
    res = lodo(sm, {"static": StaticPortfolio, "metaopt": lambda: MetaoptModel(n_models=1)}, ks=[1, 3],
               record_fits=fits)
    assert set(fits) == set(sm.task_ids)
    for held, per_method in fits.items():
        group = sm.tasks.at[held, "dataset_key"]
        same = set(sm.tasks.index[sm.tasks["dataset_key"] == group])
        for seen in per_method.values():
            assert not same & set(seen)
            assert len(seen) == len(sm.task_ids) - len(same)
    s = summarise(res)
    allrows = s[s["kind"] == "all"].set_index("method")
    assert allrows.at["oracle", 1] == 0.0
    assert ((res["regret"] >= 0) & (res["regret"] <= 1)).all()
    # more configurations never hurt
    assert (allrows[3] <= allrows[1] + 1e-12).all()


def test_lodo_holds_out_tasks_of_every_pool(sm_two_sources):
    """Tasks of both sources are held out, each scored against its own source's pool."""
    from metaopt.metamodel._lodo import default_config

    sm = sm_two_sources
    res = lodo(sm, {"static": StaticPortfolio}, ks=[1, 5])
    assert set(res["task_id"]) == set(sm.task_ids)
    assert set(res["pool"]) == set(sm.pool)
    assert ((res["regret"] >= 0) & (res["regret"] <= 1)).all()
    # our own pool's library default is LightGBM's own default configuration
    d = default_config(sm, "binary", "binary:corpus")
    assert sm.configs.at[d, "origin"] == "default" and d in sm.pool["binary:corpus"]
    assert default_config(sm, "binary", "binary:tabrepo").endswith("LightGBM_c1")


def test_lodo_methods_pickle_and_one_learner_ranks_only_its_learner():
    """The benchmark's model list lives here; its factories survive plain pickle (``lodo(n_jobs > 1)``)."""
    import pickle

    from metaopt.kb import KnowledgeBase
    from metaopt.metamodel import OneLearnerModel, Query, lodo_methods

    quick = lodo_methods(quick=True)
    assert list(quick) == ["metaopt", "metaopt (adaptive)", "static portfolio", "FLAML-style 1-NN"]
    full = lodo_methods(learners=["lightgbm", "random_forest"])
    assert list(full)[4:7] == ["metaopt (lightgbm only)", "metaopt (random_forest only)",
                               "metaopt (auto as tune runs it)"]
    assert len(full) == 11
    for name, factory in pickle.loads(pickle.dumps(full)).items():
        assert callable(factory), name
    kb = KnowledgeBase.load()
    ev = kb.evaluations
    by_learner = ev.groupby("learner")["task_id"].agg(set)
    both = by_learner["lightgbm"] & by_learner["random_forest"]
    t = kb.tasks[(kb.tasks["source"] == "corpus") & kb.tasks["task_id"].isin(both) & (kb.tasks["kind"] == "binary")]
    t = t.sort_values("task_id").head(6)
    e = ev[ev["task_id"].isin(t["task_id"]) & ev["learner"].isin(["lightgbm", "random_forest"])]
    sm = build_score_matrix(KnowledgeBase.from_frames(t, kb.configs[kb.configs["config_id"].isin(e["config_id"])], e))
    model = pickle.loads(pickle.dumps(full["metaopt (random_forest only)"]))()
    assert isinstance(model, OneLearnerModel) and model.name == "metaopt (random_forest only)"
    ranked = model.fit(sm).rank(Query.from_task(sm, sm.task_ids[0]), 5)
    assert len(ranked) == 5 and set(sm.configs.loc[ranked, "learner"]) == {"random_forest"}
    mean, _ = model.predict(Query.from_task(sm, sm.task_ids[0]))
    assert set(sm.configs.loc[mean.index, "learner"]) == {"random_forest"}


def test_one_learner_model_without_training_tasks_of_its_learner_ranks_nothing():
    """The collection split can hold out the only collection with a learner's results (extra trees: the
    corpus build): its one-learner model then has nothing to learn from and ranks nothing there."""
    from metaopt.metamodel import OneLearnerModel, Query

    sm = build_score_matrix(small_kb(4), "lightgbm")
    model = OneLearnerModel("extra_trees").fit(sm)
    query = Query.from_task(sm, sm.task_ids[0])
    assert model.rank(query, 5) == [] and model.predict(query)[0].empty and model.fitted_tasks_ == []
    assert len(OneLearnerModel("lightgbm").fit(sm).rank(query, 5)) == 5
