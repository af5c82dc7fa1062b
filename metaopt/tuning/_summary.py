"""The summary of a tuning run: best configuration, the library default, trial counts."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from metaopt.tuning._ensemble import blend_shortfall


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "NaN"
        return f"{v:.6g}"
    return str(v)


@dataclass
class TuneSummary:
    """What a :func:`metaopt.tuning.tune` run found.

    Scores are mean cross-validation scores of ``metric`` on the same folds for
    every trial and for the library default.  ``beaten_after`` is the number of
    trials (counted in trial order, pruned and failed ones included) after which
    a trial first scored strictly better than the library default; ``None`` when
    no trial beat it.  ``best_is_default`` is true when the library default
    scored better than every completed trial: the final model then uses the
    default configuration.  Counts cover every trial of the study (a resumed
    study included); ``n_trials_run`` counts the trials of this call only.

    ``cv`` is the number of folds each trial is scored on (1: a holdout) and ``evaluation`` the plan in
    words (e.g. ``3 of 5 folds``; ``docs/tuning.md``).  ``time`` is where the call's time went: seconds
    per step (``load``, ``recommend`` (meta-features and recommendations), ``study``, ``default``,
    ``warm_start``, ``search``, ``refit``), their ``total`` and the ``budget`` (``timeout``; None
    without one).  ``n_stopped`` trials reached the search's deadline and were stopped (PRUNED).
    """

    dataset: str
    kind: str
    target: str
    n_rows: int
    n_features: int
    learner: str
    metric: str
    direction: str
    cv: int
    best_score: float | None
    best_params: dict[str, Any]
    best_trial: int | None
    best_is_default: bool
    default_score: float | None
    default_params: dict[str, Any]
    default_error: str | None
    beaten_after: int | None
    n_trials: int
    n_trials_run: int
    n_complete: int
    n_pruned: int
    n_failed: int
    n_warm_started: int
    best_warm_start_score: float | None
    warm_start: str
    sampler: str
    pruner: str
    study_name: str
    storage: str | None
    search_time_s: float
    default_time_s: float
    refit_time_s: float
    random_state: int
    #: seed of the folds and fits: the study's (a worker resuming with another seed keeps it for its sampler)
    fold_seed: int | None = None
    #: trials whose worker was stopped (Ctrl-C) or died; re-queued copies of them; trials still RUNNING
    n_interrupted: int = 0
    n_retried: int = 0
    n_running: int = 0
    n_stopped: int = 0
    #: Ctrl-C ended the search; the model was built from the trials finished until then
    stopped_by_user: bool = False
    evaluation: str = ""
    time: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: the final model's ensemble: members (trial or "default", learner, weight, CV score), its out-of-fold
    #: score next to the best single configuration's, candidates; None with ``ensemble=False``
    ensemble: dict[str, Any] | None = None
    #: ``ensemble=False``: the lower-confidence-bound choice and its expected optimism (``selection_gap``)
    selection: dict[str, Any] | None = None
    #: ``learner="auto"`` over several learners: each one's study, trials and best CV score (``learner`` is
    #: then the best configuration's); None for one learner
    learners: list[dict[str, Any]] | None = None

    @property
    def improvement(self) -> float | None:
        """Best score minus default score, signed so that positive means better."""
        if self.best_score is None or self.default_score is None:
            return None
        diff = self.best_score - self.default_score
        return diff if self.direction == "maximize" else -diff

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (NaN becomes ``None``)."""
        out = asdict(self)
        out["improvement"] = self.improvement
        return _clean(out)

    def __str__(self) -> str:
        return format_summary(self)


def _clean(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if hasattr(obj, "item") and not isinstance(obj, (str, bytes)):  # numpy scalar
        try:
            return _clean(obj.item())
        except (TypeError, ValueError):
            return str(obj)
    return obj


def format_time(s: TuneSummary) -> str:
    """``time: 29.4 s of 30 s (load 0.2, recommend 1.1, default 1.9, search 24.8, refit 1.4)``."""
    t = s.time or {}
    if not t:
        return (f"time: default {s.default_time_s:.1f} s, search {s.search_time_s:.1f} s, "
                f"refit {s.refit_time_s:.1f} s")
    steps = ", ".join(f"{k.replace('_', ' ')} {v:.1f}" for k, v in t.items()
                      if k not in ("total", "budget") and v is not None and v >= 0.05)
    budget = f" of {t['budget']:g} s" if t.get("budget") is not None else ""
    return f"time: {t.get('total', 0.0):.1f} s{budget} ({steps})"


def _partial(e: dict) -> str:
    """Where the model holds only some of the selected members: what the whole selection scored."""
    return f"all {e['n_selected']} selected: {_fmt(e['selected_cv_score'])}; " if "selected_cv_score" in e else ""


def _averaged(e: dict) -> str:
    """Under repeated CV a row's stored prediction averages its repeats' fits: a bag, which can score better than
    the trials' mean over single fits (the best trial's CV above)."""
    return f" (averaged over {e['repeats']} repeats)" if e.get("repeats", 1) > 1 else ""


def format_final(s: TuneSummary) -> list[str]:
    """The ensemble's members and scores, or the single configuration's choice."""
    e, c = s.ensemble, s.selection
    if e and e.get("members") and e.get("n_members", 0) > 1:
        mix = e.get("candidate_learners") or {}
        of = f" ({', '.join(f'{lr} {n}' for lr, n in mix.items())})" if len(mix) > 1 else ""
        lines = [f"ensemble: {e['n_members']} members of {e['n_candidates']} candidates{of}, CV {s.metric} "
                 f"{_fmt(e['cv_score'])} on the out-of-fold predictions{_averaged(e)}, where the best single "
                 f"configuration scores "
                 f"{_fmt(e['best_single_score'])} ({_partial(e)}"
                 f"{e['size']} rounds, members "
                 f"{'refitted on all rows' + _seeds(e) if e.get('fit') == 'refit' else 'kept as fold models'})"]
        lines += _kept_though_worse(e)
        for m in e["members"]:
            trial = str(m["trial"]).rsplit(":", 1)[-1]  # another learner's study: "learner:number"
            lines.append(f"  weight {m['weight']:.2f}  {m['learner']} "
                         f"{'library default' if m['trial'] == 'default' else 'trial ' + trial}"
                         f"  (CV {_fmt(m['cv_score'])})")
        return lines
    if e:
        bag = f", averaged over {e['seeds']} fits with different seeds" if e.get("seeds") else ""
        return [f"ensemble: none ({e.get('why_not', 'one member')}); the model is the best single configuration{bag}"]
    if c:
        chosen = "library default" if c["chosen"] == "default" else f"trial {c['chosen']}"
        best = "library default" if c["best_by_cv"] == "default" else f"trial {c['best_by_cv']}"
        gap = "" if c.get("selection_gap") is None else (
            f"; expected {_fmt(c['expected_score'])} (CV optimism {_fmt(c['selection_gap'])})")
        worse = "-" if s.direction == "maximize" else "+"  # one standard error towards the worse side
        return [f"single model: {chosen}, the best CV mean {'minus' if worse == '-' else 'plus'} one standard error "
                f"of its folds ({_fmt(c['cv_score'])} {worse} {_fmt(c['standard_error'])}; best mean: {best}){gap}"]
    return []


def _kept_though_worse(e: dict[str, Any]) -> list[str]:
    """Why a blend whose CV is a little worse than the best single configuration's is the model (``keeps_blend``)."""
    short = blend_shortfall(e)
    if short <= 0:
        return []
    return [f"  the blend is kept though its CV is {100 * short:.1f}% worse: the best single "
            f"score is the best of {e['n_candidates']} candidates' and partly the folds' luck (docs/tuning.md, "
            f"\"Final model\")"]


def _seeds(e: dict[str, Any]) -> str:
    """", 3 seeds each" (or "1-3 seeds each" where the budget cut some members' seeds short)."""
    fits = sorted({m.get("fits", 1) for m in e["members"]})
    if fits == [1]:
        return ""
    return f", {fits[0]}{'' if len(fits) == 1 else '-' + str(fits[-1])} seeds each"


def format_summary(s: TuneSummary) -> str:
    """The readable multi-line summary printed by ``metaopt tune``."""
    lines = [
        f"{s.dataset}: {s.n_rows} rows x {s.n_features} features, target {s.target!r} ({s.kind})",
        f"learner {s.learner}, metric {s.metric} ({s.direction}), {s.evaluation or f'{s.cv}-fold CV'}, "
        f"sampler {s.sampler}, "
        f"warm start: {s.warm_start}",
        f"trials: {s.n_trials} ({s.n_complete} complete, {s.n_pruned} pruned, {s.n_failed} failed; "
        f"{s.n_warm_started} warm-started; {s.n_trials_run} run now"
        + (f"; {s.n_stopped} stopped at the time budget)" if s.n_stopped else ")"),
    ]
    if s.learners:
        lines[1] = lines[1].replace(f"learner {s.learner}", "learners " + ", ".join(
            f"{e['learner']} ({e['n_trials']} trials, best {_fmt(e['best_score'])})" for e in s.learners), 1)
    if s.fold_seed is not None and s.fold_seed != s.random_state:
        lines[1] += f"; folds of the study's seed {s.fold_seed}, sampler seed {s.random_state}"
    if s.n_interrupted or s.n_running:
        lines.append(f"interrupted: {s.n_interrupted} trial(s) of stopped or killed workers ({s.n_retried} "
                     f"configuration(s) re-queued once); {s.n_running} trial(s) still running (other workers, "
                     f"or killed ones not yet past the heartbeat's grace period)")
    where = "library default" if s.best_is_default else (
        f"trial {s.best_trial}" if s.best_trial is not None else "-")
    w = max(len(f"best CV {s.metric}:"), len("library default:"), len("best warm start:")) + 1
    lines.append(f"{'best CV ' + s.metric + ':':<{w}} {_fmt(s.best_score)}  ({where})")
    if s.default_error:
        lines.append(f"{'library default:':<{w}} failed ({s.default_error})")
    else:
        if s.beaten_after is not None:
            beat = f"beaten after {s.beaten_after} trial{'s' if s.beaten_after != 1 else ''}"
        else:
            beat = "not beaten"
        lines.append(f"{'library default:':<{w}} {_fmt(s.default_score)}  ({beat})")
    if s.best_warm_start_score is not None:
        lines.append(f"{'best warm start:':<{w}} {_fmt(s.best_warm_start_score)}")
    ensembled = bool(s.ensemble and s.ensemble.get("n_members", 0) > 1)
    lines.append("best configuration: (the best single one; the model is the ensemble below)" if ensembled
                 else "best configuration:")
    width = max((len(k) for k in s.best_params), default=0)
    for k, v in s.best_params.items():
        lines.append(f"  {k:<{width}}  {_fmt(v)}")
    lines.extend(format_final(s))
    lines.append(format_time(s))
    if s.errors:
        lines.append(f"errors ({len(s.errors)} distinct): " + " | ".join(s.errors[:3]))
    for note in s.notes:
        lines.append(f"note: {note}")
    return "\n".join(lines)
