"""How faithfully a trial is evaluated: how many folds, and on how many rows, chosen from the data and budget.

``cv="auto"`` scores trials on the first ``m`` folds of one 5-fold split: all five on small data,
three as the data grow, one (a 20% holdout) on large data or when the budget would otherwise allow
fewer than :data:`MIN_TRIALS` trials; on tables of a few hundred rows, where trials are cheap and one
split's folds are noisy, the 5-fold split is repeated with other shuffles.  Every plan is a prefix of
the same folds, so the library default's first fold, scored before the budget decides, is never
wasted.  On large data a trial is first fitted on row subsamples of the training part (:data:`RUNGS`,
successive halving with Optuna's ``SuccessiveHalvingPruner``).  The thresholds and why: ``docs/tuning.md``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

#: the split every ``cv="auto"`` plan is a prefix of (each fold trains on 80% of the rows)
AUTO_SPLITS = 5
#: up to this many rows: all 5 folds (test folds of <= 2,000 rows are noisy; average them all)
ALL_FOLDS_MAX_ROWS = 10_000
#: up to this many rows: 3 of the 5 folds (>= 2,000 test rows per fold: three estimate the mean well)
FEW_FOLDS_MAX_ROWS = 50_000
#: folds of the middle plan
FEW_FOLDS = 3
#: above ``FEW_FOLDS_MAX_ROWS``: one 20% holdout (>= 10,000 test rows) and row-subsample rungs
LARGE_ROWS = FEW_FOLDS_MAX_ROWS
#: reduction factor of the rungs (eta of successive halving)
ETA = 3
#: the rungs of large data: shares of the training rows a trial is fitted on, in order
RUNGS = (1 / ETA**2, 1 / ETA, 1.0)
#: the rungs below the last are scored on at most this many of the holdout's rows: they only rank
#: configurations for the pruner, and predicting all of a large holdout can cost more than the fit
RUNG_TEST_ROWS = 20_000
#: with a time budget, fewer folds when the library default's fold time allows fewer trials than this
MIN_TRIALS = 10
#: ... but never fewer folds than score this many rows together (all folds when the table has fewer): on a
#: holdout of a few dozen rows, selection among many trials picks noise (``docs/tuning.md``, "Evaluation fidelity")
MIN_SCORED_ROWS = 500
#: below this many rows the 5-fold split is repeated (other shuffles) until the trials' test folds hold
#: about this many rows together: on a few hundred rows one split's folds are noisy, and selecting among
#: hundreds of cheap trials on them picks noise (``docs/tuning.md``, "Evaluation fidelity")
REPEAT_SCORED_ROWS = 1_000
#: ... with at most this many repeats
MAX_REPEATS = 3
#: ... kept only while the budget allows this many trials at the repeated cost (fewer repeats otherwise)
REPEAT_MIN_TRIALS = 50
#: large-data meta-features are computed on a stratified sample of this many rows (general group: all rows)
META_FEATURE_ROWS = 10_000
#: ``extract_meta_features``' default row budget, under which the knowledge base's tasks were described
KB_META_FEATURE_ROWS = 100_000


@dataclass(frozen=True)
class EvalPlan:
    """``n_folds`` of the ``n_splits``-fold split (1: a holdout), fitted at the ``rungs`` (shares of rows);
    ``repeats`` > 1: all folds of that many differently shuffled splits (the first is the plain split)."""

    n_splits: int
    n_folds: int
    rungs: tuple[float, ...] = (1.0,)
    why: str = ""
    repeats: int = 1

    @property
    def total_folds(self) -> int:
        """The fits a trial is scored on (folds times repeats)."""
        return self.n_folds * self.repeats

    @property
    def label(self) -> int | str:
        """The plan in the study's setup (an int for plain K-fold, as before ``cv="auto"``)."""
        if self.repeats > 1:
            return f"{self.n_splits} folds x{self.repeats}"
        if self.n_folds == self.n_splits and len(self.rungs) == 1:
            return self.n_splits
        base = "holdout" if self.n_folds == 1 else f"{self.n_folds} of {self.n_splits} folds"
        if self.n_folds == 1:
            base += f" 1/{self.n_splits}"
        if len(self.rungs) > 1:
            base += " rungs " + ",".join(_fraction(r) for r in self.rungs)
        return base

    def describe(self) -> str:
        """For the summary: e.g. ``5-fold CV``, ``3 of 5 folds``, ``holdout (20%), rungs 1/9,1/3,1``."""
        if self.n_folds == self.n_splits:
            text = f"{self.n_splits}-fold CV"
            if self.repeats > 1:
                text += f", {self.repeats} repeats"
        elif self.n_folds == 1:
            text = f"holdout ({100 // self.n_splits}%)"
        else:
            text = f"{self.n_folds} of {self.n_splits} folds"
        if len(self.rungs) > 1:
            text += ", rungs " + ",".join(_fraction(r) for r in self.rungs) + " of the training rows"
        return text

    def to_setup(self) -> dict[str, Any]:
        setup: dict[str, Any] = {"splits": self.n_splits, "folds": self.n_folds, "rungs": list(self.rungs)}
        if self.repeats > 1:  # studies of one split record what they did before repeats existed
            setup["repeats"] = self.repeats
        return setup

    @classmethod
    def from_setup(cls, setup: dict[str, Any]) -> EvalPlan:
        """The plan a study recorded (studies from before plans recorded ``cv`` only: K-fold)."""
        ev = setup.get("evaluation")
        if isinstance(ev, dict):
            return cls(int(ev["splits"]), int(ev["folds"]), tuple(float(r) for r in ev["rungs"]),
                       why="the study's plan", repeats=int(ev.get("repeats", 1)))
        return cls(int(setup["cv"]), int(setup["cv"]), why="the study's folds")


def _fraction(r: float) -> str:
    return "1" if r >= 1 else f"1/{round(1 / r)}"


def kfold_plan(cv: int) -> EvalPlan:
    return EvalPlan(cv, cv, why=f"cv={cv}")


def auto_splits(n_rows: int, largest_class: int | None, most_folds: int | None = None) -> int:
    """Splits of the ``auto`` plan: 5, fewer only when the rows (or the largest class, or ``most_folds``: the
    groups or distinct times, whose rows are never split between training and test) allow fewer."""
    return max(2, min(AUTO_SPLITS, n_rows, largest_class or n_rows, most_folds or n_rows))


def plan_by_rows(n_rows: int, n_splits: int = AUTO_SPLITS) -> EvalPlan:
    """The ``auto`` plan from the data size alone (thresholds: the module's constants)."""
    if n_rows <= ALL_FOLDS_MAX_ROWS or n_splits < AUTO_SPLITS:
        repeats = max(1, min(MAX_REPEATS, math.ceil(REPEAT_SCORED_ROWS / max(n_rows, 1) - 1e-9)))
        if repeats > 1:
            return EvalPlan(n_splits, n_splits, why=f"{n_rows} rows < {REPEAT_SCORED_ROWS}: the split repeated",
                            repeats=repeats)
        return EvalPlan(n_splits, n_splits, why=f"{n_rows} rows <= {ALL_FOLDS_MAX_ROWS}")
    if n_rows <= FEW_FOLDS_MAX_ROWS:
        return EvalPlan(n_splits, FEW_FOLDS, why=f"{n_rows} rows <= {FEW_FOLDS_MAX_ROWS}")
    return EvalPlan(n_splits, 1, RUNGS, why=f"{n_rows} rows > {LARGE_ROWS}")


def plan_by_budget(plan: EvalPlan, fold_s: float, search_s: float, timed_out: bool = False,
                   min_trials: int = MIN_TRIALS, n_rows: int | None = None,
                   repeat_trials: int = REPEAT_MIN_TRIALS) -> EvalPlan:
    """``plan`` with fewer repeats while ``fold_s`` (the library default's first fold: fit and score) times
    the folds would allow fewer than ``repeat_trials`` trials in ``search_s`` seconds; with fewer folds (3,
    then 1) when one split would allow fewer than ``min_trials``, but not fewer than score
    :data:`MIN_SCORED_ROWS` of the ``n_rows`` rows together (:func:`min_folds`).

    The default's other folds (``m - 1``) come out of the search's time too.  A default whose first
    fold its time share cut leaves one fold.
    """
    if timed_out:
        return replace(plan, n_folds=1, repeats=1, why="the library default's first fold did not finish in its "
                                                       "share of the time budget")
    fold_s = max(fold_s, 1e-6)
    if plan.repeats > 1:
        plan = _repeats_by_budget(plan, fold_s, search_s, repeat_trials)
        if plan.repeats > 1:  # then one split allows far more than ``min_trials``
            return plan
    choices = sorted({plan.n_folds, min(plan.n_folds, FEW_FOLDS), 1}, reverse=True)
    floor = min_folds(plan, n_rows)
    for m in choices:
        if (search_s - (m - 1) * fold_s) / (m * fold_s) >= min_trials or m == 1:
            break
    kept = max(m, min(c for c in choices if c >= floor))
    if kept == plan.n_folds:
        return plan
    allowed = max(0, int(search_s / (plan.n_folds * fold_s)))
    why = f"{plan.n_folds} folds of {fold_s:.2f} s each would allow about {allowed} trial(s) in the {search_s:.0f} s " \
          f"left (< {min_trials})"
    if kept > m:
        why += f"; not fewer than {kept}: their test rows together reach {min(MIN_SCORED_ROWS, n_rows or 0)}"
    return replace(plan, n_folds=kept, why=why)


def _repeats_by_budget(plan: EvalPlan, fold_s: float, search_s: float, want: int) -> EvalPlan:
    """The most repeats (at most the plan's) whose trials, ``plan.n_folds * r`` fits each, number ``want`` in
    ``search_s``; one split when even two repeats would not."""
    def trials(r: int) -> float:
        m = plan.n_folds * r
        return (search_s - (m - 1) * fold_s) / (m * fold_s)

    keep = next((r for r in range(plan.repeats, 1, -1) if trials(r) >= want), 1)
    if keep == plan.repeats:
        return plan
    why = f"{plan.repeats} repeats of {plan.n_folds} folds of {fold_s:.2f} s each would allow about " \
          f"{max(0, int(trials(plan.repeats)))} trial(s) in the {search_s:.0f} s left (< {want})"
    return replace(plan, repeats=keep, why=why)


def min_folds(plan: EvalPlan, n_rows: int | None) -> int:
    """The fewest of the plan's folds whose test parts hold :data:`MIN_SCORED_ROWS` rows together (all of
    them on a table smaller than that); 1 when ``n_rows`` is unknown."""
    if not n_rows:
        return 1
    fold_rows = n_rows / plan.n_splits
    return min(plan.n_folds, max(1, math.ceil(min(MIN_SCORED_ROWS, n_rows) / fold_rows - 1e-9)))


def rung_rows(train: np.ndarray, y: Any, kind: str, seed: int, rungs: tuple[float, ...]) -> list[np.ndarray]:
    """Nested, class-stratified row subsets of ``train`` (positions), one per rung.

    Written here because scikit-learn draws one stratified subsample at a time, not nested ones: each
    class's rows are shuffled and spread evenly over one order, so every prefix keeps the class shares.
    """
    rng = np.random.default_rng(seed)
    n = len(train)
    if kind == "regression":
        order = rng.permutation(n)
    else:
        codes = np.asarray(y.iloc[train].astype("category").cat.codes)
        key = np.empty(n)
        for c in np.unique(codes):
            pos = np.flatnonzero(codes == c)
            key[pos[rng.permutation(len(pos))]] = (np.arange(len(pos)) + rng.random()) / len(pos)
        order = np.argsort(key, kind="stable")
    return [np.sort(train[order[:max(2, math.ceil(r * n))]]) for r in rungs]


def rung_test_rows(test: np.ndarray, seed: int) -> np.ndarray:
    """The holdout rows (positions) of the lower rungs: a seeded random subset of at most
    :data:`RUNG_TEST_ROWS` rows of ``test``, the same for every configuration (so their scores compare)."""
    if len(test) <= RUNG_TEST_ROWS:
        return test
    pick = np.random.default_rng(seed).choice(len(test), RUNG_TEST_ROWS, replace=False)
    return np.sort(test[pick])


def query_meta_features(ds: Any, groups: tuple[str, ...], notes: list[str]) -> dict | None:
    """The recommender's meta-features of ``ds``, on at most :data:`META_FEATURE_ROWS` rows.

    ``extract_meta_features`` computes the general group (row and class counts, missing values) on all
    rows and the others on a stratified sample; its sample size is reset to what the knowledge base's
    tasks were described with, so that a large table does not look small.  None (noted) on failure.
    """
    from metaopt.features import extract_meta_features

    try:
        meta = dict(extract_meta_features(ds, groups=groups, max_rows=META_FEATURE_ROWS).values)
    except Exception as exc:  # noqa: BLE001 - recommend computes them itself then
        notes.append(f"meta-features failed ({type(exc).__name__}: {exc})")
        return None
    if ds.n_rows > META_FEATURE_ROWS:
        rows = min(ds.n_rows, KB_META_FEATURE_ROWS)
        meta.update({"mo_SampleRows": float(rows), "mo_SampleFraction": rows / ds.n_rows})
    return meta
