"""What a time budget buys: which learner reaches most within it, and which configurations to try first.

The meta-model predicts each configuration's fit time (:class:`~metaopt.metamodel.FitTimeModel`); a
trial costs that times the folds it is scored on.  With a time budget for the search:

* :func:`learner_reaches` / :func:`choose_learner` weigh each learner by what the KB says it reaches
  with the trials it can fit (:class:`LearnerReach`): a learner that fits 5 trials is chosen over one
  that fits 20 only where the KB's similar tasks say that its best of 5 still beats the other's best
  of 20.
* :func:`order_for_budget` orders the warm start by expected improvement per predicted second and
  postpones configurations predicted not to finish in the budget.

Without a budget neither changes anything.  ``docs/metamodel.md`` ("Time budgets") gives the rules.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from metaopt.recommender._cache import get_recommender

#: a learner's reach is compared over at most this many trials: beyond them the KB's portfolio says little,
#: and a learner that fits this many is not limited by the budget
HORIZON = 20


@dataclass(frozen=True)
class TaskProfile:
    """A task as the fit-time and score predictions need it."""

    kind: str
    meta: dict[str, float]
    train_rows: int  #: rows one fit of a trial is trained on
    n_features: int
    n_classes: int

    @classmethod
    def of(cls, ds: Any, meta: dict[str, float] | None, n_splits: int) -> TaskProfile:
        """The task of a :class:`~metaopt.data.Dataset` whose trials fit on ``n_splits``-fold training rows."""
        n_classes = int(ds.y.nunique()) if ds.kind != "regression" else 0
        return cls(ds.kind, dict(meta or {}), train_rows(ds.n_rows, n_splits), ds.n_features, n_classes)


@dataclass(frozen=True)
class LearnerReach:
    """What one learner can do in the budget: its trials that fit, their cost, what the KB expects of them."""

    learner: str
    n_fit: int  #: trials of ~``trial_s`` that fit in the budget (at most :data:`HORIZON`)
    trial_s: float  #: predicted seconds of one trial (median over its portfolio's first configurations)
    reach: float  #: the KB's expected best normalised score after those ``n_fit`` trials (-inf: none fits)
    full: float  #: ... after :data:`HORIZON` trials (what it reaches when the budget does not limit it)
    lead: float  #: its first pick's blended score: what ranks learners without a budget

    @property
    def score(self) -> float:
        """``lead`` less what the budget costs it (``full - reach``); -inf when no trial of it fits."""
        return self.lead - (self.full - self.reach) if self.n_fit else -np.inf

    def describe(self) -> str:
        fits = f"{self.n_fit}+" if self.n_fit >= HORIZON else str(self.n_fit)
        if not self.n_fit:
            return f"{self.learner} fits {fits} trial(s) of ~{self.trial_s:.1f} s, none finishes"
        # the score compared: the first pick's, less what the budget's trials miss of the horizon's
        return (f"{self.learner} fits {fits} trial(s) of ~{self.trial_s:.1f} s, KB expects {self.reach:.3f} of "
                f"{self.full:.3f}, first pick {self.lead:.3f} -> {self.score:.3f}")


def train_rows(n_rows: int, n_splits: int) -> int:
    """Rows one fold's fit is trained on (``n_splits``-fold split; 1 or less: all rows)."""
    return int(n_rows if n_splits <= 1 else round(n_rows * (n_splits - 1) / n_splits))


def trial_seconds(fit_s: float, n_folds: int) -> float:
    """Predicted seconds of one trial: a fit per fold (NaN stays NaN)."""
    return float(fit_s) * max(int(n_folds), 1)


def learner_reaches(task: TaskProfile, search_seconds: float, n_folds: int, *, kb: Any = None,
                    n_trials: int | None = None) -> list[LearnerReach]:
    """Each learner of the joint (``"auto"``) meta-model that has configurations for this kind, with
    what it can reach in ``search_seconds``: the KB's expected best of its portfolio's first n
    configurations, n the trials of its median predicted length that fit."""
    rec = get_recommender(kb, "auto")
    horizon = HORIZON if n_trials is None else max(1, min(HORIZON, int(n_trials)))
    out = []
    for learner in rec.learners:
        ids, values, lead = rec.portfolio_values(task.kind, task.meta, learner, horizon)
        if not ids:
            continue
        secs = np.array([trial_seconds(rec.config_fit_seconds(learner, c, task.train_rows, task.n_features,
                                                              task.n_classes), n_folds) for c in ids])
        trial_s = float(np.nanmedian(secs)) if np.isfinite(secs).any() else 0.0
        # its trials are about this long (the warm start then goes cheapest-per-value first, the sampler after)
        n_fit = min(len(ids), int(search_seconds // trial_s)) if trial_s > 0 else len(ids)
        out.append(LearnerReach(learner, n_fit, trial_s, float(values[n_fit - 1]) if n_fit else -np.inf,
                                float(values[-1]), float(lead)))
    return out


def choose_learner(reaches: list[LearnerReach], first_choice: str) -> tuple[str, str]:
    """(learner, why): the learner with the best :attr:`LearnerReach.score`, i.e. the top recommendation's
    learner (``first_choice``) unless the trials the budget leaves it make another learner better.

    Without a binding budget every ``score`` is its ``lead`` and the choice is ``first_choice``; when no
    learner's trial fits, the fastest learner is chosen.
    """
    by = {r.learner: r for r in reaches}
    if first_choice not in by:
        return first_choice, ""
    table = "; ".join(r.describe() for r in reaches)
    if not any(r.n_fit for r in reaches):
        fastest = min(reaches, key=lambda r: r.trial_s)
        return fastest.learner, f"{fastest.learner}: no learner's trial is predicted to finish; the fastest ({table})"
    best = max(reaches, key=lambda r: (r.score, r.n_fit))
    if best.learner == first_choice or best.score <= by[first_choice].score:
        return first_choice, f"{first_choice}, the top recommendation's ({table})"
    return best.learner, (f"{best.learner}, not the top recommendation's {first_choice}: in the budget the KB "
                          f"expects more of it ({table})")


def _expected_improvement(mean: float, std: float, best: float) -> float:
    """E[max(X - best, 0)] for X ~ N(mean, std^2) (Jones et al. 1998); std 0: the plain gain."""
    if not np.isfinite(mean):
        return 0.0
    if not np.isfinite(std) or std <= 0:
        return max(mean - best, 0.0)
    z = (mean - best) / std
    cdf = 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))
    pdf = math.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
    return (mean - best) * cdf + std * pdf


def order_for_budget(recs: list[Any], seconds: list[float], search_seconds: float,
                     baseline: float | None = None) -> tuple[list[Any], list[Any]]:
    """(to try in this order, postponed): ``recs`` ordered by expected improvement per predicted second.

    Greedy: each step takes the recommendation with the highest expected improvement
    (``predicted_score`` ± ``predicted_score_std``) over the best predicted so far (at first
    ``baseline``, the library default's predicted score, else 0) per second of its trial
    (``seconds``, predicted; unknown ones count as the median), as GP-EI per second (Snoek et al.
    2012).  Recommendations whose trial is predicted to need more than ``search_seconds`` are
    postponed: returned apart, fastest first, to be tried last.
    """
    secs = np.asarray(seconds, dtype="float64")
    if not np.isfinite(secs).any():
        return list(recs), []
    secs = np.where(np.isfinite(secs) & (secs > 0), secs, np.nanmedian(secs[secs > 0]) if (secs > 0).any() else 1.0)
    fits = [i for i in range(len(recs)) if secs[i] <= search_seconds]
    late = sorted((i for i in range(len(recs)) if secs[i] > search_seconds), key=lambda i: secs[i])
    best = 0.0 if baseline is None or not np.isfinite(baseline) else float(baseline)
    order: list[int] = []
    while fits:
        value = [(_expected_improvement(float(recs[i].predicted_score), float(recs[i].predicted_score_std or 0.0),
                                        best) + 1e-9) / secs[i] for i in fits]
        pick = fits[int(np.argmax(value))]  # ties keep the portfolio's order (argmax takes the first)
        order.append(pick)
        fits.remove(pick)
        if np.isfinite(recs[pick].predicted_score):
            best = max(best, float(recs[pick].predicted_score))
    return [recs[i] for i in order], [recs[i] for i in late]
