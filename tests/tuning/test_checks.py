"""``tune``'s argument checks: a learner the shipped KB lacks is refused, unless the KB is one's own."""

from __future__ import annotations

import pytest

from metaopt.exceptions import ConfigError
from metaopt.tuning._checks import check_arguments

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
