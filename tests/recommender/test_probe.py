"""``recommend(probe=N)``: the KB portfolio's first N cross-validated on the data and ordered by that."""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes

from metaopt.cli import main
from metaopt.core import Protocol
from metaopt.data import load_data
from metaopt.exceptions import ConfigError
from metaopt.learners import get_learner
from metaopt.metamodel import Query
from metaopt.recommender import get_recommender, probe_first, probe_order, probe_scores, recommend


def _frame(loader):
    """The dataset with its target as the column ``target``."""
    return loader(as_frame=True).frame


def test_a_probe_is_the_kb_protocol_with_two_folds():
    ds = load_data(_frame(load_diabetes), target="target")
    params = [{"learning_rate": 0.1, "num_leaves": 8}, {"learning_rate": 0.02, "num_leaves": 64}]
    got = probe_scores(ds, [("lightgbm", p) for p in params], random_state=3)
    proto = Protocol(n_folds=2, seed=3)
    task = proto.prepare(ds)
    want = [proto.evaluate(get_learner("lightgbm"), p, task)["rmse"] for p in params]
    assert got == pytest.approx(want) and got[0] != got[1]
    # in two threads: the same folds and seeds, so the same scores, in the candidates' order; and the
    # caller's warning filters as they were (the fits' catch_warnings interleave in threads)
    filters = list(warnings.filters)
    assert probe_scores(ds, [("lightgbm", p) for p in params], random_state=3, n_jobs=2) == got
    assert warnings.filters == filters


def test_probes_order_in_the_metrics_direction_and_a_failed_probe_comes_last():
    assert probe_order([0.7, 0.9, 0.8], "binary") == [1, 2, 0]  # roc_auc: higher is better
    assert probe_order([30.0, 20.0, 25.0], "regression") == [1, 2, 0]  # rmse: lower is better
    assert probe_order([0.5, 0.5, 0.6], "binary") == [2, 0, 1]  # a tie keeps the ranking's order
    assert probe_order([math.nan, 0.6, math.nan, 0.7], "binary") == [3, 1, 0, 2]
    assert probe_order([math.nan, math.nan], "multiclass") == [0, 1]


def _portfolio(kb, kind: str, n: int) -> list[str]:
    """The config ids of the KB's static portfolio's first ``n`` for ``kind`` (``learner="auto"``'s joint pool)."""
    rec = get_recommender(kb, "auto")
    keys = rec.model.static_.rank(Query(kind, {}, rec.sm.pool_for(kind)), n)
    return [str(rec.sm.configs.at[key, "config_id"]) for key in keys]


def test_probes_choose_the_returned_among_the_portfolios_first(kb):
    df = _frame(load_breast_cancer)
    plain = recommend(df, target="target", k=3, kb=kb)
    probed = recommend(df, target="target", k=3, kb=kb, probe=3)
    assert [r.rank for r in probed] == [1, 2, 3]
    scores = [r.probe_score for r in probed]
    assert all(np.isfinite(scores)) and scores == sorted(scores, reverse=True)  # roc_auc
    # probe >= k: the probed are the KB portfolio's first three, not the ranking's
    head = _portfolio(kb, "binary", 3)
    assert {r.config_id for r in probed} == set(head) and set(head) != {r.config_id for r in plain}
    # each says what the probe measured; the winner says why it moved and where it came from
    assert "2 folds" in probed[0].reason and probed[0].rationale.startswith("Probed")
    assert "static portfolio" in probed[0].rationale
    assert all("on 2 folds here (#" in r.reason for r in probed[1:])
    # probe > k: the k best-probed of the portfolio's first `probe`
    two = recommend(df, target="target", k=2, kb=kb, probe=3)
    assert [r.config_id for r in two] == [r.config_id for r in probed[:2]]
    assert two[0].to_dict()["probe_score"] == pytest.approx(probed[0].probe_score, abs=1e-6)


def test_probes_fewer_than_k_order_the_rankings_first_and_keep_its_set(kb):
    df = _frame(load_breast_cancer)
    plain = recommend(df, target="target", k=4, kb=kb)
    probed = recommend(df, target="target", k=4, kb=kb, probe=3)
    assert sorted(r.config_id for r in probed) == sorted(r.config_id for r in plain)
    assert {r.config_id for r in probed[:3]} == {r.config_id for r in plain[:3]}
    scores = [r.probe_score for r in probed[:3]]
    assert all(np.isfinite(scores)) and scores == sorted(scores, reverse=True)
    # the unprobed fourth keeps its place and its reason
    assert probed[3].probe_score is None and probed[3].config_id == plain[3].config_id
    assert probed[3].reason == plain[3].reason


def test_probes_with_a_time_budget_come_from_the_portfolio_configurations_that_fit(kb):
    df = _frame(load_breast_cancer)
    time_of = {r.config_id: r.predicted_fit_time_s for r in recommend(df, target="target", k=1000, kb=kb)}
    budget = sorted(time_of.values())[len(time_of) // 2]  # about half of the configurations fit
    free = recommend(df, target="target", k=3, kb=kb, probe=3)
    tight = recommend(df, target="target", k=3, kb=kb, probe=3, time_budget=budget)
    assert all(r.predicted_fit_time_s <= budget and r.probe_score is not None for r in tight)
    fitting = [c for c in _portfolio(kb, "binary", 1000) if time_of[c] <= budget]
    assert {r.config_id for r in tight} == set(fitting[:3])  # the portfolio's first three that fit
    # without the budget the portfolio's first three hold one that does not fit: it made room for the next
    assert any(r.predicted_fit_time_s > budget for r in free)
    assert {r.config_id for r in tight} != {r.config_id for r in free}


def test_a_configuration_whose_probe_fails_comes_last_and_says_so(kb):
    ds = load_data(_frame(load_breast_cancer), target="target")
    plain = recommend(ds, k=3, kb=kb, learner="lightgbm")
    broken = dataclasses.replace(plain[0], params={**plain[0].params, "num_leaves": -5})
    got = probe_first(ds, [broken, *plain[1:]], 3)
    assert [r.config_id for r in got][-1] == broken.config_id and math.isnan(got[-1].probe_score)
    assert got[-1].reason == "probed: its fit failed on 2 folds here"
    assert [r.rank for r in got] == [1, 2, 3] and np.isfinite([r.probe_score for r in got[:2]]).all()


def test_a_bad_probe_is_a_config_error_and_exit_code_2(kb, kb_dir, tmp_path, capsys):
    df = _frame(load_breast_cancer)
    with pytest.raises(ConfigError, match="probe"):
        recommend(df, target="target", k=2, kb=kb, probe=-1)
    with pytest.raises(ConfigError, match="n_jobs"):
        recommend(df, target="target", k=2, kb=kb, probe=2, n_jobs=0)
    path = tmp_path / "bc.csv"
    df.to_csv(path, index=False)
    assert main(["recommend", str(path), "--target", "target", "-k", "2", "--probe", "-1", "--kb", str(kb_dir)]) == 2
    assert "--probe must be an integer >= 0, got -1" in capsys.readouterr().err
    assert main(["recommend", str(path), "--target", "target", "--probe", "2", "--jobs", "0", "--kb", str(kb_dir)]) == 2
    assert "--jobs must be a positive integer, got 0" in capsys.readouterr().err
    assert main(["recommend", str(path), "--target", "target", "-k", "2", "--probe", "2", "--jobs", "2", "--json",
                 "--kb", str(kb_dir)]) == 0
    assert '"probe_score"' in capsys.readouterr().out
    assert main(["recommend", str(path), "--target", "target", "-k", "3", "--probe", "3", "--kb", str(kb_dir)]) == 0
    table = capsys.readouterr().out
    assert "on 2 folds here" in table and "order: the probed ones by their scores on 2 folds" in table
    assert "the probed are the KB portfolio's first 3" in table
    assert main(["recommend", str(path), "--target", "target", "-k", "3", "--probe", "2", "--kb", str(kb_dir)]) == 0
    assert "the probed are the ranking's first 2; the rest as the ranking orders them" in capsys.readouterr().out
