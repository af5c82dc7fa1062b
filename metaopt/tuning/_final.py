"""``tune``'s final model: the ensemble of the search, or one configuration chosen robustly.

With ``ensemble=True`` the study's trials (and the library default) are combined by greedy
ensemble selection on their out-of-fold predictions (:mod:`metaopt.tuning._ensemble`); an ensemble
of one member is that single configuration.  Each configuration of the ensemble is refitted with
:data:`~metaopt.tuning._ensemble.REFIT_SEEDS` seeds and averaged where there is room (a seed bag;
``_seed_room``).  With ``ensemble=False`` one configuration is chosen by the best CV mean minus one
standard error (:mod:`metaopt.tuning._robust`).  ``docs/tuning.md`` ("Final model").
"""

from __future__ import annotations

from typing import Any

from metaopt.tuning._budget import REFIT_MARGIN, projected_refit_s
from metaopt.tuning._ensemble import (
    ENSEMBLE_FIT,
    MAX_BLEND_SHORTFALL,
    REFIT_SEEDS,
    SEED_SHARE,
    EnsembleFit,
    Candidate,
    Member,
    add_seeds,
    blend_score,
    blend_shortfall,
    candidate_pool,
    describe,
    fit_members,
    gather_candidates,
    keeps_blend,
    room_by_rows,
    room_by_time,
    select,
)
from metaopt.tuning._robust import robust_choice


def final_ensemble(run: Any, fields: dict[str, Any], mode: str = ENSEMBLE_FIT) -> tuple[Any, dict[str, Any] | None]:
    """(the fitted ensemble, its summary entry), or (None, why not) when it would be one configuration
    (then the caller refits that one as before)."""
    import time

    cands = _candidates(run)
    if run.oof.missing:
        run.notes.append(f"{run.oof.missing} finished configuration(s) have no out-of-fold predictions in "
                         f"{run.oof.base} (not saved, e.g. on a full disk, or saved in another machine's folder: "
                         "METAOPT_OOF_DIR): the ensemble chooses among the others")
    if len(cands) < 2:
        return None, {"n_candidates": len(cands), "why_not": "fewer than 2 configurations with out-of-fold "
                                                             "predictions"}
    members, info = select(cands, run.cvx.y_codes, run.ds.kind, run.metric, run.args.ensemble_size,
                           run.cvx.test_folds)
    info["repeats"] = run.plan.repeats  # each row's stored prediction is the mean over the repeats' fits
    if not keeps_blend(members, info):
        short = blend_shortfall(info)
        why = (f"the best blend's CV score is {100 * short:.0f}% worse than the best single configuration's"
               if short > MAX_BLEND_SHORTFALL else "no blend of configurations differs from the best single one's "
                                                   "CV score")
        return None, dict(info, n_members=1, why_not=why)  # refit_best names the member it refits
    t0 = time.monotonic()
    scale = _refit_scale(run) if mode == "refit" else run.cvx.n_folds
    fitted, notes, interrupted = fit_members(members, lambda c: _fit(run, c, mode), run.budget.left, scale,
                                             keep_on_interrupt=_finish_on_ctrl_c(run))
    run.notes.extend(notes)
    if not fitted:
        return None, dict(info, n_members=0, why_not="no member's refit would finish within the time budget")
    if len(fitted) < len(members):
        info = _rescored(run, info, members, fitted)
    if mode == "refit" and not interrupted:  # the fold models already are a bag
        _add_seeds(run, fitted)
    ens = EnsembleFit(kind=run.ds.kind, members=fitted, mode=mode,
                      classes_=None if run.ds.kind == "regression" else run.cvx.task.labels)
    return ens, describe(ens, info, time.monotonic() - t0)


def _rescored(run: Any, info: dict[str, Any], members: list[tuple[Candidate, float]],
              fitted: list[Member]) -> dict[str, Any]:
    """``info`` with the CV score of the blend the model holds, where members were left out (time budget)
    or a Ctrl-C ended the refits: the selection's own score would overstate it."""
    kept = {m.source for m in fitted}
    score = blend_score([(c, w) for c, w in members if c.source in kept], run.cvx.y_codes, run.ds.kind,
                        run.metric, run.cvx.test_folds)
    sign = 1 if run.maximize else -1
    return dict(info, cv_score=score, selected_cv_score=info["cv_score"], n_selected=len(members),
                gain=(score - info["best_single_score"]) * sign)


def _candidates(run: Any) -> list[Candidate]:
    """Every learner's best candidates (all scored on the same folds), best first (``candidate_pool``)."""
    cands = [c for leg in _legs(run)
             for c in gather_candidates(leg.study, run.oof, leg.learner, run.default if leg.primary else None,
                                        run.maximize, label=leg.label)]
    return candidate_pool(cands, run.maximize)


def _legs(run: Any) -> list[Any]:
    """Every learner's part of the search (a run of one learner: its study as the primary leg)."""
    from metaopt.tuning._portfolio import Leg

    return run.legs or [Leg(run.learner, run.study, None, primary=True)]


def _fold_rows(run: Any) -> int:
    """Rows one fold's fit was trained on."""
    return int(run.cvx.task.folds[0][0].size)


def _refit_scale(run: Any) -> float:
    """A refit on all rows over one fold's fit (fit time grows about linearly with the rows)."""
    return run.ds.n_rows / max(1, _fold_rows(run))


def affordable(run: Any, fields: dict[str, Any]) -> dict[str, Any]:
    """``fields`` with the best configuration whose refit on all rows is predicted to finish in the time
    left, where the chosen one's is not expected to finish even without the projection's margin.

    A refit cut at the deadline is another configuration, with a fraction of its rounds or trees: on a
    large table a slow configuration cut that way scored far below the library default
    (``docs/tuning.md``, "Budget").  The prediction is the candidate's fold fit time scaled to all rows.
    """
    limit = run.budget.refit_limit()
    cands = _candidates(run) if limit is not None else []
    learner = fields.get("best_learner") or run.learner
    chosen = next((c for c in cands if c.learner == learner and c.params == fields["best_params"]), None)

    def need(c: Candidate) -> float:
        return projected_refit_s(c.fit_s, _fold_rows(run), run.ds.n_rows) if c.fit_s is not None else 0.0

    # the refit is time-limited, so a projection just past the limit costs at most its last rounds or
    # trees; only a refit that would be cut well short is replaced (openintro/military: the default's
    # refit, projected at about the 30 s left, was replaced by a linear model 0.03 AUC worse)
    if chosen is None or need(chosen) / REFIT_MARGIN <= limit:
        return fields
    other = next((c for c in cands if need(c) <= limit), None)
    if other is None:
        return fields
    name = "the library default" if other.source == "default" else f"trial {other.source}"
    run.notes.append(f"the best configuration's refit (~{need(chosen):.0f} s predicted) would not finish in the "
                     f"{limit:.0f} s left: the model refits {name} (CV {other.cv_score:.5g} against "
                     f"{chosen.cv_score:.5g})")
    return dict(fields, best_is_default=other.source == "default", best_params=dict(other.params),
                best_score=other.cv_score, best_trial=None if other.source == "default" else other.source,
                best_learner=other.learner)


def _refit(run: Any, learner: str, params: dict[str, Any], seed: int = 0) -> Any:
    """One fit of a configuration on all rows (seed ``run.fold_seed + seed``), within the rest of the budget;
    where the search's folds stopped it early, for their mean rounds (``Learner.refit_params``)."""
    from metaopt.learners import get_learner

    lrn, ds = get_learner(learner), run.ds
    return lrn.fit(ds.X, ds.y, lrn.refit_params(params, _rounds(run, learner, params)), ds.kind,
                   random_state=run.fold_seed + seed, time_limit_s=run.budget.refit_limit())


def _rounds(run: Any, learner: str, params: dict[str, Any]) -> float | None:
    """The mean rounds early stopping chose in the folds of the trial of this configuration
    (``metaopt:rounds``); None for the library default and for trials of studies from before it was kept."""
    import json

    from optuna.trial import TrialState

    from metaopt.tuning._objective import ROUNDS_ATTR, jsonable

    def key(lrn: str, config: dict[str, Any]) -> tuple[str, str]:
        return lrn, json.dumps(jsonable(config), sort_keys=True)

    if run.refit_rounds is None:
        run.refit_rounds = {}
        for leg in _legs(run):
            for t in leg.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
                if t.user_attrs.get(ROUNDS_ATTR) is not None:
                    run.refit_rounds.setdefault(key(leg.learner, t.user_attrs.get("config") or t.params),
                                                float(t.user_attrs[ROUNDS_ATTR]))
    return run.refit_rounds.get(key(learner, params))


def _add_seeds(run: Any, members: list[Member]) -> None:
    """More seeds of the members whose learner's fits depend on the seed, while there is room
    (:func:`_seed_room`).

    The extra seeds are a refinement, so with ``on_interrupt="finish"`` a first Ctrl-C during them ends the
    bag and the model keeps the fits done; after a Ctrl-C that stopped the search it aborts the call, as
    ``metaopt tune`` announces ("Ctrl-C again to abort")."""
    from metaopt.learners import get_learner

    try:
        add_seeds([m for m in members if get_learner(m.learner).seeded],
                  lambda m, i: _refit(run, m.learner, m.params, i), REFIT_SEEDS, _seed_room(run))
    except KeyboardInterrupt:
        if not _finish_on_ctrl_c(run):
            raise
        fits = ", ".join(str(len(m.models)) for m in members)
        run.notes.append(f"Ctrl-C while the final model's extra seeds were fitted: the model keeps the fits "
                         f"done ({fits} per configuration)")


def _seed_room(run: Any) -> Any:
    """Which extra seeds may be fitted: with a time budget, those that fit in its time left less its slack;
    without one, :data:`SEED_SHARE` of the rows the search's fits trained on.  Rows, not the search's
    seconds: a run without a time budget (and one worker) then gives the same model every time."""
    budget = run.budget
    if budget.deadline is not None:
        return room_by_time(lambda: budget.left() - budget.slack())
    return room_by_rows(SEED_SHARE * _rows_fitted(run), len(run.cvx.task.y))


def _rows_fitted(run: Any) -> int:
    """The rows the search's fits trained on, summed over every learner's trials and the library default
    (trials of studies from before ``metaopt:rows_fitted``: their folds x mean training rows)."""
    from optuna.trial import TrialState

    from metaopt.tuning._objective import ROWS_FITTED_ATTR, TRAIN_ROWS_ATTR
    from metaopt.tuning._study import DEFAULT_ATTR

    def rows(attrs: dict[str, Any], fitted: str, mean_rows: str) -> int:
        if attrs.get(fitted) is not None:
            return int(attrs[fitted])
        return len(attrs.get("fold_scores") or []) * int(attrs.get(mean_rows) or 0)

    total = 0
    for leg in _legs(run):
        trials = leg.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))
        total += sum(rows(t.user_attrs, ROWS_FITTED_ATTR, TRAIN_ROWS_ATTR) for t in trials)
        stored = leg.study.user_attrs.get(DEFAULT_ATTR)
        total += rows(stored, "rows_fitted", "train_rows") if isinstance(stored, dict) else 0
    return total


def _finish_on_ctrl_c(run: Any) -> bool:
    """Whether a Ctrl-C during the final model's build ends it with the fits done: with
    ``on_interrupt="finish"``, unless a Ctrl-C already stopped the search (the CLI announced that the next
    one aborts)."""
    return run.args.on_interrupt == "finish" and not run.stopped_by_user


def _fit(run: Any, cand: Candidate, mode: str) -> list[Any]:
    """A member's fitted models: one on all rows ("refit"), or one per fold of the plan ("folds")."""
    from metaopt.learners import get_learner

    if mode == "refit":
        return [_refit(run, cand.learner, cand.params)]
    lrn, task = get_learner(cand.learner), run.cvx.task
    return [lrn.fit(task.X.iloc[tr], task.y.iloc[tr], cand.params, run.ds.kind, random_state=run.fold_seed + i,
                    time_limit_s=run.budget.refit_limit())
            for i, (tr, _) in enumerate(task.folds[:run.cvx.n_folds])]


def refit_best(run: Any, fields: dict[str, Any], ensemble: dict[str, Any] | None) -> Any:
    """The chosen configuration fitted on all rows; where the ensemble fell back to it (``ensemble``: its
    summary entry, which gets ``members``: this one, and ``seeds``), a seed bag of it, like every ensemble member."""
    learner, params = fields.get("best_learner") or run.learner, fields["best_params"]
    limit = run.budget.refit_limit()  # the rest of the budget (its reserve was kept from the search)
    first = _refit(run, learner, params)
    if first.timed_out:
        run.notes.append(f"the final refit was cut at the time budget ({limit:.1f} s; "
                         f"{first.n_estimators_used:g} rounds/trees)")
    if ensemble is None:  # the user asked for one model (``ensemble=False``)
        return first
    source = "default" if fields.get("best_is_default") else fields.get("best_trial")
    member = Member([first], 1.0, source, learner, dict(params), fields.get("best_score"))
    _add_seeds(run, [member])
    ensemble.update(n_members=1, members=[member.describe()])
    if len(member.models) == 1:
        return first
    ensemble["seeds"] = len(member.models)
    return EnsembleFit(kind=run.ds.kind, members=[member], mode="refit",
                       classes_=None if run.ds.kind == "regression" else run.cvx.task.labels)


def final_single(run: Any, fields: dict[str, Any]) -> dict[str, Any]:
    """``fields`` with the lower-confidence-bound configuration as the best, and the choice's report."""
    others = [(leg.study, leg.label, leg.learner) for leg in run.legs if not leg.primary]
    choice = robust_choice(run.study, run.default, run.maximize, others)
    if choice is None:
        return fields
    out = dict(fields, selection=choice.report())
    if choice.source != choice.best_source:
        out.update(best_is_default=choice.source == "default", best_params=dict(choice.params),
                   best_score=choice.cv_score, best_trial=None if choice.source == "default" else choice.source,
                   best_learner=choice.learner or run.learner)
    return out
