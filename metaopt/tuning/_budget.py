"""``tune``'s time budget: one deadline from the call's start that every step asks for its share.

``timeout`` is a contract for the whole call (loading, meta-features, recommendations, study,
library default, warm start, search, final refit), so the clock starts with the call and each
step is timed in turn.  The search ends early enough to leave the final refit its estimated
time (``reserve``: the best configuration's measured fold fit time scaled to all rows), every fit
is limited to the time its step has left, and the refit gets the rest.  ``docs/tuning.md``
("Budget") describes the shares.
"""

from __future__ import annotations

import time

#: the steps of a run, in order; the summary's time breakdown has one entry per step
PHASES = ("load", "recommend", "study", "default", "warm_start", "search", "refit")
#: scoring the library default may use at most this share of the time left when it starts
DEFAULT_SHARE = 0.25
#: a one-off meta-model fit (a KB or metaopt version not yet in the cache) may use at most this share of the
#: search's time left, else the quick meta-model ranks (``metaopt.recommender.fit_allowance``)
META_FIT_SHARE = 0.5
#: the refit's reserve: the measured fold fit time, scaled to all rows, times this margin
REFIT_MARGIN = 1.3
#: ... plus this (preprocessing of all rows, the model's metadata)
REFIT_OVERHEAD_S = 0.2
#: a fit that must happen (the final refit) gets at least this share of the budget, even when late
MIN_FIT_SHARE = 0.02
#: kept free at the end: a fit stops at the first boosting round or tree chunk past its limit, and
#: a loaded machine stretches that (measured: up to 1-3 s past a 30 s deadline without it)
SLACK_SHARE = 0.03


def projected_refit_s(fit_s: float, train_rows: int, n_rows: int) -> float:
    """Seconds a refit on ``n_rows`` rows is expected to take, from one fit of ``fit_s`` seconds on
    ``train_rows`` rows (fit time grows about linearly with the rows), with the margin."""
    return REFIT_MARGIN * float(fit_s) * n_rows / max(1, train_rows)


class TimeBudget:
    """The call's deadline (``None`` without a ``timeout``) and where the time went, step by step.

    ``lap(step)`` books the time since the previous lap to ``step``, so the steps add up to the
    time spent.  The times come from ``time.monotonic()``, which is one clock for every process on
    the machine: a deadline can be handed to worker processes as it is.
    """

    def __init__(self, timeout: float | None, start: float | None = None):
        self.start = time.monotonic() if start is None else float(start)
        self.timeout = None if timeout is None else float(timeout)
        self.deadline = None if timeout is None else self.start + self.timeout
        self.reserve_s = 0.0  #: seconds kept for the final refit
        self.spent = dict.fromkeys(PHASES, 0.0)
        self._last = self.start

    def lap(self, step: str) -> float:
        """Book the time since the previous lap to ``step``; returns it."""
        now = time.monotonic()
        took = now - self._last
        self.spent[step] = self.spent.get(step, 0.0) + took
        self._last = now
        return took

    def left(self) -> float | None:
        """Seconds to the deadline (negative when past it); None without a time budget."""
        return None if self.deadline is None else self.deadline - time.monotonic()

    def share_deadline(self, share: float, until: float | None = None) -> float | None:
        """The deadline of a step that may use ``share`` of the time left before ``until`` (default:
        the search deadline)."""
        end = self.search_deadline() if until is None else until
        if end is None:
            return None
        now = time.monotonic()
        return now + max(0.0, share * (end - now))

    def slack(self) -> float:
        return SLACK_SHARE * (self.timeout or 0.0)

    def search_deadline(self) -> float | None:
        """When the search must end: the deadline less the refit's reserve and the slack."""
        return None if self.deadline is None else self.deadline - self.reserve_s - self.slack()

    def search_left(self) -> float | None:
        end = self.search_deadline()
        return None if end is None else end - time.monotonic()

    def fit_allowance(self) -> float | None:
        """Seconds a one-off meta-model fit may take now (:data:`META_FIT_SHARE`); None without a budget."""
        left = self.search_left()
        return None if left is None else META_FIT_SHARE * max(0.0, left)

    def keep_for_refit(self, fit_s: float | None, train_rows: int | None, n_rows: int) -> float:
        """Set the refit's reserve from one fold's fit time on ``train_rows`` rows (fit time grows about
        linearly with the rows); returns it."""
        if fit_s is not None and train_rows:
            self.reserve_s = projected_refit_s(fit_s, train_rows, n_rows) + REFIT_OVERHEAD_S
        return self.reserve_s

    def keep_for_members(self, fits: list[tuple[float | None, int | None]], n_rows: int) -> float:
        """The reserve of an ensemble's refit: the sum over its likely members' ``(fold fit s, rows)``."""
        total = sum(projected_refit_s(f, rows, n_rows) for f, rows in fits if f is not None and rows)
        if total > 0:
            self.reserve_s = max(self.reserve_s, total + REFIT_OVERHEAD_S)
        return self.reserve_s

    def refit_limit(self) -> float | None:
        """Seconds the final refit may take: the time left less the slack, but never less than a small
        share of the budget (a model must be returned even when the steps before overran)."""
        left = self.left()
        if left is None:
            return None
        return max(left - self.slack(), MIN_FIT_SHARE * (self.timeout or 0.0), 0.05)

    def breakdown(self) -> dict[str, float | None]:
        """Seconds per step, the total so far and the budget (None without one)."""
        out: dict[str, float | None] = {k: round(v, 3) for k, v in self.spent.items()}
        out["total"] = round(time.monotonic() - self.start, 3)
        out["budget"] = self.timeout
        return out


def fit_limit(deadline: float | None) -> float | None:
    """Seconds a fit starting now may take before ``deadline`` (None: no limit)."""
    return None if deadline is None else deadline - time.monotonic()
