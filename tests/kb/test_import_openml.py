"""``import_openml_runs`` through openml-python's real parsing code.

The OpenML server is unreachable here, so ``openml._api_calls._perform_api_call`` (the
single function every openml-python listing/getter calls with the REST endpoint and
that returns the response text) is replaced by a router that serves the XML files in
``fixtures/openml`` (OpenML's own response formats). Everything above it - openml-python's
XML parsing, paging, dataframe building, caching - runs unchanged.
"""

from __future__ import annotations

import json
import re

import pytest
from kb_support import FIXTURES

from metaopt.exceptions import ConfigError, KnowledgeBaseError
from metaopt.kb import KnowledgeBase

openml = pytest.importorskip("openml")
ROUTES_DIR = FIXTURES / "openml"


@pytest.fixture
def fake_openml(monkeypatch, tmp_path):
    routes = [(re.compile(p), ROUTES_DIR / f) for p, f in json.loads((ROUTES_DIR / "routes.json").read_text())]
    calls: list[str] = []

    def perform_api_call(call, request_method, data=None, file_elements=None):
        assert request_method == "get", f"unexpected {request_method} {call}"
        calls.append(call)
        for pattern, path in routes:
            if pattern.search(call):
                return path.read_text(encoding="utf-8")
        raise AssertionError(f"no fixture for OpenML API call {call!r}")

    monkeypatch.setattr(openml._api_calls, "_perform_api_call", perform_api_call)
    old_root = openml.config._root_cache_directory
    openml.config.set_root_cache_directory(str(tmp_path / "openml-cache"))
    yield calls
    openml.config.set_root_cache_directory(str(old_root))


def test_import_flow_on_tasks(fake_openml):
    from metaopt.kb import import_openml_runs

    kb = import_openml_runs(6969, task_ids=[31, 53], metric="predictive_accuracy")
    kb.validate()
    assert any(c.startswith("evaluation/list/function/predictive_accuracy/") and "/flow/6969" in c
               and "/task/31,53" in c for c in fake_openml)
    assert len(kb.tasks) == 2 and set(kb.tasks["kind"]) == {"binary", "multiclass"}
    t = kb.tasks.set_index("task_id")
    assert t.loc["openml-task/31", "dataset_key"] == "openml-data/31"
    assert t.loc["openml-task/53", "openml_data_id"] == 54 and t.loc["openml-task/53", "n_features"] == 18
    assert t.loc["openml-task/31", "ClassEntropy"] == pytest.approx(0.8813, abs=1e-4)  # full qualities
    assert t.loc["openml-task/31", "licence"].startswith("Public")
    ev = kb.evaluations.set_index(["task_id", "config_id"])
    assert len(ev) == 5  # six runs; two runs of setup 100 on task 31 averaged
    assert ev.loc[("openml-task/31", "openml-setup/100"), "accuracy"] == pytest.approx(0.755)
    assert set(kb.evaluations["source"]) == {"openml_api"}
    cfg = kb.configs.set_index("config_id")
    p100 = json.loads(cfg.loc["openml-setup/100", "params"])
    assert p100 == {"bootstrap": True, "criterion": "entropy", "max_features": 0.5032, "min_samples_leaf": 3,
                    "min_samples_split": 7, "n_estimators": 100}
    assert json.loads(cfg.loc["openml-setup/102", "params"])["max_features"] == "sqrt"  # "auto" -> "sqrt"
    native = json.loads(cfg.loc["openml-setup/100", "native_params"])
    assert native["sklearn.impute.SimpleImputer(6966)_strategy"] == '"median"'
    assert set(cfg["learner"]) == {"random_forest"} and set(cfg["origin"]) == {"openml_api"}


def test_import_suite_and_merge(fake_openml, tmp_path):
    from metaopt.kb import import_openml_runs

    kb = import_openml_runs(6969, suite=99, metric="predictive_accuracy", full_qualities=False)
    assert "study/99" in fake_openml and not any(c.startswith("data/") for c in fake_openml)
    assert "OpenML-CC18" in kb.sources[0]["description"]
    assert "ClassEntropy" not in kb.tasks.columns and kb.tasks["NumberOfInstances"].notna().all()
    kb.save(tmp_path / "kb")
    assert KnowledgeBase.load(tmp_path / "kb").counts()["evaluations"] == 5


def test_unmapped_metric_and_flow(fake_openml):
    from metaopt.kb import import_openml_runs

    with pytest.raises(ConfigError, match="not mapped"):
        import_openml_runs(6969, task_ids=[31], metric="f_measure")
    with pytest.raises(ConfigError, match="no tasks"):
        import_openml_runs(6969, task_ids=[], metric="predictive_accuracy")


def test_no_evaluations(monkeypatch, fake_openml):
    from metaopt.kb import import_openml_runs

    def no_result(*a, **k):
        raise openml.exceptions.OpenMLServerNoResult(code=542, message="No results", url="x")

    monkeypatch.setattr(openml._api_calls, "_perform_api_call", no_result)
    with pytest.raises(KnowledgeBaseError, match="no predictive_accuracy evaluations"):
        import_openml_runs(6969, task_ids=[31], metric="predictive_accuracy")
