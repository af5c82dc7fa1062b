"""The one greedy best-of-set loop behind the static/conditioned portfolios and MetaoptModel's later picks."""

import numpy as np
import pytest

from metaopt.metamodel import blend_rank, greedy_portfolio
from metaopt.metamodel._greedy import best_of_set, fill_unknown, unit_weights

# tasks x configurations: 0 and 1 are each best on one task, 2 is good on both, 3 copies 1
P = np.array([[1.0, 0.0, 0.7, 0.0],
              [0.0, 1.0, 0.7, 1.0]])


@pytest.mark.filterwarnings("ignore:Mean of empty slice")
def test_fill_unknown_and_unit_weights():
    p = fill_unknown(np.array([[np.nan, 1.0, np.nan], [0.5, np.inf, np.nan]]))
    assert p.tolist() == [[0.5, 1.0, 0.0], [0.5, 1.0, 0.0]]  # column mean of the known, else 0
    assert unit_weights(None, 4).tolist() == [0.25] * 4
    assert unit_weights(np.zeros(2), 2).tolist() == [0.5, 0.5]
    assert unit_weights(np.array([3.0, 1.0]), 2).tolist() == [0.75, 0.25]


def test_best_of_set_covers_what_the_chosen_miss():
    w = unit_weights(None, 2)
    assert best_of_set(P, w, 2) == [2, 0]                      # best mean, then what covers task 0 best
    assert best_of_set(P, w, 3, first=0) == [0, 1, 2]          # after 0 only task 1 gains: 1 (lowest index)
    assert best_of_set(P, w, 3, first=0, tie_break=np.array([0, 0, 0, 1.0])) == [0, 3, 1]
    # a rejected near-duplicate is skipped for good, the next best taken
    assert best_of_set(P, w, 2, first=0, duplicate=lambda j, chosen: j == 1) == [0, 3]
    assert best_of_set(P, w, 9) == [2, 0, 1, 3]                # never more than there are


def test_portfolio_and_blend_rank_share_the_loop():
    # ties go to the higher weighted mean in a portfolio: 3 ties with 1 on gain and on mean -> lowest index
    assert greedy_portfolio(P, 3) == [2, 0, 1]
    assert greedy_portfolio(np.array([[0.0, 1.0], [np.nan, np.nan]]), 1) == [1]
    # continued from a first chosen by another rule; from its own first it is itself
    assert greedy_portfolio(P, 3, first=2) == greedy_portfolio(P, 3)
    assert greedy_portfolio(P, 3, first=3) == [3, 0, 2]
    # blend_rank: the first pick follows the surrogate (alpha = 1), later picks are the greedy steps
    s_mean = np.array([0.0, 0.0, 0.0, 1.0])
    assert blend_rank(P, np.ones(2), s_mean, 3, prior=0.3, alpha=1.0) == [3, 0, 1]
    assert blend_rank(P, np.ones(2), None, 3, prior=0.3, alpha=0.6) == [2, 0, 1]
    assert blend_rank(P, np.ones(2), s_mean, 3, prior=0.3, alpha=1.0, duplicate=lambda j, chosen: j == 1) == [3, 0, 2]
    assert blend_rank(np.empty((0, 3)), np.ones(0), None, 2, prior=0.3, alpha=0.6) == [0, 1]
