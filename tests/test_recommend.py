import json

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris

from metaopt._recommend import Recommendation, get_recommender, recommend
from metaopt.cli import main
from metaopt.exceptions import ConfigError, DataError
from metaopt.kb import KnowledgeBase


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


def _frame(loader):
    X, y = loader(return_X_y=True, as_frame=True)
    return X.assign(target=y.to_numpy())


@pytest.mark.parametrize("loader,kind", [(load_breast_cancer, "binary"), (load_iris, "multiclass"),
                                         (load_diabetes, "regression")])
def test_recommend_each_kind(kb, loader, kind):
    df = _frame(loader)
    if kind != "regression":
        df["target"] = df["target"].map(lambda v: f"c{v}")
    recs = recommend(df, target="target", k=3, kb=kb)
    assert len(recs) == 3 and all(isinstance(r, Recommendation) for r in recs)
    assert [r.rank for r in recs] == [1, 2, 3]
    for r in recs:
        assert r.learner == "lightgbm" and r.params and "learning_rate" in r.params
        assert np.isfinite(r.predicted_score) and r.predicted_score_std >= 0
        assert r.predicted_fit_time_s is None or r.predicted_fit_time_s > 0
        assert r.similar_tasks and r.rationale
    # the recommendation is for this kind: all similar tasks are of that kind
    kinds = kb.tasks.set_index("task_id")["kind"]
    assert {kinds[s["task_id"]] for s in recs[0].similar_tasks} == {kind}
    # params go straight into the estimator's constructor
    import lightgbm as lgb
    lgb.LGBMRegressor(**recs[0].params, n_jobs=1, verbose=-1)


def test_recommend_csv_and_xy(kb, tmp_path):
    df = _frame(load_breast_cancer)
    path = tmp_path / "bc.csv"
    df.to_csv(path, index=False)
    a = recommend(str(path), target="target", k=2, kb=kb)
    b = recommend(df.drop(columns="target"), y=df["target"], k=2, kb=kb)
    assert [r.config_id for r in a] == [r.config_id for r in b]


def test_diversity(kb):
    recs = recommend(_frame(load_breast_cancer), target="target", k=10, kb=kb)
    params = [json.dumps(r.params, sort_keys=True) for r in recs]
    assert len(set(params)) == 10
    rec = get_recommender(kb)
    keys = [f"lightgbm::{r.config_id}" for r in recs]
    corr = rec.model.corr_.loc[keys, keys].to_numpy()
    assert (corr[~np.eye(10, dtype=bool)] < 0.995).all()


def test_far_from_kb_falls_back_to_static_portfolio(kb):
    df = _frame(load_breast_cancer)
    weird = {"NumberOfInstances": 1e12, "NumberOfFeatures": 1e7, "NumberOfClasses": 2.0,
             "NumberOfNumericFeatures": 1.0, "NumberOfSymbolicFeatures": 1e7, "NumberOfMissingValues": 1e18,
             "MajorityClassSize": 1e12, "MinorityClassSize": 1.0, "NumberOfInstancesWithMissingValues": 1e12}
    recs = recommend(df, target="target", k=3, kb=kb, meta_features=weird)
    assert all(r.far_from_kb for r in recs)
    assert "far from the knowledge base" in recs[0].rationale
    rec = get_recommender(kb)
    static = [k.split("::")[1] for k in rec.model.static_.order_["binary"][:3]]
    assert [r.config_id for r in recs] == static
    near = recommend(df, target="target", k=3, kb=kb)
    assert not near[0].far_from_kb


def test_time_budget(kb):
    df = _frame(load_breast_cancer)
    recs = recommend(df, target="target", k=3, kb=kb, time_budget=1e-9)
    assert len(recs) == 3 and "No configuration is predicted to fit" in recs[0].rationale
    all_recs = recommend(df, target="target", k=20, kb=kb)
    budget = float(np.median([r.predicted_fit_time_s for r in all_recs]))
    for r in recommend(df, target="target", k=5, kb=kb, time_budget=budget):
        assert r.predicted_fit_time_s <= budget


@pytest.mark.parametrize("kwargs,exc", [({"k": 0}, ConfigError), ({"k": 2.5}, ConfigError),
                                        ({"learner": "svm"}, ConfigError), ({"time_budget": -1}, ConfigError),
                                        ({"kb": 42}, ConfigError), ({"target": "nope"}, DataError)])
def test_bad_input(kb, kwargs, exc):
    args = {"target": "target", "kb": kb, **kwargs}
    with pytest.raises(exc):
        recommend(_frame(load_breast_cancer), **args)


def test_cli_table_and_json(kb_dir, tmp_path, capsys):
    path = tmp_path / "iris.csv"
    _frame(load_iris).assign(target=lambda d: d["target"].map(lambda v: f"c{v}")).to_csv(path, index=False)
    assert main(["recommend", str(path), "--target", "target", "-k", "3", "--kb", str(kb_dir)]) == 0
    out = capsys.readouterr().out
    assert "multiclass" in out and out.count("lightgbm") >= 3 and "most similar KB tasks" in out
    assert main(["recommend", str(path), "--target", "target", "-k", "2", "--json", "--kb", str(kb_dir)]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert obj["kind"] == "multiclass" and len(obj["recommendations"]) == 2
    assert obj["recommendations"][0]["params"]
    assert main(["recommend", str(path), "--target", "nope", "--kb", str(kb_dir)]) == 2
    assert "error" in capsys.readouterr().err
    assert main(["recommend", str(path), "--target", "target", "-k", "0", "--kb", str(kb_dir)]) == 2
