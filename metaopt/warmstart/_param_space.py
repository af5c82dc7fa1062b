"""Matching a user's search space (parameter names, distributions) to a learner's.

metaopt's recommendations are written in the learner's own parameter names
(``learning_rate``, ``num_leaves``, ... - the estimator's constructor names, see
:meth:`metaopt.learners.Learner.search_space`).  A user's Optuna objective may
call its parameters differently.  :func:`resolve_param_names` builds the
mapping ``{ours: theirs}``:

* an explicit ``param_names={ours: theirs}`` is checked (ours must be a
  parameter of the learner, theirs unique strings) and used as given;
* otherwise names are matched automatically against the user's names (the
  study's distributions, when known): identical names, the same name behind a
  pipeline prefix (``model__num_leaves``, ``lgbm.num_leaves``,
  ``lgbm_num_leaves``) or one of the learner's aliases (``Learner.aliases``;
  LightGBM: ``feature_fraction`` -> ``colsample_bytree``, ``lambda_l1`` ->
  ``reg_alpha``, ...);
* when the user's names are known and none of them matches,
  :class:`ParamNameMismatchError` says so and lists both sets of names.

:func:`fit_to_space` then moves a configuration into the user's distributions:
numbers are clipped into ``[low, high]`` (and rounded to ``step`` / integers),
a categorical value that is not a choice is replaced by the nearest numeric
choice or dropped (the sampler then picks it), and every change is reported.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from metaopt.exceptions import ConfigError

__all__ = ["ParamNameMismatchError", "resolve_param_names", "translate", "fit_to_space",
           "clip_value", "learner_space"]

_PREFIX_SEPARATORS = ("__", ".", "/", ":", "_")


class ParamNameMismatchError(ConfigError):
    """The user's parameter names do not match the learner's (pass ``param_names={ours: theirs}``)."""


def learner_space(learner: Any, kind: str | None = None) -> dict[str, BaseDistribution]:
    """The learner's search space (Optuna distributions in its own names)."""
    from metaopt.learners import get_learner

    return dict(get_learner(learner).search_space(kind))


def _known_names(learner: Any, kind: str | None) -> set[str]:
    from metaopt.learners import get_learner

    lr = get_learner(learner)
    return set(lr.search_space(kind)) | set(lr.param_specs())


def _match_one(ours: str, theirs: list[str], aliases: Mapping[str, str]) -> str | None:
    if ours in theirs:
        return ours
    hits = [t for t in theirs if any(t.endswith(sep + ours) for sep in _PREFIX_SEPARATORS)]
    if len(hits) == 1:
        return hits[0]
    alias_hits = []
    for t in theirs:
        base = t
        for sep in _PREFIX_SEPARATORS[:-1]:
            base = base.rsplit(sep, 1)[-1]
        if aliases.get(base) == ours or aliases.get(t) == ours:
            alias_hits.append(t)
    if len(alias_hits) == 1:
        return alias_hits[0]
    return None


def resolve_param_names(learner: Any = "lightgbm", param_names: Mapping[str, str] | None = None,
                        their_names: Any = None, kind: str | None = None) -> dict[str, str]:
    """The mapping ``{learner's name: user's name}``.

    ``their_names``: the user's parameter names (an iterable or a dict of
    distributions), or None when unknown (a fresh study: then every learner
    name maps to itself).  Raises :class:`ParamNameMismatchError` when the
    user's names are known and none matches, or when ``param_names`` is
    malformed.
    """
    from metaopt.learners import get_learner

    lr = get_learner(learner)
    known = _known_names(lr, kind)
    space = list(lr.search_space(kind))
    theirs = None if their_names is None else [str(n) for n in their_names]
    if param_names is not None:
        if not isinstance(param_names, Mapping):
            raise ParamNameMismatchError("param_names must be a mapping {learner's name: your name}, "
                                         f"got {type(param_names).__name__}")
        bad = [o for o in param_names if o not in known]
        if bad:
            raise ParamNameMismatchError(
                f"param_names maps names that are not parameters of learner {lr.name!r}: {bad} "
                f"(its search space: {space})")
        vals = list(param_names.values())
        if any(not isinstance(v, str) or not v for v in vals):
            raise ParamNameMismatchError("param_names values must be non-empty strings (your parameter names)")
        if len(set(vals)) != len(vals):
            raise ParamNameMismatchError(f"param_names maps two parameters to one name: {vals}")
        if theirs is not None:
            missing = [v for v in vals if v not in theirs]
            if missing and len(missing) == len(vals):
                raise ParamNameMismatchError(
                    f"none of the names in param_names {vals} is a parameter of the study "
                    f"(the study's parameters: {sorted(theirs)})")
        return {str(o): str(t) for o, t in param_names.items()}
    if theirs is None:
        return {n: n for n in space}
    aliases = lr.aliases
    out: dict[str, str] = {}
    for ours in space:
        hit = _match_one(ours, theirs, aliases)
        if hit is not None and hit not in out.values():
            out[ours] = hit
    if not out:
        raise ParamNameMismatchError(
            f"none of the study's parameters {sorted(theirs)} matches a parameter of learner "
            f"{lr.name!r} ({space}); pass param_names={{learner's name: your name}}, e.g. "
            f"param_names={{{space[0]!r}: {sorted(theirs)[0]!r}}}")
    return out


def translate(params: Mapping[str, Any], mapping: Mapping[str, str]) -> dict[str, Any]:
    """``params`` (learner's names) renamed to the user's names; unmapped names are dropped."""
    return {mapping[n]: v for n, v in params.items() if n in mapping}


def clip_value(value: Any, dist: BaseDistribution) -> tuple[Any, bool]:
    """``value`` moved into ``dist``: (new value or ``_DROP``, changed?)."""
    if isinstance(dist, CategoricalDistribution):
        choices = list(dist.choices)
        if any(value == c and type(value) is type(c) for c in choices) or (
                not isinstance(value, bool) and value in choices):
            for c in choices:
                if value == c:
                    return c, False
        nums = [c for c in choices if isinstance(c, (int, float)) and not isinstance(c, bool)]
        if nums and isinstance(value, (int, float)) and not isinstance(value, bool):
            return min(nums, key=lambda c: abs(float(c) - float(value))), True
        return _DROP, True
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(float(value)):
        return _DROP, True
    if isinstance(dist, IntDistribution):
        v = int(round(float(value)))
        v = min(max(v, dist.low), dist.high)
        if dist.step and dist.step != 1:
            v = dist.low + int(round((v - dist.low) / dist.step)) * dist.step
            v = min(v, dist.high - (dist.high - dist.low) % dist.step)
        return v, v != value
    if isinstance(dist, FloatDistribution):
        v = min(max(float(value), dist.low), dist.high)
        if dist.step is not None:
            n = round((v - dist.low) / dist.step)
            v = min(dist.low + n * dist.step, dist.high)
        return v, not math.isclose(v, float(value), rel_tol=1e-12, abs_tol=0.0)
    return value, False


class _Drop:
    def __repr__(self) -> str:
        return "<dropped>"


_DROP = _Drop()


def fit_to_space(params: Mapping[str, Any], space: Mapping[str, BaseDistribution],
                 on_out_of_range: str = "clip", keep_unknown: bool = True) -> tuple[dict[str, Any], list[str]]:
    """``params`` (user's names) moved into ``space``: (params, notes on what changed).

    ``on_out_of_range``: ``"clip"`` (clip and report in the notes) or
    ``"raise"`` (:class:`~metaopt.exceptions.ConfigError`).  Names without a
    distribution in ``space`` are kept when ``keep_unknown``, else dropped.
    """
    if on_out_of_range not in ("clip", "raise"):
        raise ConfigError(f"on_out_of_range must be 'clip' or 'raise', got {on_out_of_range!r}")
    out: dict[str, Any] = {}
    notes: list[str] = []
    for name, value in params.items():
        dist = space.get(name)
        if dist is None:
            if keep_unknown:
                out[name] = value
            continue
        new, changed = clip_value(value, dist)
        if changed:
            if on_out_of_range == "raise":
                raise ConfigError(f"recommended {name}={value!r} lies outside the study's distribution {dist}")
            notes.append(f"{name}={value!r} -> {new!r} (outside {dist})")
        if new is not _DROP:
            out[name] = new
    return out, notes
