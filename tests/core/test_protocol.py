"""The fixed CV protocol: folds, subsampling, metrics, failures and timeouts."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from metaopt.data import Dataset
from metaopt.learners import get_learner
from metaopt.core import ALL_METRICS, KIND_METRICS, Protocol, aligned_proba


def dataset(kind: str, n: int = 300, seed: int = 0) -> Dataset:
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=n), rng.normal(size=n)
    c = pd.Categorical(rng.choice(["u", "v", "w"], size=n))
    X = pd.DataFrame({"a": a, "b": b, "c": c})
    X.loc[X.index[::9], "a"] = np.nan
    s = a + 0.5 * b + rng.normal(scale=0.5, size=n)
    if kind == "regression":
        y = pd.Series(s, dtype="float64")
    elif kind == "binary":
        y = pd.Series(pd.Categorical(np.where(s > 0, "yes", "no")))
    else:
        y = pd.Series(pd.Categorical(np.digitize(s, [-0.7, 0.0, 0.7]).astype(str)))
    return Dataset(X=X, y=y, kind=kind, name=f"synthetic-{kind}")


def test_name_and_defaults():
    p = Protocol()
    assert p.name == "cv5-s0-max10000"
    assert Protocol(n_folds=3, seed=2, max_rows=None).name == "cv3-s2-full"


def test_folds_deterministic_and_stratified():
    ds = dataset("binary", n=200)
    p = Protocol(n_folds=5)
    f1, f2 = p.folds(ds.y, "binary"), p.folds(ds.y, "binary")
    assert len(f1) == 5
    for (a, b), (c, d) in zip(f1, f2):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, d)
    all_test = np.concatenate([te for _, te in f1])
    assert sorted(all_test.tolist()) == list(range(200))
    share = (ds.y == "yes").mean()
    for _, te in f1:
        assert abs((ds.y.iloc[te] == "yes").mean() - share) < 0.03


def test_subsample_cap_is_stratified_and_recorded():
    ds = dataset("multiclass", n=1000)
    p = Protocol(n_folds=3, max_rows=300)
    rows = p.subsample(ds.y, "multiclass")
    assert len(rows) == 300 and len(set(rows)) == 300
    full = ds.y.value_counts(normalize=True)
    sub = ds.y.iloc[rows].value_counts(normalize=True)
    assert (full - sub).abs().max() < 0.02
    res = p.evaluate(get_learner("lightgbm"), {"n_estimators": 10}, ds)
    assert res["n_train_rows"] == 200 and res["protocol"] == "cv3-s0-max300"


@pytest.mark.parametrize("kind", ["binary", "multiclass", "regression"])
def test_metrics_per_kind(kind):
    ds = dataset(kind)
    res = Protocol(n_folds=3).evaluate(get_learner("lightgbm"), {"learning_rate": 0.1}, ds)
    assert res["status"] == "ok" and res["error"] is None
    assert res["n_folds"] == 3 and res["fit_time_s"] > 0 and res["predict_time_s"] > 0
    assert 1 <= res["n_estimators_used"] < 2000
    for m in ALL_METRICS:
        if m in KIND_METRICS[kind]:
            assert len(res[f"{m}_folds"]) == 3
            assert res[m] == pytest.approx(np.mean(res[f"{m}_folds"]))
        else:
            assert res[m] is None and res[f"{m}_folds"] is None
    if kind == "binary":
        assert 0.7 < res["roc_auc"] <= 1 and 0 < res["log_loss"] < 0.7 and 0.6 < res["accuracy"] <= 1
    elif kind == "multiclass":
        assert 0 < res["log_loss"] < 1.4 and 0.4 < res["accuracy"] <= 1 and 0.6 < res["roc_auc"] <= 1
    else:
        assert 0 < res["rmse"] < 1.5 and 0.2 < res["r2"] <= 1


def test_same_result_twice_and_for_sklearn_learners():
    ds = dataset("binary")
    p = Protocol(n_folds=3)
    r1 = p.evaluate(get_learner("lightgbm"), {}, ds)
    r2 = p.evaluate(get_learner("lightgbm"), {}, p.prepare(ds))
    assert r1["roc_auc_folds"] == r2["roc_auc_folds"]
    for name in ("random_forest", "extra_trees"):
        r = p.evaluate(get_learner(name), {}, ds)
        assert r["status"] == "ok" and 0.7 < r["roc_auc"] <= 1


def test_failure_is_recorded_not_raised():
    ds = dataset("binary")
    res = Protocol(n_folds=3).evaluate(get_learner("lightgbm"), {"num_leaves": 1}, ds)
    assert res["status"] == "failed" and "num_leaves" in res["error"]
    assert res["roc_auc"] is None and res["roc_auc_folds"] is None and res["n_folds"] is None
    res = Protocol(n_folds=3).evaluate(get_learner("lightgbm"), {"no_such": 1}, ds)
    assert res["status"] == "failed" and "ConfigError" in res["error"]


def test_timeout_marks_and_stops_folds():
    ds = dataset("binary")
    res = Protocol(n_folds=3, time_limit_s=0.0).evaluate(get_learner("lightgbm"), {"learning_rate": 0.001}, ds)
    assert res["status"] == "timeout" and "limit" in res["error"]
    assert res["n_folds"] == 1 and len(res["roc_auc_folds"]) == 1
    res = Protocol(n_folds=3, time_limit_s=0.0).evaluate(get_learner("random_forest"), {}, ds)
    assert res["status"] == "timeout"


def test_rare_class_absent_from_training_fold():
    # a class with 1 member: some training folds miss it; probabilities are aligned, log loss finite
    ds = dataset("multiclass", n=120)
    y = ds.y.astype(str).to_numpy().copy()
    y[0] = "rare"
    ds.y = pd.Series(pd.Categorical(y))
    res = Protocol(n_folds=3).evaluate(get_learner("lightgbm"), {"n_estimators": 20}, ds)
    assert res["status"] == "ok"
    assert all(math.isfinite(v) for v in res["log_loss_folds"])


def test_aligned_proba():
    class M:
        classes_ = np.array(["b", "c"], dtype=object)

        def predict_proba(self, X):
            return np.array([[0.25, 0.75]] * len(X))

    out = aligned_proba(M(), pd.DataFrame({"x": [1, 2]}), np.array(["a", "b", "c"], dtype=object))
    np.testing.assert_allclose(out, [[0, 0.25, 0.75]] * 2)


@pytest.mark.parametrize("kind", ["binary", "regression"])
def test_grouped_folds_never_split_a_group_and_follow_the_seed(kind):
    ds = dataset(kind, n=300)
    groups = pd.Series(np.random.default_rng(1).integers(0, 40, ds.n_rows))
    folds = Protocol(n_folds=5, seed=0).folds(ds.y, kind, groups)
    assert len(folds) == 5 and sorted(np.concatenate([te for _, te in folds]).tolist()) == list(range(ds.n_rows))
    for tr, te in folds:
        assert not set(groups[tr]) & set(groups[te])
    again = Protocol(n_folds=5, seed=0).folds(ds.y, kind, groups)
    other = Protocol(n_folds=5, seed=1).folds(ds.y, kind, groups)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(folds, again))
    assert not all(np.array_equal(a[1], b[1]) for a, b in zip(folds, other))
    if kind == "binary":  # stratified where the groups allow: every test fold near the overall share
        share = (ds.y == ds.y.iloc[0]).mean()
        assert all(abs((ds.y.iloc[te] == ds.y.iloc[0]).mean() - share) < 0.15 for _, te in folds)


def test_time_ordered_folds_fit_on_earlier_rows_latest_block_first():
    ds = dataset("binary", n=240)
    times = pd.Series(np.random.default_rng(2).permutation(240).astype(float))
    folds = Protocol(n_folds=5, seed=0).folds(ds.y, "binary", order=times)
    assert len(folds) == 5
    for tr, te in folds:
        assert times[tr].max() < times[te].min()
    starts = [times[te].min() for _, te in folds]
    assert starts == sorted(starts, reverse=True)  # fold 0 (a holdout plan's only fold) is the latest
    other_seed = Protocol(n_folds=5, seed=9).folds(ds.y, "binary", order=times)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(folds, other_seed))  # time decides, not the seed


def test_time_ordered_folds_never_split_the_rows_of_one_time():
    """Daily data: TimeSeriesSplit's row blocks would cut days in two; the boundaries move to a change of day,
    and without ties the folds are TimeSeriesSplit's own."""
    from sklearn.model_selection import TimeSeriesSplit

    rng = np.random.default_rng(3)
    days = pd.Series(rng.choice(np.arange(11), size=200, p=np.r_[0.3, np.full(10, 0.07)]).astype(float))
    ds = dataset("binary", n=200)
    folds = Protocol(n_folds=5).folds(ds.y, "binary", order=days)
    assert len(folds) == 5
    for tr, te in folds:
        assert days[tr].max() < days[te].min()  # strictly earlier: no day on both sides
        assert len(np.intersect1d(tr, te)) == 0
    tested = np.concatenate([te for _, te in folds])
    assert len(tested) == len(np.unique(tested))  # test blocks do not overlap
    assert len(Protocol(n_folds=5).folds(ds.y, "binary", order=pd.Series([0.0] * 190 + [1.0] * 10))) == 1
    unique = pd.Series(rng.permutation(200).astype(float))
    ranked = np.argsort(unique.to_numpy())
    theirs = [(ranked[tr], ranked[te]) for tr, te in TimeSeriesSplit(5).split(ranked)][::-1]
    ours = Protocol(n_folds=5).folds(ds.y, "binary", order=unique)
    assert all(np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]) for a, b in zip(ours, theirs))
