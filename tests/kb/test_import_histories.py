"""Importers of the real TabRepo and openml-pimp histories (skipped without /work/shared/data)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from metaopt.kb import KnowledgeBase


def test_tabrepo_counts(tabrepo_kb):
    kb = tabrepo_kb
    kb.validate()
    assert len(kb.evaluations) == 9672
    assert (len(kb.tasks), len(kb.configs)) == (93, 104)
    assert kb.tasks["kind"].value_counts().to_dict() == {"binary": 38, "regression": 31, "multiclass": 24}
    assert set(kb.evaluations["source"]) == {"tabrepo"} and set(kb.evaluations["protocol"]) == {"tabrepo-valid"}
    assert kb.tasks["openml_data_id"].notna().all() and kb.tasks["dataset_key"].str.startswith("openml-data/").all()
    src = kb.sources[0]
    assert src["name"] == "tabrepo" and src["licence"].startswith("Apache-2.0") and "varying" in src["licence"]
    assert src["commit"].startswith("c027dbd4")
    # metric mapping: binary -> roc_auc, multiclass -> log_loss, regression -> rmse
    kinds = kb.evaluations["task_id"].map(kb.tasks.set_index("task_id")["kind"])
    assert kb.evaluations.loc[kinds == "binary", "roc_auc"].between(0.4, 1).all()
    assert kb.evaluations.loc[kinds == "multiclass", "log_loss"].notna().all()
    assert kb.evaluations.loc[kinds == "regression", "rmse"].notna().all()
    assert kb.evaluations["fit_time_s"].notna().all()
    assert set(kb.meta_feature_names()) >= {"NumberOfInstances", "NumberOfFeatures", "NumberOfClasses"}


def test_tabrepo_config_mapping(tabrepo_kb):
    c = tabrepo_kb.configs.set_index("config_id")
    c1 = json.loads(c.loc["tabrepo/LightGBM_c1", "params"])
    assert c1 == {"colsample_bytree": 1.0, "extra_trees": False, "learning_rate": 0.05,
                  "min_child_samples": 20, "num_leaves": 31}
    c3 = json.loads(c.loc["tabrepo/LightGBM_c3", "params"])
    assert c3 == {"colsample_bytree": 0.9, "extra_trees": False, "learning_rate": 0.03,
                  "min_child_samples": 5, "num_leaves": 128}
    assert json.loads(c.loc["tabrepo/LightGBM_c3", "native_params"])["feature_fraction"] == 0.9
    assert set(c["origin"]) == {"tabrepo"}


def test_pimp_counts(pimp_kb):
    kb = pimp_kb
    kb.validate()
    assert len(kb.evaluations) == 47000 and len(kb.tasks) == 94 and len(kb.configs) == 47000
    assert kb.evaluations["accuracy"].between(0, 1).all()
    assert set(kb.tasks["kind"]) == {"binary", "multiclass"}
    assert len(kb.meta_feature_names()) >= 107
    # data ids from TabRepo's 289-task metadata where it covers the task
    assert kb.tasks["openml_data_id"].notna().sum() == 45
    no_did = kb.tasks[kb.tasks["openml_data_id"].isna()]
    assert (no_did["dataset_key"] == "openml-task/" + no_did["openml_task_id"].astype(str)).all()
    src = kb.sources[0]
    assert src["name"] == "openml_pimp" and src["licence"].startswith("BSD-3-Clause")
    assert src["commit"].startswith("349043fb")
    cfg = kb.configs.iloc[0]
    params, native = json.loads(cfg["params"]), json.loads(cfg["native_params"])
    assert set(params) == {"bootstrap", "criterion", "max_features", "min_samples_leaf", "min_samples_split",
                           "n_estimators"}
    assert native["columntransformer__numeric__imputer__strategy"] in ("mean", "median", "most_frequent")
    assert 0.1 <= params["max_features"] <= 0.9 and params["n_estimators"] == 100


def test_imported_params_are_valid_for_our_learners(tabrepo_kb, pimp_kb):
    learners = pytest.importorskip("metaopt.learners")
    for kb in (tabrepo_kb, pimp_kb):
        for learner, g in kb.configs.groupby("learner"):
            lrn = learners.get_learner(learner)
            for text in g["params"].iloc[:300]:
                lrn.validate_params(json.loads(text))


def test_merged_import_round_trip(tmp_path, tabrepo_kb, pimp_kb):
    kb = tabrepo_kb.merge(pimp_kb)
    assert len(kb.evaluations) == 9672 + 47000 and len(kb.tasks) == 93 + 94
    kb.save(tmp_path / "kb")
    back = KnowledgeBase.load(tmp_path / "kb")
    assert back.counts() == kb.counts()
    sc = back.scores("random_forest", "accuracy")
    assert sc.shape == (94, 47000) and np.isclose(sc.notna().sum().sum(), 47000)
    assert back.scores("lightgbm", "roc_auc").shape == (38, 104)
