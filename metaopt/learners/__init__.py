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
    training_rows,
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
        raise ConfigError(f"unknown learner {name!r} (known: {', '.join(_REGISTRY)})") from None


def list_learners(*, include_unoffered: bool = False) -> list[str]:
    """Names of the learners ``recommend``/``tune`` offer, primary first.

    ``include_unoffered=True`` adds registered learners the shipped knowledge base has
    no results of yet (:attr:`Learner.offered` is False: ``extra_trees``).
    """
    return [n for n, lr in _REGISTRY.items() if include_unoffered or lr.offered]


def check_offered(name: str) -> Learner:
    """The learner ``name`` if ``recommend``/``tune`` offer it, else a :class:`ConfigError` saying why."""
    learner = get_learner(name)
    if not learner.offered:
        raise ConfigError(
            f"learner {learner.name!r} is not offered yet: the knowledge base has no {learner.name} results "
            f"(choose auto, {', '.join(list_learners())}; see docs/learners.md)")
    return learner


for _learner in (LightGBMLearner(), RandomForestLearner(), ExtraTreesLearner()):
    register_learner(_learner)

__all__ = [
    "KINDS", "Learner", "FittedModel", "NativePreprocessor", "EncodingPreprocessor", "holdout_fraction",
    "get_learner", "list_learners", "check_offered", "register_learner", "LightGBMLearner", "RandomForestLearner",
    "ExtraTreesLearner", "MAX_ROUNDS", "ES_PATIENCE", "training_rows",
]
