"""What a learner knows about itself: aliases, pool seeds, foreign histories' names - and nobody else does."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from metaopt.exceptions import ConfigError
from metaopt.learners import get_learner, list_learners

PKG = Path(__file__).resolve().parents[2] / "metaopt"


def test_lightgbm_aliases_are_one_table_for_the_study_import_and_the_warm_start():
    from metaopt.kb._import_study import map_trial_params
    from metaopt.warmstart import resolve_param_names

    lg = get_learner("lightgbm")
    assert set(lg.aliases.values()) <= set(lg.param_specs())
    # names the warm start knew but the study import refused before the tables were merged
    trial = {"shrinkage_rate": 0.05, "num_leaf": 31, "min_data": 10, "sub_feature": 0.8, "lambda": 1.0,
             "extra_tree": True}
    assert map_trial_params(trial, "lightgbm") == {"learning_rate": 0.05, "num_leaves": 31,
                                                   "min_child_samples": 10, "colsample_bytree": 0.8,
                                                   "reg_lambda": 1.0, "extra_trees": True}
    assert resolve_param_names("lightgbm", None, list(trial)) == {
        "learning_rate": "shrinkage_rate", "num_leaves": "num_leaf", "min_child_samples": "min_data",
        "colsample_bytree": "sub_feature", "reg_lambda": "lambda", "extra_trees": "extra_tree"}


def test_tabrepo_names_and_autogluon_defaults():
    lg = get_learner("lightgbm")
    hp = {"learning_rate": 0.03, "num_leaves": 128, "feature_fraction": 0.9, "min_data_in_leaf": 5}
    assert lg.from_foreign_params("tabrepo", hp) == {"learning_rate": 0.03, "num_leaves": 128,
                                                     "colsample_bytree": 0.9, "min_child_samples": 5}
    # unset: AutoGluon's learning rate (0.05), with complete=True also LightGBM's defaults of the rest
    assert lg.from_foreign_params("tabrepo", {"extra_trees": True}) == {"learning_rate": 0.05,
                                                                        "extra_trees": True}
    assert lg.from_foreign_params("tabrepo", {}, complete=True) == {
        "learning_rate": 0.05, "num_leaves": 31, "min_child_samples": 20, "colsample_bytree": 1.0,
        "extra_trees": False}
    with pytest.raises(ConfigError, match=r"tabrepo parameters \['max_bin'\] have no mapping"):
        lg.from_foreign_params("tabrepo", {"max_bin": 63})
    with pytest.raises(ConfigError, match="must be >= 2"):
        lg.from_foreign_params("tabrepo", {"num_leaves": 1})
    with pytest.raises(ConfigError, match="cannot read 'openml_pimp' histories"):
        lg.from_foreign_params("openml_pimp", {})


def test_openml_pimp_names_of_the_random_forest():
    rf = get_learner("random_forest")
    run = {"randomforestclassifier__bootstrap": False, "randomforestclassifier__criterion": "entropy",
           "randomforestclassifier__max_features": 0.25, "randomforestclassifier__min_samples_leaf": 3.0,
           "randomforestclassifier__min_samples_split": 7, "randomforestclassifier__n_estimators": 100}
    assert rf.from_foreign_params("openml_pimp", run) == {
        "bootstrap": False, "criterion": "entropy", "max_features": 0.25, "min_samples_leaf": 3,
        "min_samples_split": 7, "n_estimators": 100}


@pytest.mark.parametrize("name,sizes", [("lightgbm", (1, 6, 64)), ("random_forest", (1, 2, 32)),
                                        ("extra_trees", (1, 2, 32))])
def test_pool_parts_come_from_the_learner(name, sizes):
    from metaopt.kb._pool import build_pool, make_config

    learner = get_learner(name)
    pool = build_pool(name, "binary")
    counts = tuple(sum(c.origin == o for c in pool) for o in ("default", "known-good", "sobol"))
    assert counts == sizes and learner.pool_sobol == sizes[2]
    known = [c for c in pool if c.origin == "known-good"]
    assert known == [make_config(name, p, "known-good", note) for p, note in learner.known_good_configs("binary")]


def _learner_name_branches(path: Path, names: set[str]) -> list[str]:
    hits = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not (isinstance(node, ast.Compare) and isinstance(node.left, ast.Attribute) and node.left.attr == "name"):
            continue
        consts = [c for comp in node.comparators for c in ast.walk(comp) if isinstance(c, ast.Constant)]
        if any(c.value in names for c in consts):
            hits.append(f"{path.relative_to(PKG.parent)}:{node.lineno}")
    return hits


def test_no_code_outside_the_learners_branches_on_a_learner_s_name():
    names = set(list_learners(include_unoffered=True))
    hits = [h for p in sorted(PKG.rglob("*.py")) if "learners" not in p.relative_to(PKG).parts
            for h in _learner_name_branches(p, names)]
    assert not hits, "learner-specific branches (move the knowledge onto the Learner): " + ", ".join(hits)
