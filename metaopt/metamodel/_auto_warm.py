"""``tune(learner="auto")``'s warm start on a joint pool, as LODO scores it: what the search really tries.

``tune`` ranks every learner's configurations jointly; the joint top k decide which learners are searched
and how many warm-start trials each gets, in the joint order.  But each learner runs in a study of its own
(``tuning/_portfolio.py``): where the joint top k mixes learners, the primary learner (the top pick's)
starts from its own one-learner ranking (else from the joint ranking, all its own), every other learner
from its configurations in the joint ranking, and each study's picks after the
first :data:`~metaopt.metamodel._adaptive.ADAPTIVE_START` are :func:`~metaopt.metamodel._adaptive.next_key`
among that learner's configurations, read from that study's own scores (``tuning/_warm.py``).
:class:`~metaopt.metamodel._adaptive.AdaptiveModel` on the joint pool re-weights over all learners at once,
which ``tune`` never does; this model is the faithful one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pandas as pd

from metaopt.metamodel._adaptive import ADAPTIVE_START, _finite, next_key
from metaopt.metamodel._base import Query, candidates
from metaopt.metamodel._metaopt_model import MetaoptModel
from metaopt.metamodel._normalise import ScoreMatrix, normalise_scores


def learner_matrix(sm: ScoreMatrix, learner: str) -> ScoreMatrix | None:
    """``sm`` cut to ``learner``'s configurations and the tasks that evaluated any, normalised again over
    them alone (min-max per task, as a one-learner KB matrix is); None where no task evaluated it."""
    own = sm.only_configs(sm.configs.index[sm.configs["learner"] == learner])
    seen = own.norm.notna().any(axis=1)
    if not seen.any():
        return None
    norm = normalise_scores(own.norm, higher_is_better=True, method="minmax")  # the joint values, per learner
    own = dataclasses.replace(own, norm=pd.DataFrame(norm, index=own.norm.index, columns=own.norm.columns))
    return own.subset(own.norm.index[seen.to_numpy()])


class AutoWarmStartModel(MetaoptModel):
    """The joint ranking's learners and shares, each learner's picks made as its own study makes them."""

    name = "metaopt (auto as tune runs it)"

    def fit(self, sm: ScoreMatrix) -> AutoWarmStartModel:
        super().fit(sm)
        self.own_ = {lr: learner_matrix(sm, lr) for lr in sm.learners}
        self.own_models_ = {lr: MetaoptModel(random_state=self.random_state).fit(own)
                            for lr, own in self.own_.items() if own is not None}
        return self

    def rank_observing(self, query: Query, k: int, observe: Callable[[str], float]) -> list[str]:
        joint = self.rank(query, k)
        learner = self.sm_.configs["learner"]
        mixed = len({learner[key] for key in joint}) > 1
        primary = self.primary(query, joint) if joint and mixed else None  # one learner: the joint picks are its own
        tried: dict[str, dict[str, float]] = {}
        out: list[str] = []
        for lr, key in self.turns(joint, primary):
            mine = tried.setdefault(lr, {})
            pick = self._pick(lr, lr == primary, key, query, mine)
            if pick is None or pick in out:  # nothing of its own left: the joint ranking's next one
                pick = next((c for c in joint if c not in out), None)
            if pick is None:
                break
            out.append(pick)
            mine[pick] = _finite(observe(pick))
        return out

    def primary(self, query: Query, joint: list[str]) -> str:
        """The learner whose study starts from its own ranking: the joint top pick's, as in ``tune``
        (``benchmarks/report_auto_primary.py`` tries other rules)."""
        return self.sm_.configs["learner"][joint[0]]

    def turns(self, joint: list[str], primary: str | None) -> list[tuple[str, str]]:
        """(learner, its joint pick) of each warm-start turn: the joint order."""
        learner = self.sm_.configs["learner"]
        return [(learner[key], key) for key in joint]

    def _pick(self, learner: str, primary: bool, joint_key: str, query: Query, mine: dict[str, float]) -> str | None:
        """The study of ``learner``'s next warm-start pick (``mine``: its picks so far and their scores)."""
        own, model = self.own_.get(learner), self.own_models_.get(learner)
        if own is None or model is None:
            return joint_key
        if len(mine) < ADAPTIVE_START:
            if not primary:
                return joint_key
            first = model.rank(query, ADAPTIVE_START)  # the primary's own one-learner ranking
            return first[len(mine)] if len(mine) < len(first) else None
        return next_key(own, candidates(own, query.kind, query.pool), mine)

