"""The meta-learning side of a tuning run: the learner of ``"auto"``, the recommendations, the sampler;
with a time budget, what it buys (learner and warm-start order by value per second); every trial's
predicted fit time, and how far it was from the measured one.

Recommendations are an optimisation: when there are none (no usable knowledge base) the run goes on
as a plain search and a note says why.
"""

from __future__ import annotations

import math
import statistics
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import optuna

from metaopt.exceptions import ConfigError, KnowledgeBaseError, MetaoptError
from metaopt.tuning._objective import FIT_S_ATTR, PREDICTED_FIT_S_ATTR, WARM_CONFIG_ATTR, error_text


@dataclass(frozen=True)
class SearchBudget:
    """What the search may spend, as the cost-aware choices need it (``docs/metamodel.md``, "Time budgets")."""

    deadline: float  #: ``time.monotonic()`` when the search must end
    n_folds: int  #: folds a trial is scored on
    n_splits: int  #: folds of the split (a fold's fit trains on ``(n_splits - 1) / n_splits`` of the rows)
    n_trials: int | None = None  #: at most this many trials

    @property
    def seconds(self) -> float:
        """Seconds left for the search now (after loading the meta-model, which may take a while)."""
        return max(0.0, self.deadline - time.monotonic())


def recommendations(ds: Any, learner: str, k: int, kb: Any, notes: list[str], meta_features: dict | None = None,
                    budget: SearchBudget | None = None, primary: str | None = None,
                    earlier: list[Any] | None = None) -> tuple[str | None, list[Any], dict | None, list[Any]]:
    """(learner chosen by 'auto' or None, recommendations of that learner, meta-features, the joint ranking).

    The joint ranking (``"auto"`` only; else empty) is the top ``k`` configurations of all learners, in the
    order the search should try them (with a budget: by value per second, too slow ones last).

    ``meta_features``: already computed (``tune`` computes them on a row sample of large data).
    ``budget``: with a time budget, ``"auto"`` weighs learners by what they reach in it and the
    recommendations come ordered by value per second (:func:`for_budget`); None: neither.
    ``primary``: ``"auto"``'s learner as a resumed or shared study recorded it (``_auto``); None: chosen here.
    ``earlier``: the best trials of the storage's earlier studies on this table (``_earlier``): one goes first.
    """
    from metaopt import recommend
    from metaopt.recommender import QUERY_GROUPS  # the groups recommend computes
    from metaopt.tuning._earlier import with_earlier

    meta: dict | None = meta_features
    try:
        from metaopt.features import extract_meta_features

        if meta is None:
            meta = dict(extract_meta_features(ds, groups=QUERY_GROUPS).values)
    except Exception as exc:  # noqa: BLE001 - recommend computes them itself then
        notes.append(f"meta-features failed ({error_text(exc)})")
    try:
        if learner != "auto":
            recs = with_earlier(list(recommend(ds, learner=learner, k=k, kb=kb, meta_features=meta)), earlier or [],
                                learner, k)
            note_own_studies(recs, notes)
            return None, for_budget(recs, ds, meta, learner, kb, budget, notes), meta, []
        recs = with_earlier(recommend(ds, learner="auto", k=k, kb=kb, meta_features=meta), earlier or [], "auto", k)
        if not recs:
            return None, [], meta, []
        chosen, slow = (recs[0].learner, set()) if budget is None else learner_for_budget(
            ds, meta, recs[0].learner, kb, budget, notes if primary is None else [])
        if primary is not None and primary != chosen:
            notes.append(f"learner 'auto': {primary} first, as the study's first run chose ({chosen} would be "
                         f"chosen now)")
            chosen = primary
        same = [r for r in recs if r.learner == chosen]
        mixed = len(same) < len(recs)  # other learners in the joint ranking: the search may span them
        if mixed:
            try:
                same = recommend(ds, learner=chosen, k=k, kb=kb, meta_features=meta)
            except (KnowledgeBaseError, ConfigError) as exc:  # keep the auto list's configurations
                notes.append(f"only {len(same)} recommendation(s) of {chosen}: {exc}")
        same = with_earlier(same, earlier or [], chosen, k)
        note_own_studies(same, notes)
        joint = for_budget(list(recs), ds, meta, chosen, kb, budget, []) if mixed else []
        left_out = sorted({r.learner for r in joint if r.learner in slow and r.learner != chosen})
        if left_out:  # a learner none of whose trials would finish in the budget is not searched
            notes.append(f"learner 'auto': {', '.join(left_out)} not searched: no trial of it is predicted to "
                         f"finish in the time budget")
            joint = [r for r in joint if r.learner not in left_out]
        return chosen, for_budget(list(same), ds, meta, chosen, kb, budget, notes), meta, joint
    except (KnowledgeBaseError, ConfigError, OSError, MetaoptError) as exc:
        notes.append(f"no recommendations: {exc}")
    except Exception as exc:  # noqa: BLE001 - the warm start is an optimisation, never a reason to fail
        notes.append(f"no recommendations: {error_text(exc)}")
    return None, [], meta, []


def note_own_studies(recs: list[Any], notes: list[str]) -> None:
    """Say where the warm start starts from the user's own study on this table (``metaopt.recommender``)."""
    own = _own(recs)
    if own is not None:
        notes.append(_own_note(own))


def note_own_ran_before(study: Any, recs: list[Any], notes: list[str]) -> None:
    """On a resumed study whose earlier run tried the user's own trial already (it is not run again), the note
    says so, naming that trial, instead of "first"."""
    own = _own(recs)
    if own is None or _own_note(own) not in notes:
        return
    finished = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED, optuna.trial.TrialState.FAIL)
    ran = [t.number for t in study.get_trials(deepcopy=False, states=finished)
           if t.user_attrs.get(WARM_CONFIG_ATTR) == own.config_id]
    if ran:
        notes[notes.index(_own_note(own))] = _own_note(own, ran_as=min(ran))


def _own(recs: list[Any]) -> Any:
    return next((r for r in recs if getattr(r, "own_study", None)), None)


def _own_note(own: Any, ran_as: int | None = None) -> str:
    where = "in this storage" if own.config_id.startswith("study:") else "kb add-study"
    what = (f"the best trial of your own study {own.own_study!r} on a table with these columns and target "
            f"({own.config_id}; {where})")
    if ran_as is None:
        return f"warm start: first {what}"
    return f"warm start: {what} ran in an earlier run of this study, as trial {ran_as}"


def learner_for_budget(ds: Any, meta: dict | None, first_choice: str, kb: Any, budget: SearchBudget,
                       notes: list[str]) -> tuple[str, set[str]]:
    """``"auto"``'s learner under a time budget (:func:`metaopt.recommender.choose_learner`; the reason is
    noted), and the learners none of whose trials is predicted to finish in it."""
    from metaopt.recommender import TaskProfile, choose_learner, learner_reaches

    task = TaskProfile.of(ds, meta, budget.n_splits)
    seconds = budget.seconds
    reaches = learner_reaches(task, seconds, budget.n_folds, kb=kb, n_trials=budget.n_trials)
    chosen, why = choose_learner(reaches, first_choice)
    if why:
        notes.append(f"learner 'auto' with {seconds:.0f} s for the search ({budget.n_folds} fold(s) a trial): {why}")
    return chosen, {r.learner for r in reaches if not r.n_fit}


def for_budget(recs: list[Any], ds: Any, meta: dict | None, learner: str, kb: Any, budget: SearchBudget | None,
               notes: list[str]) -> list[Any]:
    """``recs`` by expected improvement per predicted second, those predicted not to finish in the search's
    time last (:func:`metaopt.recommender.order_for_budget`); unchanged without a budget. The user's own
    trials on this table stay first: their scores are on another scale than the KB's predictions."""
    from metaopt.recommender import order_for_budget

    own = [r for r in recs if getattr(r, "own_study", None)]
    if own:
        rest = [r for r in recs if not getattr(r, "own_study", None)]
        return own + for_budget(rest, ds, meta, learner, kb, budget, notes)
    if budget is None or not recs:
        return recs
    secs, baseline = predicted_trial_seconds(recs, ds, meta, learner, kb, budget)
    seconds = budget.seconds
    ordered, late = order_for_budget(recs, secs, seconds, baseline)
    trial_s = {id(r): s for r, s in zip(recs, secs)}
    if [id(r) for r in ordered + late] != [id(r) for r in recs]:
        notes.append("warm start ordered by expected improvement per predicted second of a trial: "
                     + ", ".join(f"{r.config_id} (~{trial_s[id(r)]:.1f} s)" for r in ordered + late))
    if late:
        notes.append(f"warm start: {len(late)} recommendation(s) predicted to need more than the "
                     f"{seconds:.0f} s left for the search are tried last: "
                     + ", ".join(r.config_id for r in late))
    return ordered + late


def predicted_trial_seconds(recs: list[Any], ds: Any, meta: dict | None, learner: str, kb: Any,
                            budget: SearchBudget) -> tuple[list[float], float | None]:
    """(predicted seconds of each recommendation's trial on the budget's folds, the library default's
    predicted score: the baseline of expected improvement)."""
    from metaopt.recommender import TaskProfile, get_recommender, peek_recommender, trial_seconds

    rec = peek_recommender(kb, learner) or get_recommender(kb, "auto")  # the one that ranked them: no new fit
    task = TaskProfile.of(ds, meta, budget.n_splits)
    secs = [trial_seconds(rec.config_fit_seconds(r.learner, r.config_id, task.train_rows, task.n_features,
                                                 task.n_classes), budget.n_folds) for r in recs]
    return secs, rec.default_score(ds.kind, task.meta, learner)


def fit_time_predictor(kb: Any, learner: str, ds: Any) -> Callable[[str | None, int | None], float | None] | None:
    """``(config_id, train_rows) -> predicted seconds of one fit`` from the meta-model this run already
    used (None when it used none: predicting is never worth loading or fitting one)."""
    from metaopt.recommender import peek_recommender

    rec = peek_recommender(kb, learner) or peek_recommender(kb, "auto")
    if rec is None or learner not in rec.learners:
        return None
    n_classes = int(ds.y.nunique()) if ds.kind != "regression" else 0

    def predict(config_id: str | None, train_rows: int | None) -> float | None:
        value = rec.config_fit_seconds(learner, config_id, int(train_rows or ds.n_rows), ds.n_features, n_classes)
        return value if math.isfinite(value) else None

    return predict


#: study attribute: how well the meta-model predicted the trials' fit times (:func:`fit_time_error`)
FIT_TIME_ERROR_ATTR = "metaopt:fit_time_error"


def fit_time_error(trials: list[Any]) -> dict[str, float] | None:
    """How far the predicted fold fit times (``metaopt:predicted_fit_s``) were from the measured ones
    (``metaopt:fit_s``): ``n`` trials, ``median_abs_log_error`` (``|log(actual / predicted)|``: 0.69 is
    a factor 2) and ``median_ratio`` (actual / predicted).  None without both on any trial."""
    pairs = [(t.user_attrs.get(FIT_S_ATTR), t.user_attrs.get(PREDICTED_FIT_S_ATTR)) for t in trials]
    logs = [math.log(a / p) for a, p in pairs if isinstance(a, (int, float)) and isinstance(p, (int, float))
            and a > 0 and p > 0]
    if not logs:
        return None
    return {"n": len(logs), "median_abs_log_error": statistics.median(abs(v) for v in logs),
            "median_ratio": math.exp(statistics.median(logs))}


def note_fit_time_error(study: Any, notes: list[str], learner: str = "") -> None:
    """Record :func:`fit_time_error` of the study's trials on the study and in the notes (naming ``learner``
    when a search spans several)."""
    err = fit_time_error(study.get_trials(deepcopy=False))
    if err is None:
        return
    study.set_user_attr(FIT_TIME_ERROR_ATTR, err)
    what = f"fit time of {learner}" if learner else "fit time"
    notes.append(f"{what}: measured / predicted {err['median_ratio']:.2g} (median over {err['n']} trials; median "
                 f"|log error| {err['median_abs_log_error']:.2f})")


def make_sampler(sampler: Any, ds: Any, learner: str, k: int, kb: Any, seed: int, meta_features: dict | None,
                 recs: list[Any], space: dict, warm: bool, notes: list[str]) -> tuple[Any, str]:
    """``tune``'s ``sampler`` argument -> (an Optuna sampler seeded with this worker's seed, its label)."""
    from metaopt.warmstart import DistinctSampler, MetaSampler

    if isinstance(sampler, optuna.samplers.BaseSampler):
        return sampler, type(sampler).__name__
    # metaopt's samplers never propose a configuration the study already has (MetaSampler checks itself)
    if sampler == "tpe":
        return DistinctSampler(optuna.samplers.TPESampler(seed=seed), seed=seed), "tpe"
    if sampler == "random":
        return DistinctSampler(optuna.samplers.RandomSampler(seed=seed), seed=seed), "random"
    if sampler != "meta":
        raise ConfigError(f"sampler must be 'meta', 'tpe', 'random' or an Optuna sampler, got {sampler!r}")
    kw: dict[str, Any] = dict(kind=ds.kind, learner=learner, k=k, kb=kb, seed=seed, recommendations=list(recs),
                              search_space=space, warm_start=warm)
    try:
        if meta_features is not None:
            return MetaSampler(meta_features=meta_features, **kw), "meta"
        return MetaSampler(ds.X, ds.y, **kw), "meta"
    except (MetaoptError, TypeError, ValueError) as exc:
        notes.append(f"MetaSampler could not be built ({error_text(exc)}); TPE used instead")
    return DistinctSampler(optuna.samplers.TPESampler(seed=seed), seed=seed), "tpe (MetaSampler failed)"


def enqueue(study: Any, ds: Any, learner: str, recs: list[Any], space: dict, k: int, kb: Any,
            notes: list[str], adaptive: bool = False) -> int:
    """Warm-start the study with ``recs``; returns how many configurations the warm start holds (enqueued,
    and with ``adaptive`` planned: the first :data:`~metaopt.metamodel.ADAPTIVE_START` are enqueued, the
    rest chosen one by one from the scores so far by :func:`adaptive_warm_start`'s callback).

    A failure leaves a plain search (noted); the warm start's warnings become notes.
    """
    from metaopt.metamodel import ADAPTIVE_START
    from metaopt.warmstart import ATTR, warm_start

    n = 0
    try:
        if recs:
            planned = len(recs) if adaptive and len(recs) > ADAPTIVE_START else None
            first = recs[:ADAPTIVE_START] if planned else recs
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                n = len(warm_start(study, ds.X, ds.y, learner=learner, k=len(first), kb=kb, recommendations=first,
                                   search_space=space, kind=ds.kind, planned=planned))
            notes.extend(str(w.message)[:300] for w in caught if issubclass(w.category, UserWarning))
            record = study.user_attrs.get(ATTR)
            if isinstance(record, dict):
                n = max(n, int(record.get("planned", 0)))
    except Exception as exc:  # noqa: BLE001 - a failed warm start leaves a plain search
        notes.append(f"warm start failed: {error_text(exc)}")
    if not recs:
        notes.append("warm start: no recommendations available")
    return n


def adaptive_warm_start(study: Any, ds: Any, learner: str, space: dict, kb: Any, n_folds: int,
                        seconds_left: Callable[[], float | None], notes: list[str]) -> Any:
    """The callback that chooses the study's planned warm-start picks from the scores so far
    (:class:`~metaopt.warmstart.AdaptiveWarmStart`), or None when none is planned or no meta-model was
    used (choosing is never worth loading or fitting one).

    A pick must be predicted to finish a trial in the search's time left; an error ends the warm start
    (noted), never the search.
    """
    from metaopt.recommender import peek_recommender
    from metaopt.warmstart import ATTR, AdaptiveWarmStart, pending_picks

    rec = peek_recommender(kb, learner) or peek_recommender(kb, "auto")
    if rec is None or learner not in rec.learners or not pending_picks(study.user_attrs.get(ATTR)):
        return None
    n_classes = int(ds.y.nunique()) if ds.kind != "regression" else 0

    def pick(tried: dict[str, float]) -> Any:
        left = seconds_left()
        try:
            return rec.next_recommendation(ds.kind, learner, tried, ds.n_rows, ds.n_features, n_classes,
                                           features=ds.X,
                                           max_fit_seconds=None if left is None else left / max(n_folds, 1))
        except Exception as exc:  # noqa: BLE001 - the warm start is an optimisation: the search goes on
            notes.append(f"warm start: later picks stopped: {error_text(exc)}")
            return None

    def active() -> bool:
        left = seconds_left()
        return left is None or left > 0

    return AdaptiveWarmStart(pick, learner=learner, search_space=space, kind=ds.kind, active=active)


def meta_model_notes(fits: list[tuple[str, float, bool]], budgeted: bool) -> list[str]:
    """What this run's meta-model fits (``metaopt.recommender.meta_model_fits``) cost it: a first run on a new KB
    or metaopt version pays once, within a time budget, or ranks without the surrogate where it cannot."""
    def names(learners: list[str]) -> str:
        return " and ".join(dict.fromkeys("all learners" if n == "auto" else n for n in learners))

    full, quick = [(n, s) for n, s, q in fits if not q], [n for n, _, q in fits if q]
    notes = []
    if full and budgeted:
        notes.append(f"fitting the meta-model of {names([n for n, _ in full])} took {sum(s for _, s in full):.1f} s "
                     "of the time budget, once: later runs read it from the cache (`metaopt kb prefit` fits them "
                     "beforehand)")
    if quick:
        notes.append(f"the first fit of the meta-model of {names(quick)} would have taken more than half of the time "
                     "left for the search: recommendations from the nearest KB tasks and the KB's portfolio, without "
                     "its surrogate (`metaopt kb prefit` fits and caches the full ones once)")
    return notes
