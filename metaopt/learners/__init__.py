"""Learners: search spaces, defaults, preprocessing and fitting of each model family.

One registry; everything else in metaopt looks learners up here::

    from metaopt.learners import get_learner
    lgbm = get_learner("lightgbm")
    space = lgbm.search_space("binary")          # Optuna distributions
    model = lgbm.fit(ds.X, ds.y, {"learning_rate": 0.05}, ds.kind)
    model.predict_proba(ds.X)

See ``docs/learners.md`` for the spaces, defaults and the boosting-rounds decision.
"""

from __future__ import annotations

from metaopt.exceptions import ConfigError
from metaopt.learners._base import (
    KINDS,
    EncodingPreprocessor,
    FittedModel,
    Learner,
    NativePreprocessor,
    holdout_fraction,
)
from metaopt.learners._lightgbm import ES_PATIENCE, MAX_ROUNDS, LightGBMLearner
from metaopt.learners._sklearn import ExtraTreesLearner, RandomForestLearner

_REGISTRY: dict[str, Learner] = {}


def register_learner(learner: Learner, *, replace: bool = False) -> Learner:
    """Add a learner instance to the registry (by its ``name``)."""
    if not learner.name:
        raise ConfigError("a learner needs a name")
    if learner.name in _REGISTRY and not replace:
        raise ConfigError(f"learner {learner.name!r} is already registered")
    _REGISTRY[learner.name] = learner
    return learner


def get_learner(name: str | Learner) -> Learner:
    """The registered learner called ``name`` (a :class:`Learner` passes through)."""
    if isinstance(name, Learner):
        return name
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise ConfigError(f"unknown learner {name!r} (known: {', '.join(list_learners())})") from None


def list_learners() -> list[str]:
    """Names of the registered learners, primary first."""
    return list(_REGISTRY)


for _learner in (LightGBMLearner(), RandomForestLearner(), ExtraTreesLearner()):
    register_learner(_learner)

__all__ = [
    "KINDS", "Learner", "FittedModel", "NativePreprocessor", "EncodingPreprocessor", "holdout_fraction",
    "get_learner", "list_learners", "register_learner", "LightGBMLearner", "RandomForestLearner",
    "ExtraTreesLearner", "MAX_ROUNDS", "ES_PATIENCE",
]
