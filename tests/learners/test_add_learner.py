"""Adding a learner is one class plus its registry line (docs/learners.md, "Adding a learner").

The learner here - scikit-learn's histogram gradient boosting - exists only in this file: it is
registered by a fixture that unregisters it again, and then goes through the real pipeline: the
pool of the knowledge-base builder on three small corpus datasets, ``recommend`` on that KB and a
few trials of ``tune``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from optuna.distributions import FloatDistribution, IntDistribution
from shared_support import shared_data_dir

from metaopt.exceptions import ConfigError
from metaopt.learners import (
    EncodingPreprocessor,
    Learner,
    Param,
    get_learner,
    list_learners,
    register_learner,
    unregister_learner,
)

CORPUS = shared_data_dir() / "corpus"
CREDIT_G = Path(__file__).resolve().parents[2] / "examples" / "data" / "credit-g.csv"
KB_TASKS = ["analcatdata_creditscore", "csb_ch14", "prnn_synth"]  # binary, 100 / 130 / 250 rows
needs_corpus = pytest.mark.skipif(not (CORPUS / "catalog.csv").is_file(), reason="shared corpus data absent")


class HistGBLearner(Learner):
    """scikit-learn's ``HistGradientBoosting*``: the whole learner, as a user would write it."""

    name = "hist_gb"
    id_prefix = "hgb"
    zero_is_low = ("l2_regularization",)
    aliases = {"eta": "learning_rate", "num_leaves": "max_leaf_nodes", "min_data_in_leaf": "min_samples_leaf",
               "lambda_l2": "l2_regularization"}
    pool_sobol = 2

    def param_specs(self) -> dict[str, Param]:
        return {"learning_rate": Param("float", 0.0, low_open=True), "max_iter": Param("int", 1, 100_000),
                "max_leaf_nodes": Param("int", 2, 1_000_000), "min_samples_leaf": Param("int", 1, 1_000_000),
                "l2_regularization": Param("float", 0.0)}

    def search_space(self, kind=None):
        return {"learning_rate": FloatDistribution(0.01, 0.3, log=True),
                "max_leaf_nodes": IntDistribution(4, 64, log=True),
                "min_samples_leaf": IntDistribution(2, 50, log=True),
                "l2_regularization": FloatDistribution(1e-3, 10.0, log=True)}

    def default_params(self, kind=None):
        return {"learning_rate": 0.1, "max_leaf_nodes": 31, "min_samples_leaf": 20, "l2_regularization": 0.0}

    def known_good_configs(self, kind):
        return [({"learning_rate": 0.05, "max_leaf_nodes": 15, "min_samples_leaf": 10},
                 {"source": "test", "name": "smaller-trees"})]

    def make_estimator(self, params, kind, random_state=0):
        from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

        self.check_kind(kind)
        cls = HistGradientBoostingRegressor if kind == "regression" else HistGradientBoostingClassifier
        params = {"max_iter": 50, **self.validate_params(params, kind)}  # 50 rounds: a fast test
        return cls(**params, early_stopping=False, random_state=random_state)

    def preprocess(self):
        return EncodingPreprocessor()

    def fit_estimator(self, est, Z, y, params, kind, Z_valid, y_valid, time_limit_s, random_state):
        est.fit(Z, y)
        return est, float(est.n_iter_), False, False


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """HistGradientBoosting fits and predicts with OpenMP threads; metaopt's estimators use one."""
    import sklearn.ensemble  # noqa: F401  (loads the OpenMP runtime, so that the limit reaches it)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="openmp"):
        yield


@pytest.fixture
def hist_gb():
    learner = register_learner(HistGBLearner())
    yield learner
    unregister_learner(learner.name)


def test_registration_is_undone(hist_gb):
    assert get_learner("hist_gb") is hist_gb and "hist_gb" in list_learners()
    with pytest.raises(ConfigError, match="already registered"):
        register_learner(HistGBLearner())
    unregister_learner("hist_gb")
    assert "hist_gb" not in list_learners()
    with pytest.raises(ConfigError, match="unknown learner 'hist_gb'"):
        get_learner("hist_gb")
    register_learner(hist_gb)  # for the fixture's teardown


def test_a_learner_must_define_the_abstract_methods():
    class Half(Learner):
        name, id_prefix = "half", "hf"

        def search_space(self, kind=None):
            return {}

    with pytest.raises(TypeError, match="abstract"):
        Half()


def test_an_id_prefix_is_one_learner_s(hist_gb):
    class Clash(HistGBLearner):
        name = "hist_gb_2"
        id_prefix = "lgbm"

    with pytest.raises(ConfigError, match="'lgbm' of 'hist_gb_2' is already used by 'lightgbm'"):
        register_learner(Clash())


def test_pool_comes_from_the_learner(hist_gb):
    from metaopt.kb._pool import build_pool, kind_group

    pool = build_pool("hist_gb", "binary")
    assert [c.origin for c in pool] == ["default", "known-good", "sobol", "sobol"]
    assert all(c.config_id.startswith("hgb-") and c.learner == "hist_gb" for c in pool)
    assert pool[1].native_params == {"source": "test", "name": "smaller-trees"}
    assert kind_group("hist_gb", "regression") == "all"  # same space and defaults for every kind


def test_aliases_reach_the_warm_start(hist_gb):
    from metaopt.warmstart import resolve_param_names

    names = resolve_param_names("hist_gb", None, ["eta", "num_leaves", "model__min_samples_leaf"])
    assert names == {"learning_rate": "eta", "max_leaf_nodes": "num_leaves",
                     "min_samples_leaf": "model__min_samples_leaf"}


@pytest.fixture(scope="module")
def hist_gb_kb(tmp_path_factory):
    """A tiny KB of the test learner's pool on three corpus datasets, built by the real builder."""
    if not (CORPUS / "catalog.csv").is_file():
        pytest.skip("shared corpus data absent")
    from metaopt.kb import build_kb

    learner = register_learner(HistGBLearner())
    try:
        out = tmp_path_factory.mktemp("hist_gb_kb")
        summary = build_kb(CORPUS, out, learners=("hist_gb",), folds=3, tasks=KB_TASKS, progress=False)
    finally:
        unregister_learner(learner.name)
    assert summary["units_failed"] == 0, summary["errors"]
    return out


@needs_corpus
def test_pool_evaluated_by_the_builder(hist_gb_kb):
    from metaopt.kb import KnowledgeBase

    kb = KnowledgeBase.load(hist_gb_kb)
    assert set(kb.configs["learner"]) == {"hist_gb"} and len(kb.configs) == 4
    ev = kb.evaluations
    assert len(ev) == 3 * 4 and (ev["status"] == "ok").all()
    assert ev["roc_auc"].between(0.5, 1.0).all() and (ev["n_estimators_used"] == 50).all()
    known = kb.configs[kb.configs["origin"] == "known-good"].iloc[0]
    assert json.loads(known["params"]) == {"learning_rate": 0.05, "max_leaf_nodes": 15, "min_samples_leaf": 10}


@needs_corpus
def test_recommend_and_tune_on_the_new_learner(hist_gb, hist_gb_kb):
    import metaopt

    data = pd.read_csv(CREDIT_G).sample(300, random_state=0)  # credit-g is not in the KB
    recs = metaopt.recommend(data, target="class", k=3, kb=hist_gb_kb, learner="hist_gb")
    assert [r.learner for r in recs] == ["hist_gb"] * 3
    assert all(r.config_id.startswith("hgb-") and np.isfinite(r.predicted_score) for r in recs)
    assert all(set(r.params) <= set(hist_gb.param_specs()) for r in recs)
    # the KB default's l2_regularization=0 is written at the space's lower bound (zero_is_low)
    assert all(r.params.get("l2_regularization", 1e-3) >= 1e-3 for r in recs)

    result = metaopt.tune(data, target="class", learner="hist_gb", n_trials=4, cv=3, k=2, kb=hist_gb_kb,
                          progress=False)
    assert result.learner == "hist_gb"
    done = [t for t in result.study.trials if t.state.name == "COMPLETE"]
    assert len(done) == 4 and all(0.5 < t.value <= 1.0 for t in done)
    assert {json.dumps(r.params, sort_keys=True) for r in recs[:2]} <= {
        json.dumps(t.params, sort_keys=True) for t in done}  # the first trials are the recommendations
    assert result.model.predict_proba(data.drop(columns="class")).shape == (300, 2)
