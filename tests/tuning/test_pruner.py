"""``FoldPruner`` and ``tune``'s ``pruner`` argument."""

from __future__ import annotations

import optuna
import pytest

from metaopt.exceptions import ConfigError
from metaopt.tuning import FoldPruner
from metaopt.tuning._pruner import make_pruner


@pytest.mark.parametrize("direction, current, pruned", [
    ("maximize", 0.70, True), ("maximize", 0.79, False), ("minimize", 0.90, True), ("minimize", 0.30, False),
])
def test_fold_pruner_compares_running_means_at_the_same_fold(direction, current, pruned):
    from optuna.distributions import FloatDistribution
    from optuna.trial import create_trial

    study = optuna.create_study(direction=direction, pruner=FoldPruner(25.0, n_startup_trials=5))
    for v in (0.75, 0.76, 0.77, 0.78, 0.80):
        # a high first fold must not protect a trial: only the value at the current fold counts
        study.add_trial(create_trial(value=v, params={"x": 0.0}, distributions={"x": FloatDistribution(0, 1)},
                                     intermediate_values={0: 0.5, 1: v}))
    trial = study.ask()
    trial.report(0.99 if direction == "maximize" else 0.01, 0)
    assert not trial.should_prune()  # fold 0 is warm-up
    trial.report(current, 1)
    assert trial.should_prune() is pruned


def test_make_pruner_choices():
    pruner, label = make_pruner("auto", 5)
    assert isinstance(pruner, FoldPruner) and label == "FoldPruner(worst 25%, after 5 trials, from fold 2)"
    assert (pruner.percentile, pruner.n_startup_trials, pruner.n_warmup_steps, pruner.n_min_trials) == (25, 5, 1, 3)
    assert make_pruner("auto", 2)[1] == "none (cv < 3)"  # nothing to save with two folds
    assert make_pruner(None, 5)[1] == "none"
    median = optuna.pruners.MedianPruner()
    assert make_pruner(median, 5) == (median, "MedianPruner")
    with pytest.raises(ConfigError, match="pruner must be"):
        make_pruner("median", 5)
    with pytest.raises(ConfigError, match="percentile"):
        FoldPruner(120.0)
