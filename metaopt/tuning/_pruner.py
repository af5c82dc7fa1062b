"""``FoldPruner``: stop a trial whose running CV mean is among the worst at the same fold.

Optuna's ``MedianPruner``/``PercentilePruner`` compare the best intermediate value so far, which for
running CV means is the noisy first fold; this pruner compares the value at the current fold.
Settings and measurements: ``docs/tuning.md``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import optuna

from metaopt.exceptions import ConfigError
from metaopt.tuning._fidelity import kfold_plan

#: ``pruner="auto"``: the worst quarter, once 5 trials completed, from the second fold on
AUTO = dict(percentile=25.0, n_startup_trials=5, n_warmup_steps=1, n_min_trials=3)


class FoldPruner(optuna.pruners.BasePruner):
    """Prune a trial whose running CV mean is in the worst ``percentile`` % at the same fold.

    Compares the trial's value *at the current step* (the running mean of its
    fold scores; every trial uses the same folds) with the completed trials'
    values at that step (completed and pruned trials that reached the step).
    Pruning starts once ``n_startup_trials`` trials have completed, from step
    ``n_warmup_steps`` on, and needs ``n_min_trials`` completed values at the step.
    """

    def __init__(self, percentile: float = 25.0, n_startup_trials: int = 5, n_warmup_steps: int = 1,
                 n_min_trials: int = 3):
        if not 0.0 <= percentile <= 100.0:
            raise ConfigError(f"percentile must be in [0, 100], got {percentile!r}")
        self.percentile = float(percentile)
        self.n_startup_trials = int(n_startup_trials)
        self.n_warmup_steps = int(n_warmup_steps)
        self.n_min_trials = max(1, int(n_min_trials))

    def prune(self, study: Any, trial: Any) -> bool:
        from optuna.study import StudyDirection
        from optuna.trial import TrialState

        step = trial.last_step
        if step is None or step < self.n_warmup_steps:
            return False
        current = trial.intermediate_values.get(step)
        if current is None or not math.isfinite(current):
            return False
        completed = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if len(completed) < self.n_startup_trials:
            return False
        # reference: every finished trial that reached this fold (pruned ones included, so that the
        # reference is not only the survivors of earlier pruning)
        finished = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))
        values = [t.intermediate_values[step] for t in finished if step in t.intermediate_values]
        values = [v for v in values if v is not None and math.isfinite(v)]
        if len(values) < self.n_min_trials:
            return False
        if study.direction == StudyDirection.MAXIMIZE:
            return current < float(np.percentile(values, self.percentile))
        return current > float(np.percentile(values, 100.0 - self.percentile))


def make_pruner(pruner: Any, plan: Any) -> tuple[Any, str]:
    """``tune``'s ``pruner`` argument and the evaluation plan -> (an Optuna pruner, its label in the summary).

    ``"auto"``: :class:`FoldPruner` on 3 or more folds; Optuna's ``SuccessiveHalvingPruner`` (eta of
    the plan's rungs) on the row-subsample rungs of large data; none on fewer folds (nothing to save).
    """
    if pruner is None or pruner is False:
        return optuna.pruners.NopPruner(), "none"
    if isinstance(pruner, str):
        if pruner != "auto":
            raise ConfigError(f"pruner must be 'auto', None or an Optuna pruner, got {pruner!r}")
        if isinstance(plan, int):  # a fold count: plain K-fold
            plan = kfold_plan(plan)
        if len(plan.rungs) > 1:
            eta = round(plan.rungs[1] / plan.rungs[0])
            return (optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=eta),
                    f"SuccessiveHalvingPruner(eta {eta}, rungs {len(plan.rungs)})")
        if plan.n_folds < 3:
            return optuna.pruners.NopPruner(), "none (holdout)" if plan.n_folds == 1 else "none (cv < 3)"
        return FoldPruner(**AUTO), (f"FoldPruner(worst {AUTO['percentile']:g}%, after {AUTO['n_startup_trials']} "
                                    f"trials, from fold {AUTO['n_warmup_steps'] + 1})")
    if isinstance(pruner, optuna.pruners.BasePruner):
        return pruner, type(pruner).__name__
    raise ConfigError(f"pruner must be 'auto', None or an Optuna pruner, got {type(pruner).__name__}")
