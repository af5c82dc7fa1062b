"""The ensemble of a tuning run, in named steps: gather the candidates' out-of-fold predictions,
select greedily, refit the members within the time budget.

Candidates are the study's completed trials (every worker's, every earlier run's: a resumed study
extends the ensemble) and the library default, all scored on the same folds; the best
:data:`MAX_CANDIDATES` by CV score enter the selection, each learner's best :data:`PER_LEARNER` among them.
``docs/tuning.md`` ("Ensembles") says why.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from metaopt.core import GREATER_IS_BETTER
from metaopt.tuning._ensemble._fitted import EnsembleFit, Member
from metaopt.tuning._ensemble._oof import OofStore
from metaopt.tuning._ensemble._scores import fold_mean_scores
from metaopt.tuning._ensemble._selection import greedy_selection

#: the candidates that enter the selection: the best this many by CV score (selection costs
#: candidates x rounds metric evaluations)
MAX_CANDIDATES = 40
#: each learner's best this many candidates enter the selection even where the best MAX_CANDIDATES by CV are
#: another learner's (``candidate_pool``); chosen with ``benchmarks/report_candidate_pool.py`` (``docs/tuning.md``)
PER_LEARNER = 5
#: rounds of greedy selection by default (the ensemble's size, members counted with repetition)
ENSEMBLE_SIZE = 25
#: the selection starts from this many best candidates, each once ("sorted initialization"); chosen with
#: ``benchmarks/bench_selection_variants.py`` on KB datasets left out of the KB (``docs/tuning.md``)
ENSEMBLE_INIT = 5
#: how the members are fitted for the final model: "refit" (each on all rows) or "folds" (each member's
#: fold models, a bagged ensemble); chosen by ``benchmarks/bench_ensemble.py`` (``docs/tuning.md``)
ENSEMBLE_FIT = "refit"
#: every refit of the final model (each ensemble member, or the single configuration where no blend beats
#: it) averages this many fits with different seeds, as long as the time budget has room: a seed bag, like
#: the averaged out-of-fold predictions the selection scored; chosen on the validation datasets with
#: ``benchmarks/report_seed_bagging.py`` (``docs/bench_ensemble.md``, "Seed-bagged refits")
REFIT_SEEDS = 3
#: without a time budget, the extra seeds' fits may train on at most this share of the rows the search's fits
#: trained on (on large tables with few trials a seed bag of every member would otherwise cost more than the
#: search); rows, not seconds, so that a run without a time budget gives the same model every time.  At 1.0
#: a search of 10 trials of 3 folds (the estimators' default) has room for every candidate's seed bag.
SEED_SHARE = 1.0
#: with a time budget, a member gets one more seed only while the time left exceeds its first fit's time x this
SEED_TIME_MARGIN = 1.25
#: the blend gives way to the best single candidate where its CV score is worse than that candidate's by more than
#: this share of it (a blend of a short search's few candidates, forced to take weak ones at the start); chosen on
#: the validation tables with ``benchmarks/report_no_fallback.py --checkpoints`` (``docs/bench_ensemble.md``,
#: "Blends of a short search's few candidates")
MAX_BLEND_SHORTFALL = 0.05


@dataclass
class Candidate:
    """A trial (or the library default) with its out-of-fold predictions."""

    source: Any  #: trial number, or "default"
    learner: str
    params: dict[str, Any]
    cv_score: float
    rows: np.ndarray
    pred: np.ndarray
    fit_s: float | None = None
    worker: str | None = None


def gather_candidates(study: Any, store: OofStore, learner: str, default: Any, maximize: bool,
                      learner_of: Any = None, label: Any = None) -> list[Candidate]:
    """The completed trials and the scored library default that have out-of-fold predictions, best first
    (at most :data:`MAX_CANDIDATES`); ``learner_of(trial)``: a trial's learner (default: ``learner``);
    ``label(number)``: a trial's name in the summary (default: its number)."""
    from optuna.trial import TrialState

    done = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
            if t.value is not None and math.isfinite(t.value)]
    done.sort(key=lambda t: -t.value if maximize else t.value)
    out: list[Candidate] = []
    for t in done:
        oof = store.load(t, study._storage)
        if oof is not None:
            out.append(Candidate(label(t.number) if label else t.number, learner_of(t) if learner_of else learner,
                                 dict(t.user_attrs.get("config") or t.params), float(t.value), *oof,
                                 fit_s=t.user_attrs.get("metaopt:fit_s"), worker=t.user_attrs.get("metaopt:worker")))
        if len(out) >= MAX_CANDIDATES:
            break
    if default is not None and default.score is not None and math.isfinite(default.score):
        oof = store.load(study, study._storage, default=True)
        if oof is not None:
            out.append(Candidate("default", learner, dict(default.params), float(default.score), *oof,
                                 fit_s=default.fit_s))
    out.sort(key=lambda c: -c.cv_score if maximize else c.cv_score)
    return out[:MAX_CANDIDATES]


def candidate_pool(candidates: list[Candidate], maximize: bool, per_learner: int = PER_LEARNER) -> list[Candidate]:
    """The candidates that enter the selection, best first: the best :data:`MAX_CANDIDATES` by CV score, and
    each learner's best ``per_learner`` in any case.

    Without the reserve a long search of one learner fills the pool with its own trials and pushes the
    other learners' few out: the blend loses the diversity it gains most from (``docs/tuning.md``).
    """
    ranked = sorted(candidates, key=lambda c: -c.cv_score if maximize else c.cv_score)
    taken: Counter = Counter()
    reserved = set()
    for i, c in enumerate(ranked):
        if taken[c.learner] < per_learner:
            reserved.add(i)
            taken[c.learner] += 1
    rest = [i for i in range(len(ranked)) if i not in reserved][:max(0, MAX_CANDIDATES - len(reserved))]
    return [ranked[i] for i in sorted(reserved.union(rest))]


def select(candidates: list[Candidate], y_codes: np.ndarray, kind: str, metric: str, size: int,
           folds: list[np.ndarray]) -> tuple[list[tuple[Candidate, float]], dict[str, Any]]:
    """Greedy selection on the rows every candidate predicted, scored by the mean over the test ``folds``
    (the currency of the trials' values); returns ``[(candidate, weight)]`` (largest weight first) and
    what the summary reports (``cv_score`` of the ensemble next to ``best_single_score``)."""
    rows = candidates[0].rows
    same = [c for c in candidates if len(c.rows) == len(rows) and np.array_equal(c.rows, rows)]
    positions = _fold_positions(rows, folds)
    sel = greedy_selection([c.pred for c in same], y_codes[rows], kind, metric, size, positions, init=ENSEMBLE_INIT)
    members = sorted(((same[i], w) for i, w in sel.weights.items()), key=lambda m: -m[1])
    greater = GREATER_IS_BETTER[metric]
    best = min(same, key=lambda c: -c.cv_score if greater else c.cv_score)
    info = {"size": size, "cv_score": sel.score, "best_single_score": sel.trace[0], "best_single": best.source,
            "n_candidates": len(same), "oof_rows": int(len(rows)), "folds": len(positions) or 1,
            "candidate_learners": dict(sorted(Counter(c.learner for c in same).items())),
            "candidate_workers": sorted({c.worker for c in same if c.worker}),
            "gain": (sel.score - sel.trace[0]) * (1 if greater else -1)}
    return members, info


def keeps_blend(members: list[tuple[Candidate, float]], info: dict[str, Any]) -> bool:
    """Whether the final model is the selected blend rather than the best single candidate alone.

    The blend is kept even where the best single candidate's CV score is a little higher: that score is the best
    of every trial's, so the longer the search, the more of it is luck of the folds; on the validation tables
    the blend did a little better on test there (``docs/tuning.md``, "Selection").  A blend that ties it to
    rounding (every candidate perfect, say) gives way to the single, simpler model, and so does one worse by more
    than :data:`MAX_BLEND_SHORTFALL` (:func:`blend_shortfall`): no luck of the folds is that large.
    """
    blend, single = info.get("cv_score"), info.get("best_single_score")
    if len(members) < 2 or blend is None or single is None or not math.isfinite(blend) or not math.isfinite(single):
        return False
    if blend_shortfall(info) > MAX_BLEND_SHORTFALL:
        return False
    return not math.isclose(blend, single, rel_tol=1e-9, abs_tol=1e-12)


def blend_shortfall(info: dict[str, Any]) -> float:
    """How much worse the blend's CV score is than the best single candidate's, as a share of the latter (0 where
    the blend is as good or better)."""
    gain, single = info.get("gain"), info.get("best_single_score")
    if gain is None or single is None or not math.isfinite(gain) or gain >= 0:
        return 0.0
    return -gain / max(abs(single), 1e-12)


def blend_score(members: list[tuple[Candidate, float]], y_codes: np.ndarray, kind: str, metric: str,
                folds: list[np.ndarray]) -> float:
    """The CV score (mean over the test ``folds``) of the weighted average of the members' out-of-fold
    predictions: what a blend of only some of the selected members scores, as :func:`select` scores all."""
    rows = members[0][0].rows
    total = sum(w for _, w in members)
    blend = sum(w * np.asarray(c.pred, dtype="float64").reshape(len(rows), -1) for c, w in members) / total
    return float(fold_mean_scores(blend[None], y_codes[rows], kind, metric, _fold_positions(rows, folds))[0])


def _fold_positions(rows: np.ndarray, folds: list[np.ndarray]) -> list[np.ndarray]:
    """Each test fold as positions into ``rows`` (sorted); folds not wholly among the rows are left out."""
    out = []
    for te in folds:
        pos = np.searchsorted(rows, te)
        if len(te) and np.all(pos < len(rows)) and np.array_equal(rows[pos], te):
            out.append(pos)
    return out


def fit_members(members: list[tuple[Candidate, float]], fit: Any, left: Any, scale: float = 1.25,
                keep_on_interrupt: bool = False) -> tuple[list[Member], list[str], bool]:
    """Fit the members, largest weight first: ``fit(candidate) -> [fitted models]`` (all rows, or the fold
    models), ``left()`` -> seconds left (None: no budget), ``scale``: a member's fit time over its fold fit
    time.  A member whose fits would not finish in time is left out, the first too (then none may be
    fitted, and the caller refits a single configuration that fits the time left).  With
    ``keep_on_interrupt``, a Ctrl-C (KeyboardInterrupt) after the first member ends the ensemble with the
    members fitted so far.  Returns members, notes and whether a Ctrl-C ended it."""
    fitted: list[Member] = []
    notes: list[str] = []
    for cand, weight in members:
        remaining = left()
        predicted = (cand.fit_s or 0.0) * scale
        if remaining is not None and predicted > remaining:
            notes.append(f"ensemble member {cand.source} left out: its fit (~{predicted:.1f} s) would not "
                         f"finish within the time budget ({max(remaining, 0):.1f} s left)")
            continue
        try:
            models = fit(cand)
        except KeyboardInterrupt:
            if not (keep_on_interrupt and fitted):
                raise
            notes.append(f"Ctrl-C while the ensemble's members were refitted: the model keeps the {len(fitted)} "
                         f"of {len(members)} fitted so far")
            return fitted, notes, True
        if fitted and any(getattr(m, "timed_out", False) for m in models):
            notes.append(f"ensemble member {cand.source} left out: its fit was cut at the time budget")
            continue
        fitted.append(Member(models, weight, cand.source, cand.learner, cand.params, cand.cv_score))
    return fitted, notes, False


def add_seeds(members: list[Member], fit: Any, seeds: int, room: Any) -> None:
    """Give every member fits with seeds 1 .. ``seeds - 1`` (``fit(member, i)`` -> a fitted model), one seed
    at a time over all members (largest weight first), each only where ``room(member)`` grants one more fit
    (:func:`room_by_time`, :func:`room_by_rows`); a fit the budget cut is dropped (it is another
    configuration, not one more draw of this one), and a member whose first fit was cut gets no more."""
    for i in range(1, seeds):
        for m in members:
            if len(m.models) != i or getattr(m.models[0], "timed_out", False) or not room(m):
                continue
            model = fit(m, i)
            if not getattr(model, "timed_out", False):
                m.models.append(model)


def room_by_time(left: Any) -> Any:
    """``add_seeds``'s rule with a time budget: one more fit of a member while ``left()`` (seconds) exceeds its
    first fit's time x :data:`SEED_TIME_MARGIN`."""
    return lambda m: getattr(m.models[0], "fit_time_s", 0.0) * SEED_TIME_MARGIN <= left()


def room_by_rows(rows: float, n_rows: int) -> Any:
    """``add_seeds``'s rule without a time budget: one more fit (on ``n_rows`` rows) while the granted fits'
    rows stay within ``rows``.  Deterministic: the same search gives the same seed bags on every run."""
    granted = [0]

    def room(m: Member) -> bool:
        if granted[0] + n_rows > rows:
            return False
        granted[0] += n_rows
        return True

    return room


def describe(ens: EnsembleFit, info: dict[str, Any], fit_s: float) -> dict[str, Any]:
    """The summary's ``ensemble`` entry."""
    total = sum(m.weight for m in ens.members)
    members = [dict(m.describe(), weight=round(m.weight / total, 4)) for m in ens.members]
    return dict(info, members=members, n_members=len(members), fit=ens.mode, fit_s=round(fit_s, 3))


