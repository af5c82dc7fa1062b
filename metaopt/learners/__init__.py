"""Learners: search spaces, defaults, preprocessing and fitting of each model family.

One registry; everything else in metaopt looks learners up here::

    from metaopt.learners import get_learner
    lgbm = get_learner("lightgbm")
    space = lgbm.search_space("binary")          # Optuna distributions
    model = lgbm.fit(ds.X, ds.y, {"learning_rate": 0.05}, ds.kind)
    model.predict_proba(ds.X)

See ``docs/learners.md`` for the spaces, defaults and the boosting-rounds decision, and
for adding a learner (a :class:`Learner` subclass plus one :func:`register_learner` call).
"""

from __future__ import annotations

from typing import Any

from metaopt.exceptions import ConfigError
from metaopt.learners._base import (
    KINDS,
    MIN_LEAVES,
    FittedModel,
    Learner,
    Param,
    holdout_fraction,
    training_rows,
)
from metaopt.learners._lightgbm import ES_PATIENCE, MAX_ROUNDS, LightGBMLearner
from metaopt.learners._linear import LinearLearner
from metaopt.learners._preprocess import EncodingPreprocessor, NativePreprocessor
from metaopt.learners._sklearn import ExtraTreesLearner, RandomForestLearner
from metaopt.learners._target import poisson_suits

_REGISTRY: dict[str, Learner] = {}


def register_learner(learner: Learner, *, replace: bool = False) -> Learner:
    """Add a learner instance to the registry (by its ``name``); pool, recommend and tune then find it.

    ``replace=True`` swaps a registered learner of the same name; a configuration-id
    prefix another learner uses is refused (the pool's ids would collide).
    """
    if not isinstance(learner, Learner):
        raise ConfigError(f"register_learner needs a Learner instance, got {type(learner).__name__}")
    if not learner.name or not learner.id_prefix:
        raise ConfigError("a learner needs a name and an id_prefix")
    if learner.name in _REGISTRY and not replace:
        raise ConfigError(f"learner {learner.name!r} is already registered")
    clash = [n for n, lr in _REGISTRY.items() if lr.id_prefix == learner.id_prefix and n != learner.name]
    if clash:
        raise ConfigError(f"id_prefix {learner.id_prefix!r} of {learner.name!r} is already used by {clash[0]!r}")
    _REGISTRY[learner.name] = learner
    return learner


def unregister_learner(name: str) -> Learner:
    """Remove the learner called ``name`` from the registry and return it (undoes :func:`register_learner`)."""
    try:
        return _REGISTRY.pop(name)
    except (KeyError, TypeError):
        raise ConfigError(f"unknown learner {name!r} (known: {', '.join(_REGISTRY)})") from None


def get_learner(name: str | Learner) -> Learner:
    """The registered learner called ``name`` (a :class:`Learner` passes through)."""
    if isinstance(name, Learner):
        return name
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise ConfigError(f"unknown learner {name!r} (known: {', '.join(_REGISTRY)})") from None


def list_learners(*, include_unoffered: bool = False) -> list[str]:
    """Names of the learners ``recommend``/``tune`` offer, primary first.

    ``include_unoffered=True`` adds registered learners the shipped knowledge base has
    no results of yet (:attr:`Learner.offered` is False; none of the built-in ones today).
    """
    return [n for n, lr in _REGISTRY.items() if include_unoffered or lr.offered]


def check_offered(name: str, kb: Any = None) -> Learner:
    """The learner ``name`` if ``recommend``/``tune`` offer it, else a :class:`ConfigError` saying why.

    With a knowledge base of one's own (``kb``), every registered learner passes: that KB may hold
    its results (the recommender says so when it does not).
    """
    learner = get_learner(name)
    if not learner.offered and kb is None:
        raise ConfigError(
            f"learner {learner.name!r} is not offered yet: the knowledge base has no {learner.name} results "
            f"(choose auto, {', '.join(list_learners())}; see docs/learners.md)")
    return learner


for _learner in (LightGBMLearner(), RandomForestLearner(), ExtraTreesLearner(), LinearLearner()):
    register_learner(_learner)

__all__ = [
    "KINDS", "Learner", "Param", "FittedModel", "NativePreprocessor", "EncodingPreprocessor", "holdout_fraction",
    "get_learner", "list_learners", "check_offered", "register_learner", "unregister_learner", "LightGBMLearner",
    "RandomForestLearner", "ExtraTreesLearner", "LinearLearner", "MAX_ROUNDS", "ES_PATIENCE", "MIN_LEAVES",
    "training_rows", "poisson_suits",
]
