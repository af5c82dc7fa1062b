"""Learner choice across the search (``learner="auto"``): a study per learner, searched in turns.

The knowledge base ranks configurations of all learners together (``recommend(learner="auto")``);
its top ``k`` may mix learners.  Every learner among them (at most :data:`MAX_LEARNERS`) gets its
own study, on the same folds (same evaluation plan and fold seed) so that all trials are comparable
and the ensemble may mix them (``_final``).  The search then:

1. runs the warm start in the joint ranking's order (budget-ordered: configurations predicted not to
   finish in the time left come last), each configuration in its learner's study; with a time budget
   the order of the remaining warm start is recomputed after each trial from the fit times measured
   so far, when a learner's fits take far longer (or shorter) than the meta-model predicted
   (:func:`calibrated_order`);
2. gives every further trial to the learner with the fewest trials among those still
   **competitive**: whose best CV mean is within one standard error (of the overall best's fold
   scores) of the overall best.  A learner with no finished trial yet counts as competitive.

Why a study per learner rather than one study with a categorical learner parameter: each learner has
its own search space and Optuna's samplers (and ``MetaSampler``) model one space; a conditional space
splits a small budget across spaces the sampler cannot relate, and parameters of the same name
(``n_estimators``, ``max_features``) mean different things in different learners.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

#: learners searched side by side at most (the first of the joint ranking's, the primary first)
MAX_LEARNERS = 3
#: a learner's measured / predicted fit time beyond this factor (either way) re-orders the warm start;
#: within it the prediction's usual error (``docs/bench_time.md``) does not justify leaving the order
RECALIBRATE_FACTOR = 3.0


@dataclass
class WarmTurn:
    """One warm-start trial of a learner: the joint ranking's recommendation it stands for and its
    trial's predicted seconds (NaN: unknown)."""

    rec: Any
    trial_s: float

    @property
    def learner(self) -> str:
        return self.rec.learner


@dataclass
class WarmPlan:
    """The warm start's turns with what :func:`calibrated_order` needs to re-order them."""

    turns: list[WarmTurn]
    seconds_left: Callable[[], float | None]  #: the search's time left (None: no budget)
    baseline: float | None = None  #: the library default's predicted score (expected improvement's start)


@dataclass
class Leg:
    """One learner's part of a search: its study and objective (the primary leg is the run's own study)."""

    learner: str
    study: Any
    objective: Any
    primary: bool = False
    n_warm: int = 0
    n_run: int = 0  #: trials of this leg run by this call
    adaptive: Any = None  #: the callback choosing the warm start's later picks (``_warm.adaptive_warm_start``)

    def label(self, number: Any) -> Any:
        """A trial's name in summaries: its number in the primary study, ``learner:number`` otherwise."""
        return number if self.primary or number == "default" else f"{self.learner}:{number}"


def portfolio_learners(primary: str, joint: list[Any], kind: str) -> list[str]:
    """The learners to search: the primary, then the others of the joint ranking in order (those that
    support ``kind``), at most :data:`MAX_LEARNERS`."""
    from metaopt.learners import get_learner, list_learners

    out = [primary]
    known = set(list_learners(include_unoffered=True))  # the KB ranked it: it has its results
    for rec in joint:
        name = getattr(rec, "learner", None)
        if name in out or name not in known or kind not in get_learner(name).kinds:
            continue
        out.append(name)
        if len(out) >= MAX_LEARNERS:
            break
    return out


def _best(leg: Leg, maximize: bool, default: Any = None) -> tuple[float, np.ndarray] | None:
    """(best CV mean, its fold scores) of the leg's completed trials (and, for the primary, the default)."""
    from optuna.trial import TrialState

    from metaopt.tuning._study import DEFAULT_ATTR

    entries = [(float(t.value), np.asarray(t.user_attrs.get("fold_scores") or [t.value], float))
               for t in leg.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
               if t.value is not None and math.isfinite(t.value)]
    stored = leg.study.user_attrs.get(DEFAULT_ATTR)
    if leg.primary and default is not None and default.score is not None and isinstance(stored, dict):
        entries.append((float(default.score), np.asarray(stored.get("fold_scores") or [default.score], float)))
    if not entries:
        return None
    sign = 1.0 if maximize else -1.0
    return max(entries, key=lambda e: sign * e[0])


def _standard_error(folds: np.ndarray) -> float:
    return float(np.std(folds, ddof=1) / math.sqrt(len(folds))) if len(folds) > 1 else 0.0


def competitive(legs: list[Leg], maximize: bool, default: Any = None) -> list[Leg]:
    """The legs still worth trials: best CV mean within one standard error of the overall best (by the
    best's fold scores), or no finished trial yet."""
    sign = 1.0 if maximize else -1.0
    bests = {id(leg): _best(leg, maximize, default) for leg in legs}
    scored = [b for b in bests.values() if b is not None]
    if not scored:
        return list(legs)
    top_value, top_folds = max(scored, key=lambda b: sign * b[0])
    se = _standard_error(top_folds)
    out = []
    for leg in legs:
        b = bests[id(leg)]
        if b is None:
            if not leg.study.get_trials(deepcopy=False, states=_finished_states()):
                out.append(leg)  # unexplored (e.g. no warm start): one chance
        elif sign * (b[0] - top_value) >= -se - 1e-12:
            out.append(leg)
    return out


def _finished_states() -> tuple[Any, ...]:
    from optuna.trial import TrialState

    return (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)


def measured_ratio(leg: Leg) -> float | None:
    """Median measured / predicted fold fit time of the leg's trials (None before any)."""
    from metaopt.tuning._warm import fit_time_error

    err = fit_time_error(leg.study.get_trials(deepcopy=False))
    return None if err is None else float(err["median_ratio"])


def calibrated_order(turns: list[WarmTurn], ratios: dict[str, float | None], seconds_left: float,
                     baseline: float | None) -> tuple[list[WarmTurn], list[str]]:
    """``turns`` re-ordered by expected improvement per second, each learner's predicted seconds scaled
    by its measured / predicted ratio where that is beyond :data:`RECALIBRATE_FACTOR`; unchanged (and no
    learner named) when no ratio is.  Returns (the order, the learners whose times were rescaled)."""
    from metaopt.recommender import order_for_budget

    scale = {name: r for name, r in ratios.items()
             if r is not None and r > 0 and max(r, 1 / r) > RECALIBRATE_FACTOR}
    if not scale or not turns:
        return turns, []
    secs = [t.trial_s * scale.get(t.learner, 1.0) for t in turns]
    ordered, late = order_for_budget([t.rec for t in turns], secs, seconds_left, baseline)
    by_id = {id(t.rec): t for t in turns}
    return [by_id[id(r)] for r in ordered + late], sorted(scale)


def search_portfolio(legs: list[Leg], warm_order: list[str], run_trials: Callable[[Leg, int], int],
                     done: Callable[[], bool], maximize: bool, default: Any = None, step: int = 1,
                     warm: WarmPlan | None = None, notes: list[str] | None = None) -> None:
    """Run the search across ``legs``: the warm start in ``warm_order`` (learner names), then turns to the
    competitive learner with the fewest trials.  ``run_trials(leg, n)`` runs up to ``n`` trials of a leg
    and returns how many ran; ``done()`` says the budget is spent; ``step`` trials a turn (``n_jobs``).
    ``warm``: the same turns with their predictions, re-ordered as fit times are measured (one trial a
    turn only); a re-order is noted in ``notes``."""
    by_name = {leg.learner: leg for leg in legs}
    order = [name for name in warm_order if name in by_name]
    if step == 1 and warm is not None and [t.learner for t in warm.turns if t.learner in by_name] == order:
        _warm_calibrated(by_name, [t for t in warm.turns if t.learner in by_name], warm, run_trials, done,
                         notes if notes is not None else [])
    else:
        if step > 1:  # parallel workers: a turn per learner with all its warm-start configurations
            turns = [(name, order.count(name)) for name in dict.fromkeys(order)]
        else:
            turns = [(name, 1) for name in order]
        for name, n in turns:
            if done():
                return
            leg = by_name[name]
            leg.n_run += run_trials(leg, n)
    while not done():
        pool = competitive(legs, maximize, default) or legs[:1]
        leg = min(pool, key=lambda lg: (len(lg.study.get_trials(deepcopy=False)), legs.index(lg)))
        ran = run_trials(leg, step)
        leg.n_run += ran
        if ran == 0:  # out of time (or stopped): nothing more will run
            return


def _warm_calibrated(by_name: dict[str, Leg], left: list[WarmTurn], warm: WarmPlan,
                     run_trials: Callable[[Leg, int], int], done: Callable[[], bool], notes: list[str]) -> None:
    """The warm start one trial at a time, the rest re-ordered after each by the fit times measured."""
    rescaled: set[str] = set()
    note_at = 0
    baseline = warm.baseline  # expected improvement over the best predicted score of the turns run so far
    while left and not done():
        seconds = warm.seconds_left()
        if seconds is not None:
            ratios = {name: measured_ratio(leg) for name, leg in by_name.items()}
            left, names = calibrated_order(left, ratios, seconds, baseline)
            if set(names) - rescaled:  # one note, naming every learner rescaled so far
                if not rescaled:
                    note_at = len(notes)
                    notes.append("")
                rescaled |= set(names)
                notes[note_at] = "warm start re-ordered by measured fit times: " + ", ".join(
                    f"{n} {ratios[n]:.2g}x the predicted" for n in sorted(rescaled))
        turn = left.pop(0)
        score = float(getattr(turn.rec, "predicted_score", math.nan))
        if math.isfinite(score):
            baseline = score if baseline is None or not math.isfinite(baseline) else max(baseline, score)
        leg = by_name[turn.learner]
        leg.n_run += run_trials(leg, 1)


def describe_legs(legs: list[Leg], maximize: bool, default: Any = None) -> list[dict[str, Any]]:
    """The summary's ``learners`` entry: per learner its study, trials and best CV score."""
    from metaopt.tuning._resume import count_trials

    out = []
    for leg in legs:
        # counted as the summary's trials are: interrupted trials (Ctrl-C, dead workers) apart
        trials = count_trials(sorted(leg.study.get_trials(deepcopy=False), key=lambda t: t.number)).finished
        best = _best(leg, maximize, default)
        out.append({"learner": leg.learner, "study": leg.study.study_name, "n_trials": len(trials),
                    "n_run": leg.n_run, "n_warm_started": leg.n_warm,
                    "best_score": None if best is None else best[0]})
    return out
