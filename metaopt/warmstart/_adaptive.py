"""``AdaptiveWarmStart``: the warm start's later picks, each chosen after the scores of the earlier ones.

``warm_start(..., planned=k)`` enqueues the first picks and records ``planned`` in the study's
warm-start record; this Optuna callback, given to ``study.optimize``, completes it.  After a trial,
when the record still plans more picks and no warm-start trial waits in the queue, it collects the
study's scores of the warm-start configurations (NaN for those running, failed or pruned), asks
``next_config`` for the next one (:meth:`metaopt.recommender.Recommender.next_recommendation`: the
rule is in :mod:`metaopt.metamodel._adaptive`) and enqueues it.

:class:`MetaSampler` runs the same step from its ``before_trial`` with the new trial as ``current_trial``:
the pick becomes that trial's parameters (no callback to pass, no extra trial).

Workers: the check-choose-enqueue runs under the study's storage lock (:func:`storage_lock`), and the
record grows in the same step, so however many workers or processes run the callback, each planned
pick is enqueued once; a resumed study goes on where its record stops.  A pick whose parameters (in
the study's space) equal a trial the study already has is recorded as skipped and the next one chosen.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import Any

from metaopt.warmstart._warm_start import (
    ATTR,
    CONFIG_ATTR,
    SOURCE_ATTR,
    as_warm_configs,
    give_to_trial,
    prepare_configs,
    storage_lock,
)

__all__ = ["AdaptiveWarmStart", "pending_picks"]

#: candidates skipped as duplicates in one step at most, before the step gives up
_MAX_SKIPS = 10


def pending_picks(record: Any) -> int:
    """Warm-start picks a record still plans (0 for a record without ``planned``)."""
    if not isinstance(record, Mapping):
        return 0
    done = len(record.get("config_ids", [])) + len(record.get("skipped", []))
    return max(0, int(record.get("planned", 0)) - done)


class AdaptiveWarmStart:
    """Optuna callback: enqueue the next warm-start pick from the scores of those tried (module docstring).

    Parameters
    ----------
    next_config
        ``next_config(tried) -> recommendation or None``, ``tried`` = ``{config_id: score}`` with higher
        better (NaN: no score); None ends the warm start.
    learner, search_space, param_names, kind
        As for :func:`warm_start`: the learner of the picks and the study's space and names.
    active
        ``active()`` False: pick nothing now (e.g. the search's time is spent).
    """

    def __init__(self, next_config: Callable[[dict[str, float]], Any], *, learner: str,
                 search_space: Mapping[str, Any] | None = None, param_names: Mapping[str, str] | None = None,
                 kind: str | None = None, active: Callable[[], bool] | None = None):
        self.next_config = next_config
        self.learner = learner
        self.search_space = dict(search_space) if search_space is not None else None
        self.param_names = dict(param_names) if param_names is not None else None
        self.kind = kind
        self.active = active
        self.n_enqueued = 0  #: picks this callback enqueued (in this process)

    def __call__(self, study: Any, trial: Any = None) -> None:
        self.step(study)

    def done(self, study: Any) -> bool:
        """Whether the study's warm start plans no more picks."""
        return pending_picks(_record(study)) == 0

    def step(self, study: Any, current_trial: Any = None) -> str | None:
        """Enqueue the next pick if one is due; returns its config id (None: nothing enqueued).

        ``current_trial``: a running trial without fixed parameters that takes the pick instead of the queue.
        """
        if pending_picks(_record(study)) == 0 or _queued(study) or (self.active is not None and not self.active()):
            return None
        with storage_lock(study._storage, study.study_name):
            record = _record(study)
            if pending_picks(record) == 0 or _queued(study):
                return None  # another worker enqueued it (or the warm start is complete)
            return self._enqueue_next(study, dict(record), current_trial)

    def _enqueue_next(self, study: Any, record: dict[str, Any], current_trial: Any = None) -> str | None:
        """Under the lock: choose, skip duplicates, enqueue (or give to ``current_trial``), grow the record."""
        trials = study.get_trials(deepcopy=False)
        taken = {json.dumps(t.params, sort_keys=True, default=str) for t in trials}
        tried = _scores(study, trials, record)
        for _ in range(_MAX_SKIPS):
            pick = self.next_config(dict(tried))
            if pick is None:
                record["planned"] = len(record.get("config_ids", [])) + len(record.get("skipped", []))
                study.set_user_attr(ATTR, record)  # nothing left to pick: the warm start ends here
                return None
            cfg = as_warm_configs([pick], self.learner)[0]
            prepared, _ = prepare_configs([cfg], study, learner=self.learner, param_names=self.param_names,
                                          search_space=self.search_space, kind=self.kind)
            params = prepared[0][1] if prepared else None
            if params is None or json.dumps(params, sort_keys=True, default=str) in taken:
                record["skipped"] = [*record.get("skipped", []), cfg.config_id]
                tried[cfg.config_id] = math.nan
                if pending_picks(record) == 0:
                    break
                continue
            if current_trial is not None:
                give_to_trial(study, current_trial, cfg.config_id, params)
            else:
                study.enqueue_trial(params, user_attrs={CONFIG_ATTR: cfg.config_id, SOURCE_ATTR: "warm_start"})
            record["config_ids"] = [*record.get("config_ids", []), cfg.config_id]
            record["params"] = [*record.get("params", []), params]
            study.set_user_attr(ATTR, record)
            self.n_enqueued += 1
            return cfg.config_id
        study.set_user_attr(ATTR, record)
        return None


def _record(study: Any) -> dict[str, Any] | None:
    rec = study._storage.get_study_user_attrs(study._study_id).get(ATTR)
    return rec if isinstance(rec, dict) else None


def _queued(study: Any) -> bool:
    """Whether a warm-start trial waits in the queue (the next pick is due when it has been run)."""
    from optuna.trial import TrialState

    return any(t.user_attrs.get(SOURCE_ATTR) == "warm_start"
               for t in study.get_trials(deepcopy=False, states=(TrialState.WAITING,)))


def _scores(study: Any, trials: list[Any], record: Mapping[str, Any]) -> dict[str, float]:
    """``{config_id: score}`` of the record's picks, higher is better (NaN: not complete; all NaN in a study of
    several objectives, whose picks then follow the KB's ranking)."""
    from optuna.study import StudyDirection
    from optuna.trial import TrialState

    out = {cid: math.nan for cid in [*record.get("config_ids", []), *record.get("skipped", [])]}
    if len(study.directions) != 1:
        return out
    sign = 1.0 if study.direction == StudyDirection.MAXIMIZE else -1.0
    for t in trials:
        cid = t.user_attrs.get(CONFIG_ATTR)
        if cid in out and t.state == TrialState.COMPLETE and t.value is not None and math.isfinite(t.value):
            out[cid] = sign * float(t.value)
    return out
