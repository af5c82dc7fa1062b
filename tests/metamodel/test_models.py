import numpy as np
import pandas as pd
import pytest

from metaopt.metamodel import (ConditionedPortfolio, FitTimeModel, FlamlNearest, MetaFeatureSpace, MetaoptModel,
                               NearestTasks, Query, StaticPortfolio, Surrogate, greedy_portfolio)


def test_greedy_portfolio_known_answer():
    p = np.array([[1.0, 0.0, 0.6], [0.0, 1.0, 0.6], [0.0, 1.0, 0.6]])
    assert greedy_portfolio(p, 1) == [1]        # best on average
    assert greedy_portfolio(p, 2) == [1, 0]     # then what covers task 0
    assert greedy_portfolio(p, 1, weights=[1.0, 0.0, 0.0]) == [0]


def test_space_nan_aware_distance():
    meta = pd.DataFrame({"NumberOfInstances": [100, 1000, 10000, 100000.0],
                         "NumberOfFeatures": [5, 10, 20, 40.0], "NumberOfClasses": [2, 2, 3, 0.0]})
    sp = MetaFeatureSpace().fit(meta)
    x = sp.transform(meta)
    q = sp.transform({"NumberOfInstances": 1000.0})   # only one known feature + derived NaN
    assert np.isinf(sp.distances(q, x)).all()          # fewer than 2 shared features
    q = sp.transform({"NumberOfInstances": 1000.0, "NumberOfFeatures": 10.0})
    d = sp.distances(q, x)[0]
    assert np.argmin(d) == 1 and d[1] == pytest.approx(0.0, abs=1e-9)


def test_space_on_chosen_count_features_of_one_dtype():
    """Only float count features: the frame hands out a read-only array, which the log step must not write to."""
    meta = pd.DataFrame({"NumberOfInstances": [100, 1000, 10000.0], "NumberOfFeatures": [5, 10, 20.0],
                         "NumberOfClasses": [2, 2, 3.0]})
    sp = MetaFeatureSpace(features=["NumberOfInstances", "NumberOfFeatures", "NumberOfClasses"]).fit(meta)
    x = sp.transform(meta)
    assert np.isfinite(x).all() and np.argmin(sp.distances(x[1], x)[0]) == 1


def _query(sm, i=0):
    return Query.from_task(sm, sm.task_ids[i])


@pytest.mark.parametrize("factory", [StaticPortfolio, lambda: StaticPortfolio(per_kind=True), FlamlNearest,
                                     lambda: NearestTasks(5), lambda: ConditionedPortfolio(10),
                                     lambda: Surrogate(n_models=2, n_estimators=30),
                                     lambda: MetaoptModel(n_models=2)])
def test_each_model_ranks_pool_configs(sm_slice, factory):
    model = factory().fit(sm_slice)
    q = _query(sm_slice)
    ranked = model.rank(q, 5)
    assert len(ranked) == 5 and len(set(ranked)) == 5
    assert set(ranked) <= set(sm_slice.pool[q.pool])
    mean, std = model.predict(q)
    assert mean.notna().all()


def test_nearest_tasks_finds_itself(sm_slice):
    nn = NearestTasks(3).fit(sm_slice)
    t = sm_slice.task_ids[3]
    q = Query.from_task(sm_slice, t)
    assert nn.nearest(q, 1)[0][0] == t
    mean, std = nn.predict(q)
    # with itself as a neighbour its best configuration is predicted near the top
    best = sm_slice.norm.loc[t].idxmax()
    assert mean.rank(ascending=False)[best] <= 10


def test_surrogate_uncertainty(sm_slice):
    s = Surrogate(n_models=3, n_estimators=30).fit(sm_slice)
    mean, std = s.predict(_query(sm_slice))
    assert (std >= 0).all() and std.max() > 0 and mean.between(-0.5, 1.5).all()


def test_surrogate_same_models_on_one_core_or_several(sm_slice, monkeypatch):
    """Its bootstrap models fit one per core: how many cores must not change a prediction."""
    import metaopt.metamodel._surrogate as surrogate_module

    predictions = []
    for cores in (1, 3):
        monkeypatch.setattr(surrogate_module, "usable_cores", lambda cores=cores: cores)
        s = Surrogate(n_models=3, n_estimators=30).fit(sm_slice)
        predictions.append(s.predict(_query(sm_slice)))
    (m1, s1), (m3, s3) = predictions
    pd.testing.assert_series_equal(m1, m3, check_exact=True)
    pd.testing.assert_series_equal(s1, s3, check_exact=True)


def test_fit_time_model(sm_slice):
    ft = FitTimeModel().fit(sm_slice)
    keys = sm_slice.pool["binary:tabrepo"][:3]
    small = ft.predict(keys, 1000, 10, 2)
    big = ft.predict(keys, 100000, 10, 2)
    assert (small > 0).all() and (big > small).all()


@pytest.mark.parametrize("factory", [StaticPortfolio, FlamlNearest, lambda: ConditionedPortfolio(5),
                                     lambda: MetaoptModel(n_models=2)])
def test_models_rank_within_the_query_pool(sm_two_sources, factory):
    """Two sources evaluated different configurations: a task is ranked within its own source's pool."""
    sm = sm_two_sources
    model = factory().fit(sm)
    for t in (sm.dense_tasks("binary:tabrepo")[0], sm.dense_tasks("binary:corpus")[0]):
        q = Query.from_task(sm, t)
        assert set(model.rank(q, 4)) <= set(sm.pool[q.pool])
    # a new task (no pool given) gets the preferred pool: our own builder's
    assert set(model.rank(Query("binary", Query.from_task(sm, t).meta), 4)) <= set(sm.pool["binary:corpus"])


def test_metamodel_is_an_abstract_base(sm_slice):
    """Like Optuna's BaseSampler: a meta-model without fit and predict cannot be made."""
    from metaopt.metamodel import MetaModel

    with pytest.raises(TypeError, match="abstract"):
        MetaModel()

    class RankOnly(MetaModel):
        def fit(self, sm):
            return super().fit(sm)

        def rank(self, query, k):
            return []

    with pytest.raises(TypeError, match="predict"):
        RankOnly()

    class Constant(RankOnly):
        def predict(self, query):
            return pd.Series(0.5, index=self.sm_.pool_configs), None

    model = Constant().fit(sm_slice)
    assert model.fitted_tasks_ == list(sm_slice.task_ids)
    assert model.rank(_query(sm_slice), 3) == []


def test_surrogate_on_a_two_task_kb(sm_slice):
    """A Poisson bootstrap of two tasks draws neither of them for one model in seven: it must still fit."""
    two = sm_slice.subset(sm_slice.task_ids[:2])
    for seed in range(20):
        mean, std = Surrogate(n_models=3, n_estimators=5, random_state=seed).fit(two).predict(_query(two))
        assert np.isfinite(mean).all() and np.isfinite(std).all()


def _moved(q: Query, factor: float) -> Query:
    """``q`` with its count features scaled by ``factor``: a task ever further from the KB."""
    meta = {k: (v * factor if k.startswith("NumberOf") else v) for k, v in q.meta.items()}
    return Query(q.kind, meta, q.pool)


def test_a_novel_task_leans_on_the_whole_kb(sm_slice):
    """A KB task has novelty 0 and the configured even shares; beyond the KB the neighbours stop mattering."""
    model = MetaoptModel(n_models=2, fallback=False).fit(sm_slice)
    q = Query.from_task(sm_slice, sm_slice.task_ids[3])
    assert model.novelty(q) == 0.0
    assert model.even_shares(q) == (model.prior, model.prior_rest)
    # moved far out (count features x 1e6) it lies further from the KB than most KB tasks from each other
    far = _moved(q, 1e6)
    novelty = model.novelty(far)
    assert model.prior < novelty <= 1.0 and model.even_shares(far) == (novelty, novelty)
    # with every weight even, how many neighbours the model looks at no longer changes the ranking
    even = dict(n_models=2, fallback=False, prior=1.0, prior_rest=1.0)
    assert MetaoptModel(n_neighbours=3, **even).fit(sm_slice).rank(q, 5) == \
        MetaoptModel(n_neighbours=10, **even).fit(sm_slice).rank(q, 5)
    off = MetaoptModel(n_models=2, fallback=False, shrink_novel=False).fit(sm_slice)
    assert off.even_shares(far) == (off.prior, off.prior_rest)


def test_novelty_does_not_shrink_the_choice_of_learner():
    """A pool of several learners keeps the configured shares: the neighbours' learner choice transfers."""
    from metaopt.kb import KnowledgeBase
    from metaopt.metamodel import build_score_matrix

    kb = KnowledgeBase.load()
    ev = kb.evaluations
    both = set(ev.loc[ev["learner"] == "lightgbm", "task_id"]) & set(ev.loc[ev["learner"] == "random_forest", "task_id"])
    tasks = kb.tasks[kb.tasks["task_id"].isin(both) & (kb.tasks["kind"] == "binary")].sort_values("task_id").head(12)
    learners = ["lightgbm", "random_forest"]
    sub = KnowledgeBase.from_frames(tasks, kb.configs[kb.configs["learner"].isin(learners)],
                                    ev[ev["task_id"].isin(tasks["task_id"]) & ev["learner"].isin(learners)])
    sm = build_score_matrix(sub, None)
    model = MetaoptModel(n_models=2, fallback=False).fit(sm)
    far = _moved(Query.from_task(sm, sm.task_ids[0]), 1e6)
    assert {"lightgbm", "random_forest"} <= set(sm.configs["learner"])
    assert model.novelty(far) > model.prior and model.even_shares(far) == (model.prior, model.prior_rest)
