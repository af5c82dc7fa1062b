"""``learner="auto"`` on a shared or resumed study: one primary learner for every run of it.

``auto`` chooses its primary learner from the meta-model and, with a time budget, from what each learner
reaches in it. Another budget, a grown knowledge base or a later metaopt can choose another one, and two
workers starting together can disagree where the choice is close. The study's primary learner is
therefore decided once: the first worker claims it under the storage lock (:data:`AUTO_ATTR`), and every
later run (a resumed one, another worker) searches that learner and the run's other learners' studies
(``NAME+<learner>``) that exist, so that their trials stay in the ensemble.
"""

from __future__ import annotations

from typing import Any

AUTO_ATTR = "metaopt:auto"  #: study attribute of an ``auto`` run's primary study: ``{"primary": learner}``


def default_study_name(ds_name: str, learner: str, metric: str, cv: Any, seed: int) -> str:
    """The study name of a run given a storage but no study name (``learner`` is the primary learner)."""
    return f"metaopt-{ds_name}-{learner}-{metric}-cv{cv}-s{seed}"


def study_names(run: Any, study_name: str | None) -> dict[str, str]:
    """Each learner's study name as the run's primary: the user's study name for all, or each learner's
    default name."""
    from metaopt.learners import list_learners

    ds, args = run.ds, run.args
    return {name: study_name or default_study_name(ds.name, name, run.metric, args.cv, args.seed)
            for name in list_learners(include_unoffered=True)}


def choose_auto(run: Any, kb: Any, study_name: str | None, meta: dict | None, budget: Any) -> str:
    """``auto``'s primary learner (the study's where it has one) and the learners searched beside it; sets
    the run's recommendations, meta-features, joint ranking and other learners."""
    from metaopt.tuning._portfolio import portfolio_learners
    from metaopt.tuning._warm import recommendations

    ds, args = run.ds, run.args
    explicit = study_name is not None
    names = {} if run.storage is None else study_names(run, study_name)
    primary = recorded_primary(run.storage, names, explicit) if names else None
    for _ in range(2):  # a second time where another worker claimed the study first with another learner
        choice, run.recs, run.meta_features, run.joint = recommendations(
            ds, "auto", args.k, kb, run.notes, meta_features=meta, budget=budget, primary=primary, earlier=run.earlier)
        chosen = choice or primary or "lightgbm"
        if choice is None:
            run.notes.append(f"learner 'auto' fell back to {chosen}")
        if not names or primary is not None:
            break
        primary = claim_primary(run.storage, names, chosen, explicit, run.direction, run.metric)
        if primary == chosen:
            break
        meta = run.meta_features
    # the joint ranking's other learners are searched too (_portfolio), and those an earlier run searched
    others = portfolio_learners(chosen, run.joint, ds.kind)[1:]
    if names:
        others += [name for name in existing_legs(run.storage, names[chosen], list(names))
                   if name != chosen and name not in others]
    run.other_learners = others
    return chosen


def recorded_primary(storage: Any, names: dict[str, str], explicit: bool) -> str | None:
    """The primary learner that an earlier run chose; None for a new study.

    ``names``: each learner's study name as the primary (the user's study name for all, or each learner's
    default name).  A study named by the user counts even without :data:`AUTO_ATTR` (one created by
    ``--learner X``, or before the attribute existed): its recorded learner is the primary.
    """
    from metaopt.learners import list_learners
    from metaopt.tuning._study import SETUP_ATTR

    known = set(list_learners(include_unoffered=True))
    for attrs in _user_attrs(storage, list(dict.fromkeys(names.values()))):
        marked = attrs.get(AUTO_ATTR)
        learner = marked.get("primary") if isinstance(marked, dict) else None
        setup = attrs.get(SETUP_ATTR)
        if learner is None and explicit and isinstance(setup, dict):
            learner = setup.get("learner")
        if learner in known:
            return str(learner)
    return None


def claim_primary(storage: Any, names: dict[str, str], chosen: str, explicit: bool, direction: str,
                  metric: str) -> str:
    """The study's primary learner: the one recorded, else ``chosen``, recorded now in its study (created here)
    under the storage lock, so that workers starting together agree on it."""
    from metaopt.tuning._study import open_study
    from metaopt.warmstart import storage_lock

    lock_name = names[chosen] if explicit else "auto:" + min(names.values())  # default names: one lock for all
    with storage_lock(storage, lock_name):
        agreed = recorded_primary(storage, names, explicit)
        if agreed is not None:
            return agreed
        study = open_study(storage, names[chosen], None, None, direction, metric)
        study.set_user_attr(AUTO_ATTR, {"primary": chosen})
    return chosen


def existing_legs(storage: Any, study_name: str, learners: list[str]) -> list[str]:
    """The learners among ``learners`` whose leg study ``study_name+<learner>`` exists (an earlier run's)."""
    names = {s.study_name for s in storage.get_all_studies()}
    return [name for name in learners if f"{study_name}+{name}" in names]


def _user_attrs(storage: Any, names: list[str]) -> list[dict[str, Any]]:
    """The user attributes of those of ``names`` that exist in ``storage``, in order."""
    out = []
    for name in names:
        try:
            study_id = storage.get_study_id_from_name(name)
        except KeyError:
            continue
        out.append(storage.get_study_user_attrs(study_id))
    return out
