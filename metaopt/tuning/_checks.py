"""``tune``'s first step: refuse bad arguments and unusable data before any fit or storage write."""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

from metaopt.core import PRIMARY, TUNE_METRICS, class_labels
from metaopt.exceptions import ConfigError, TargetError
from metaopt.learners import check_offered
from metaopt.tuning._fidelity import auto_splits
from metaopt.tuning._model import check_feature_magnitude
from metaopt.utils import check_scalar


#: ``n_trials="auto"`` without a ``timeout``: this many trials (with one: as many as the time allows)
DEFAULT_TRIALS = 50


@dataclass(frozen=True)
class Budget:
    """``tune``'s validated numeric arguments."""

    n_trials: int | None
    timeout: float | None
    cv: int | str  #: folds, or "auto" (:mod:`metaopt.tuning._fidelity`)
    n_jobs: int
    k: int
    seed: int
    ensemble: bool = True
    ensemble_size: int = 25
    on_interrupt: str = "raise"  #: Ctrl-C during the search: "raise" it, or "finish" with the finished trials


def check_arguments(*, n_trials: Any, timeout: Any, cv: Any, n_jobs: Any, k: Any, random_state: Any,
                    learner: Any, kb: Any = None, ensemble: Any = True, ensemble_size: Any = 25,
                    on_interrupt: Any = "raise") -> Budget:
    """Validate ``tune``'s scalar arguments and the learner's name (ConfigError; with a KB of one's own, any
    registered learner)."""
    timeout = check_scalar(timeout, "timeout", numbers.Real, min_val=0, include_boundaries="neither",
                           allow_none=True, unit="seconds")
    n_trials = check_scalar(resolve_trials(n_trials, timeout), "n_trials", numbers.Integral, min_val=1,
                            allow_none=True)
    if n_trials is None and timeout is None:
        raise ConfigError("give n_trials or timeout (or both); otherwise the search would never stop")
    if on_interrupt not in ("raise", "finish"):
        raise ConfigError(f"on_interrupt must be 'raise' or 'finish', got {on_interrupt!r}")
    budget = Budget(n_trials=n_trials, timeout=timeout, cv=check_cv(cv),
                    n_jobs=check_scalar(n_jobs, "n_jobs", numbers.Integral, min_val=1),
                    k=check_scalar(k, "k", numbers.Integral, min_val=1),
                    seed=check_scalar(random_state, "random_state", numbers.Integral, min_val=0),
                    ensemble=bool(check_scalar(ensemble, "ensemble", (bool, np.bool_))), on_interrupt=on_interrupt,
                    ensemble_size=check_scalar(ensemble_size, "ensemble_size", numbers.Integral, min_val=1,
                                               max_val=1000))
    if not isinstance(learner, str):
        raise ConfigError(f"learner must be a string such as 'auto' or 'lightgbm', got {learner!r}")
    if learner != "auto":
        check_offered(learner, kb)
    return budget


def resolve_trials(n_trials: Any, timeout: Any) -> Any:
    """``n_trials="auto"`` as a number of trials: :data:`DEFAULT_TRIALS` without a ``timeout``, None (no cap)
    with one; anything else unchanged (checked by the caller)."""
    if not isinstance(n_trials, str):
        return n_trials
    if n_trials != "auto":
        raise ConfigError(f"n_trials must be 'auto', a positive integer or None, got {n_trials!r}")
    # a time budget alone is spent, as FLAML's time_budget and Optuna's timeout are; a cap of 50 would end
    # a search on small data long before it (docs/tuning.md, "Budget")
    return None if timeout is not None else DEFAULT_TRIALS


def check_cv(cv: Any) -> int | str:
    """``"auto"`` or a number of folds >= 2 (ConfigError otherwise)."""
    if isinstance(cv, str):
        if cv == "auto":
            return cv
        raise ConfigError(f"cv must be 'auto' or an integer >= 2, got {cv!r}")
    return check_scalar(cv, "cv", numbers.Integral, min_val=2)


def load_task(data_or_X: Any, y: Any, target: Any, kind: str | None, metric: str | None, cv: int | str,
              groups: Any = None, time_column: str | None = None) -> tuple[Any, str, list[str]]:
    """(the Dataset, the metric, the notes so far): the data loaded and checked against ``cv`` and ``metric``."""
    from metaopt.data import load_data
    ds = load_data(data_or_X, target=target, y=y, kind=kind, groups=groups, time_column=time_column)
    metric = check_metric(ds.kind, metric)
    notes: list[str] = list(ds.essential_notes)  # rows lost, or a kind the user may not mean: always say so
    # not the usual CV, or a column the user gave that the model will not see
    notes += [n for n in ds.notes if n.startswith(("grouped folds", "time-ordered folds", "dropped id-like"))]
    if ds.kind == "binary" and metric in ("average_precision", "f1"):
        positive = class_labels(ds.y, ds.kind)[-1]
        notes.append(f"{metric}: class {positive!r} is the positive one (the second of the target's classes; "
                     "recode the target to score the other)")
    check_data(ds, cv, notes)
    return ds, metric, notes


def check_metric(kind: str, metric: str | None) -> str:
    """The metric to tune for ``kind`` (None: its primary one); ConfigError where it does not apply."""
    if metric is None:
        return PRIMARY[kind]
    if metric not in TUNE_METRICS[kind]:
        raise ConfigError(f"metric {metric!r} does not apply to {kind} tasks (choose one of "
                          f"{', '.join(TUNE_METRICS[kind])})")
    return metric


def check_data(ds: Any, cv: Any, notes: list[str] | None = None) -> None:
    """Refuse, before any fit, data on which no trial could be evaluated as asked (ConfigError/DataError).

    Called by :func:`tune`, and by ``metaopt tune`` before it prints anything.

    ``cv`` above the rows (the splitter would silently run leave-one-out, minutes per trial) or, for
    classification, above the rows of the largest class (scikit-learn's ``StratifiedKFold`` refuses
    that too; the test folds would hold one or two rows).  A class smaller than ``cv`` is valid: the
    folds are still stratified and that class is missing from some test folds (a note says so).
    """
    cv = check_cv(cv)
    notes = [] if notes is None else notes
    n = ds.n_rows
    if cv == "auto":  # 5 folds, fewer only on a handful of rows (the plan's splits)
        cv = auto_splits(n, largest_class(ds), most_folds(ds))
    if cv > n:
        raise ConfigError(f"cv={cv} folds but the data have {n} rows with a target; every test fold needs "
                          f"rows: use cv <= {n} (5 or 10 is usual)")
    if ds.time_order is not None:
        _check_times(ds.time_order, cv)
    if ds.groups is not None:
        groups = n_groups(ds) or 0
        if groups < 2:
            raise ConfigError(f"groups {ds.groups.name!r} has a single group, and a group is never split between "
                              f"training and test folds: grouped CV needs at least 2 groups")
        if groups < cv:
            raise ConfigError(f"cv={cv} folds but groups {ds.groups.name!r} has only {groups} group(s), and a "
                              f"group is never split between folds: use cv <= {groups} (or cv='auto')")
    if ds.kind != "regression":
        counts = ds.y.value_counts()
        counts = counts[counts > 0]
        largest = int(counts.max())
        if largest < 2:  # no cv can help: e.g. an identifier passed as the target
            raise TargetError(f"every class of target {ds.target!r} has a single row ({len(counts)} classes in {n} "
                              f"rows), so no model can be cross-validated on it; an identifier is no label: choose "
                              f"another target (or kind='regression' for a numeric one)")
        if cv > largest:
            raise ConfigError(f"cv={cv} folds but even the largest class ({counts.idxmax()!r}) has only "
                              f"{largest} rows, so stratified folds are impossible; use cv <= {largest} "
                              f"(5 or 10 is usual)")
        small = counts[counts < cv]
        if len(small):
            shown = ", ".join(f"{k!r} ({int(v)} rows)" for k, v in small.head(5).items())
            notes.append(f"class(es) with fewer rows than cv={cv} folds: {shown}; some test folds lack them")
    check_feature_magnitude(ds.X)


def _check_times(order: Any, cv: int) -> None:
    """Time-ordered folds: one per distinct time after the first at most (a time's rows are never split)."""
    times = int(order.nunique())
    if times < 3:
        raise ConfigError(f"time column {order.name!r} holds {times} distinct times; time-ordered folds need at "
                          f"least 3 (two folds, each tested on later times than it is fitted on)")
    if cv > times - 1:
        raise ConfigError(f"cv={cv} folds but time column {order.name!r} holds only {times} distinct times, and the "
                          f"rows of one time are never split between training and test: use cv <= {times - 1} "
                          f"(or cv='auto')")


def most_folds(ds: Any) -> int | None:
    """The folds the rows' keys allow at most: one per group, or one per distinct time after the first (rows of
    one time stay together); None: independent rows."""
    if getattr(ds, "time_order", None) is not None:
        return int(ds.time_order.nunique()) - 1
    return n_groups(ds)


def n_groups(ds: Any) -> int | None:
    """Distinct groups of grouped data (None: rows are independent)."""
    return None if getattr(ds, "groups", None) is None else int(ds.groups.nunique())


def largest_class(ds: Any) -> int | None:
    """Rows of the largest class (None for regression)."""
    if ds.kind == "regression":
        return None
    counts = ds.y.value_counts()
    return int(counts.max()) if len(counts) else 0
