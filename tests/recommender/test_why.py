"""The words of a ranking (``metaopt.recommender._why``): reasons that name positions follow the list returned."""

from __future__ import annotations

import dataclasses

from metaopt.recommender._recommendation import Recommendation
from metaopt.recommender._why import renumber_reasons


def _rec(rank: int, leaves: int, reason: str) -> Recommendation:
    return Recommendation(rank=rank, learner="lightgbm", config_id=f"c{leaves}", params={"num_leaves": leaves},
                          predicted_score=0.5, predicted_score_std=0.1, predicted_fit_time_s=1.0, reason=reason)


RANKING = [_rec(1, 8, "best blend on similar tasks"), _rec(2, 16, "covers where #1 is weak"),
           _rec(3, 32, "covers where #1-#2 are weak"), _rec(4, 64, "covers where #1-#3 are weak")]


def test_an_unmoved_ranking_keeps_its_words():
    assert renumber_reasons(RANKING, RANKING) == RANKING


def test_positions_follow_the_configurations_where_they_moved():
    """#2 probed to the top, a trial put before it: the meta-model's #1-#3 now stand at #1, #3 and #4."""
    own = _rec(1, 99, "your study monthly")
    order = [own, RANKING[1], RANKING[0], RANKING[2], RANKING[3]]
    final = [dataclasses.replace(r, rank=i + 1) for i, r in enumerate(order)]
    words = [r.reason for r in renumber_reasons(final, RANKING)]
    assert words == ["your study monthly", "covers where #3 is weak", "best blend on similar tasks",
                     "covers where #2-#3 are weak", "covers where #2-#4 are weak"]
    first = [dataclasses.replace(r, rank=i + 1) for i, r in enumerate([RANKING[2], RANKING[0], RANKING[1]])]
    assert [r.reason for r in renumber_reasons(first, RANKING)][0] == "covers where #2-#3 are weak"
    gap = [dataclasses.replace(r, rank=i + 1) for i, r in enumerate([RANKING[0], own, RANKING[1], RANKING[3],
                                                                      RANKING[2]])]
    assert renumber_reasons(gap, RANKING)[3].reason == "covers where #1, #3, #5 are weak"
