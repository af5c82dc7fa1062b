"""Our qualities against the values OpenML computed (LCDB and TabRepo tables).

Needs the shared data folder (``$METAOPT_SHARED_DATA`` or ``<repo>/../shared/data``);
skips otherwise. The comparison itself lives in ``benchmarks/report_openml_agreement.py``.
"""

from __future__ import annotations

import importlib.util

import pytest
from shared_support import REPO, shared_data_dir

DATA = shared_data_dir()

pytestmark = pytest.mark.skipif(
    not (DATA / "openml_qualities" / "corpus_overlap.csv").exists(),
    reason=f"OpenML reference data not found under {DATA} (set METAOPT_SHARED_DATA)",
)


@pytest.fixture(scope="module")
def comparison():
    spec = importlib.util.spec_from_file_location(
        "report_openml_agreement", REPO / "benchmarks" / "report_openml_agreement.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    long = mod.compare(DATA)
    return long, mod.summarise(long)


def test_enough_comparisons(comparison):
    long, (per_q, _) = comparison
    assert long["dataset"].nunique() >= 35
    assert set(per_q["group"]) == {"general", "statistical", "info-theory"}
    assert len(per_q) >= 55


def test_general_exact_where_shapes_agree(comparison):
    long, _ = comparison
    gen = long[(long["group"] == "general") & long["shape_match"]]
    bad = gen[~gen["equal"]]
    assert bad.empty, bad.to_string()


@pytest.mark.parametrize("group", ["statistical", "info-theory"])
def test_value_based_qualities_within_5_percent(comparison, group):
    _, (per_q, _) = comparison
    sub = per_q[per_q["group"] == group]
    assert len(sub) >= 15
    worst = sub.sort_values("median_rel_error").iloc[-1]
    assert worst["median_rel_error"] <= 0.05, worst.to_dict()
