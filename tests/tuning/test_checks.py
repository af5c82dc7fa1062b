"""``tune``'s argument checks: a learner the shipped KB lacks is refused, unless the KB is one's own; the
default number of trials with and without a time budget; the notes of the task loaded."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from metaopt.exceptions import ConfigError
from metaopt.tuning import DEFAULT_TRIALS, tune
from metaopt.tuning._checks import check_arguments, load_task

ARGS = dict(n_trials=5, timeout=None, cv=3, n_jobs=1, k=5, random_state=0)


def test_unoffered_learner_refused_with_the_shipped_kb(unoffered_learner):
    with pytest.raises(ConfigError, match="not offered yet"):
        check_arguments(**ARGS, learner=unoffered_learner)


def test_unoffered_learner_accepted_with_an_own_kb(tmp_path, unoffered_learner):
    budget = check_arguments(**ARGS, learner=unoffered_learner, kb=tmp_path)
    assert budget.n_trials == 5 and budget.cv == 3


def test_unknown_learner_refused_even_with_an_own_kb(tmp_path):
    with pytest.raises(ConfigError):
        check_arguments(**ARGS, learner="no_such_learner", kb=tmp_path)


def test_n_trials_auto_is_fifty_alone_and_uncapped_with_a_time_budget():
    args = dict(ARGS, learner="lightgbm")
    assert check_arguments(**dict(args, n_trials="auto")).n_trials == DEFAULT_TRIALS == 50
    assert check_arguments(**dict(args, n_trials="auto", timeout=30)).n_trials is None
    assert check_arguments(**dict(args, n_trials=7, timeout=30)).n_trials == 7  # a number caps either way
    with pytest.raises(ConfigError, match="n_trials must be 'auto', a positive integer or None, got 'all'"):
        check_arguments(**dict(args, n_trials="all"))
    with pytest.raises(ConfigError, match="n_trials or timeout"):
        check_arguments(**dict(args, n_trials=None))  # an explicit None still needs a time budget


def test_a_time_budget_alone_is_spent_not_cut_at_fifty_trials(credit_small):
    """FLAML's ``time_budget`` meaning: ``tune(timeout=...)`` keeps searching while there is time (the
    linear model on 300 rows with 2 folds runs a trial in a few hundredths of a second, so 20 s hold far
    more than 50 trials)."""
    kw = dict(target="class", learner="linear", cv=2, warm_start=False, sampler="random", progress=False,
              ensemble=False)
    res = tune(credit_small, timeout=20, **kw)
    assert res.summary.n_trials_run > DEFAULT_TRIALS
    assert tune(credit_small, **kw).summary.n_trials_run == DEFAULT_TRIALS  # no budget: the default 50


def test_the_notes_of_a_tuned_task_say_an_integer_coded_target_is_taken_as_regression():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=60), "grade": np.arange(60) % 5})
    ds, metric, notes = load_task(frame, None, "grade", None, None, 3)
    assert (ds.kind, metric) == ("regression", "rmse")
    assert any("'grade' is numeric with 5 distinct integer values: treated as regression" in n for n in notes)
    ds, metric, notes = load_task(frame, None, "grade", "multiclass", None, 3)
    assert ds.kind == "multiclass" and not any("treated as regression" in n for n in notes)


def test_the_notes_of_a_tuned_task_name_a_column_dropped_as_an_identifier():
    """A free-text column (a distinct value per row) is no feature: ``tune`` says it leaves it out."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=60), "remark": [f"called on day {i}" for i in range(60)],
                          "y": rng.normal(size=60)})
    ds, _, notes = load_task(frame, None, "y", None, None, 3)
    assert list(ds.X.columns) == ["a"]
    assert any(n.startswith("dropped id-like column(s): remark (a distinct value in nearly every row") for n in notes)
    _, _, kept = load_task(frame.drop(columns=["remark"]), None, "y", None, None, 3)
    assert not any("id-like" in n for n in kept)
