"""Per-task normalisation of scores, and the learner's score matrix built from a KB.

Every metric is turned, per task and metric, into a normalised score in [0, 1]
where 1 is the best configuration evaluated on that task and 0 the worst
(direction-aware: for ``log_loss``/``rmse`` lower raw values map to higher
scores)::

    s_norm = (s - worst) / (best - worst)

Why min-max per task: it is the scale of the regret metric the literature and
our LODO benchmark report (HPO-B, TabRepo's ``loss_rescaled``), it is free of
units (RMSE in target units becomes comparable with ROC AUC), and it needs no
distributional assumption.  Its weakness is outliers: one diverging
configuration (a log loss of 30) squeezes all others towards 1.  The
alternatives, selectable with ``method``, are

* ``"rank"`` - the percentile rank of the configuration on the task (ties
  averaged; robust, but throws away how much better a configuration is);
* ``"clipped"`` - min-max against the 10% quantile instead of the worst value,
  clipped to [0, 1] (robust to a few diverging configurations).

``docs/metamodel.md`` gives the LODO comparison that chose the default.

Pools: configurations are only comparable on tasks that evaluated them, and
each history source evaluated its own set (TabRepo its 104 LightGBM configs,
our builder its pool of 71, openml-pimp one random configuration per run).
So the dense pools are found per (kind, source): ``pool["binary:tabrepo"]``,
``pool["regression:corpus"]``, ...; every task belongs to the pool of its
kind and source (``task_pool``), LODO holds tasks out within their pool, and a
new task is recommended from the first pool of :data:`PREFERRED_SOURCES`
(our own builder: evaluated with the protocol ``metaopt tune`` runs), else the
pool with the most tasks.

Which metric a task uses: the first one in :data:`METRIC_PREFERENCE` for its
kind that has values for the learner(s) (TabRepo binary tasks only have
``roc_auc``, multiclass only ``log_loss``, openml-pimp only ``accuracy``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable

import numpy as np
import pandas as pd

from metaopt.exceptions import ConfigError, KnowledgeBaseError
from metaopt.core import GREATER_IS_BETTER, KIND_METRICS

if TYPE_CHECKING:
    from metaopt.kb import KnowledgeBase

#: metric -> higher is better (the evaluation protocol's table)
HIGHER_IS_BETTER: dict[str, bool] = GREATER_IS_BETTER
#: kind -> metrics in order of preference: the protocol's order, its primary metric first
METRIC_PREFERENCE: dict[str, tuple[str, ...]] = KIND_METRICS
METHODS = ("minmax", "rank", "clipped")
#: key separating learner and config id in a joint column name
SEP = "::"
#: sources whose pool a new task is recommended from first (our builder: the protocol ``tune`` runs)
PREFERRED_SOURCES = ("corpus",)


def pool_name(kind: str, source: str) -> str:
    """The name of the dense pool of tasks of ``kind`` from ``source``."""
    return f"{kind}:{source}"


def pool_kind(name: str) -> str:
    return name.split(":", 1)[0]


def normalise_scores(raw: pd.DataFrame | np.ndarray, higher_is_better: bool | Iterable[bool] = True,
                     method: str = "minmax") -> np.ndarray:
    """Row-wise normalisation of a (task x config) score array to [0, 1], 1 = best.

    NaN stays NaN. A row whose evaluated configurations all score the same gets 1
    everywhere (no configuration is worse than another). ``higher_is_better`` may be
    one bool or one per row.
    """
    if method not in METHODS:
        raise ConfigError(f"unknown normalisation {method!r}; choose from {', '.join(METHODS)}")
    a = np.array(raw, dtype="float64", copy=True)
    if a.ndim == 1:
        a = a[None, :]
    hib = np.broadcast_to(np.asarray(list(higher_is_better) if not isinstance(higher_is_better, (bool, np.bool_))
                                     else [higher_is_better], dtype=bool), (a.shape[0],))
    a[~hib] = -a[~hib]
    out = np.full_like(a, np.nan)
    for i, row in enumerate(a):
        ok = np.isfinite(row)
        if not ok.any():
            continue
        v = row[ok]
        if method == "rank":
            r = pd.Series(v).rank(method="average").to_numpy()
            out[i, ok] = (r - 1) / (len(v) - 1) if len(v) > 1 else 1.0
            continue
        best = v.max()
        worst = np.quantile(v, 0.10) if method == "clipped" else v.min()
        span = best - worst
        out[i, ok] = 1.0 if span <= 0 else np.clip((v - worst) / span, 0.0, 1.0)
    return out


@dataclass
class ScoreMatrix:
    """Normalised scores of the configurations of one or more learners on KB tasks.

    Attributes
    ----------
    norm : DataFrame
        task_id x ``learner::config_id``, normalised per task (NaN = not evaluated).
    raw : DataFrame
        Same shape, the raw metric values.
    metric : Series
        task_id -> metric used for that task.
    tasks : DataFrame
        The KB's task rows (index task_id): kind, dataset_key, name, n_rows, ...
    meta : DataFrame
        task_id x meta-feature (float, NaN where unknown).
    configs : DataFrame
        index ``learner::config_id``: learner, config_id, params (dict), origin.
    fit_time : DataFrame
        task_id x config key, fit_time_s (NaN where unknown).
    n_train_rows : DataFrame
        task_id x config key (NaN where unknown).
    pool : dict
        pool name (``kind:source``, see :func:`pool_name`) -> config keys evaluated on
        (nearly) every task of that kind and source: the dense shared pool.
    task_pool : Series
        task_id -> the name of its pool ("" where its kind and source have none).
    """

    norm: pd.DataFrame
    raw: pd.DataFrame
    metric: pd.Series
    tasks: pd.DataFrame
    meta: pd.DataFrame
    configs: pd.DataFrame
    fit_time: pd.DataFrame
    n_train_rows: pd.DataFrame
    pool: dict[str, list[str]] = field(default_factory=dict)
    method: str = "minmax"
    task_pool: pd.Series = field(default_factory=lambda: pd.Series(dtype=object))

    @property
    def task_ids(self) -> list[str]:
        return list(self.norm.index)

    @property
    def learners(self) -> list[str]:
        return sorted(set(self.configs["learner"]))

    def subset(self, task_ids: Iterable[str]) -> ScoreMatrix:
        """The same matrix restricted to ``task_ids`` (configs and pools kept)."""
        ids = [t for t in task_ids if t in self.norm.index]
        return ScoreMatrix(self.norm.loc[ids], self.raw.loc[ids], self.metric.loc[ids], self.tasks.loc[ids],
                           self.meta.loc[ids], self.configs, self.fit_time.loc[ids], self.n_train_rows.loc[ids],
                           dict(self.pool), self.method, self.task_pool.reindex(ids).fillna(""))

    @property
    def pool_configs(self) -> list[str]:
        """Every configuration of some pool."""
        return sorted({c for cols in self.pool.values() for c in cols})

    def pooled_tasks(self) -> ScoreMatrix:
        """The same matrix restricted to the tasks that evaluated some pooled configuration."""
        return self.subset(self.norm.index[self.norm[self.pool_configs].notna().any(axis=1)])

    def only_configs(self, keys: Iterable[str]) -> ScoreMatrix:
        """The same matrix restricted to the configurations ``keys`` (pools cut to them)."""
        keys = [k for k in keys if k in self.norm.columns]
        kept = set(keys)
        pool = {n: [c for c in cols if c in kept] for n, cols in self.pool.items()}
        return ScoreMatrix(self.norm[keys], self.raw[keys], self.metric, self.tasks, self.meta,
                           self.configs.loc[keys], self.fit_time[keys], self.n_train_rows[keys],
                           {n: cols for n, cols in pool.items() if cols}, self.method, self.task_pool)

    def pools_of(self, kind: str) -> list[str]:
        """Names of the pools of ``kind``, the one a new task is recommended from first."""
        names = [n for n in self.pool if pool_kind(n) == kind]
        size = self.task_pool.value_counts()

        def order(n: str) -> tuple:
            src = n.split(":", 1)[1]
            pref = PREFERRED_SOURCES.index(src) if src in PREFERRED_SOURCES else len(PREFERRED_SOURCES)
            return pref, -int(size.get(n, 0)), n

        return sorted(names, key=order)

    def pool_for(self, kind: str, pool: str | None = None) -> str | None:
        """``pool`` if it is a pool of ``kind``, else the preferred pool of ``kind`` (None: there is none)."""
        if pool and pool in self.pool and pool_kind(pool) == kind:
            return pool
        names = self.pools_of(kind)
        return names[0] if names else None

    def dense_tasks(self, pool: str | None = None, min_coverage: float = 0.9) -> list[str]:
        """Tasks of ``pool`` (default: every pool) on which at least ``min_coverage`` of it is evaluated."""
        out = []
        for t in self.norm.index:
            name = self.task_pool.get(t, "")
            if not name or (pool is not None and name != pool):
                continue
            cols = self.pool[name]
            if self.norm.loc[t, cols].notna().mean() >= min_coverage:
                out.append(t)
        return out


def _parse(params: str | dict | None) -> dict:
    if isinstance(params, dict):
        return params
    if params is None or (isinstance(params, float) and np.isnan(params)):
        return {}
    return json.loads(params)


def build_score_matrix(kb: KnowledgeBase, learners: str | Iterable[str] | None = None, method: str = "minmax",
                       min_coverage: float = 0.5, min_pool: int = 5, pooled_only: bool = False) -> ScoreMatrix:
    """The :class:`ScoreMatrix` of ``learners`` (default: every learner in ``kb``).

    Per task one metric (first of :data:`METRIC_PREFERENCE` with values for all of
    the learners' rows) is normalised jointly over every configuration of the
    chosen learners evaluated on that task, so that with several learners the
    scores compare learners too.  ``pool[kind:source]``: configurations evaluated
    on at least ``min_coverage`` of the tasks of that kind and source that have
    any evaluation (the dense shared pool); a (kind, source) with fewer than
    ``min_pool`` such configurations gets no pool (sparse histories such as
    openml-pimp, where every run is its own configuration).

    ``pooled_only``: what the pools rank (the recommender's matrix) - the tasks that evaluated a
    pooled configuration and, where every task kind has a pool, only the pooled configurations. The
    same as ``.only_configs(pool_configs).pooled_tasks()`` of the full matrix (each task still
    normalised over all its evaluations), without first pivoting the sparse histories (openml-pimp's
    tens of thousands of one-task configurations, most of the full matrix's cost).
    """
    learners = _known_learners(kb, learners)
    tasks = kb.tasks.set_index("task_id")
    e, per_task_metric = _scored_evaluations(kb, learners, tasks)
    task_rows = tasks.reindex(sorted(e["task_id"].unique()))
    pool, task_pool = _pools(e, task_rows, min_coverage, min_pool)
    columns = None  # None: every configuration evaluated on the kept tasks
    if pooled_only and pool:
        pooled = sorted({c for cols in pool.values() for c in cols})
        every_kind = {pool_kind(n) for n in pool} >= set(task_rows["kind"])
        # a kind without a pool is ranked from the sparse histories: then every configuration keeps its column
        columns = pooled if every_kind else sorted(e["_key"].unique())
        e = e[e["task_id"].isin(e.loc[e["_key"].isin(pooled), "task_id"].unique())]
    # several sources on one pair: mean (as KnowledgeBase.scores does)
    raw = e.pivot_table(index="task_id", columns="_key", values="_score", aggfunc="mean")
    fit_time = e.pivot_table(index="task_id", columns="_key", values="fit_time_s", aggfunc="mean") \
        .reindex(index=raw.index, columns=raw.columns)
    ntr = e.assign(_n=e["n_train_rows"].astype("float64")).pivot_table(
        index="task_id", columns="_key", values="_n", aggfunc="mean").reindex(index=raw.index, columns=raw.columns)
    metric = pd.Series({t: per_task_metric[t] for t in raw.index}, dtype=object)
    hib = [HIGHER_IS_BETTER[metric[t]] for t in raw.index]
    norm = pd.DataFrame(normalise_scores(raw.to_numpy(), hib, method), index=raw.index, columns=raw.columns)
    if columns is not None:  # each task normalised over all its configurations first, then the columns cut
        keep = pd.Index(columns, name=raw.columns.name)
        norm, raw, fit_time, ntr = (f.reindex(columns=keep) for f in (norm, raw, fit_time, ntr))
    cfg = kb.configs[kb.configs["learner"].isin(learners)].copy()
    cfg["key"] = cfg["learner"] + SEP + cfg["config_id"]
    cfg = cfg.set_index("key").reindex(raw.columns)
    cfg["params"] = [_parse(p) for p in cfg["params"]]
    meta = kb.meta_features().reindex(raw.index)
    return ScoreMatrix(norm, raw, metric, task_rows.reindex(raw.index), meta, cfg, fit_time, ntr, pool, method,
                       task_pool.reindex(raw.index).fillna(""))


def _known_learners(kb: KnowledgeBase, learners: str | Iterable[str] | None) -> list[str]:
    """``learners`` as a list (default: every learner of ``kb``); one the KB lacks is an error."""
    if isinstance(learners, str):
        learners = [learners]
    all_learners = sorted(set(kb.configs["learner"].dropna()))
    learners = list(learners) if learners is not None else all_learners
    unknown = [lr for lr in learners if lr not in all_learners]
    if unknown:
        raise KnowledgeBaseError(f"the knowledge base has no configurations of {unknown} "
                                 f"(has: {', '.join(all_learners) or 'none'})")
    return learners


def _scored_evaluations(kb: KnowledgeBase, learners: list[str],
                        tasks: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """The learners' successful evaluations with a finite score in their task's metric (column ``_score``;
    ``_key`` = learner::config_id), and that metric per task."""
    e = kb.evaluations
    e = e[e["learner"].isin(learners) & (e["status"] == "ok")]
    e = e[e["task_id"].isin(tasks.index)]
    if e.empty:
        raise KnowledgeBaseError(f"the knowledge base has no successful evaluations of {learners}")
    per_task_metric = _task_metrics(e, e["task_id"].map(tasks["kind"]))
    metric_col = pd.Series(np.nan, index=e.index, dtype="float64")
    tm = e["task_id"].map(per_task_metric)
    for m in HIGHER_IS_BETTER:
        sel = tm == m
        if sel.any() and m in e.columns:
            metric_col[sel] = e.loc[sel, m].astype("float64")
    e = e.assign(_key=e["learner"] + SEP + e["config_id"], _score=metric_col)
    return e[np.isfinite(e["_score"])], per_task_metric


def _task_metrics(e: pd.DataFrame, kinds: pd.Series) -> dict[str, str]:
    """One metric per task: the first preferred one present on every row of the task (else the most covered)."""
    per_task_metric: dict[str, str] = {}
    for kind, pref in METRIC_PREFERENCE.items():
        sel = kinds == kind
        if not sel.any():
            continue
        sub = e.loc[sel]
        avail = {m: sub[m].notna().groupby(sub["task_id"]).mean() for m in pref if m in sub.columns}
        for t in sub["task_id"].unique():
            best_m, best_cov = None, 0.0
            for m in pref:
                cov = float(avail[m].get(t, 0.0)) if m in avail else 0.0
                if cov >= 0.999:
                    best_m = m
                    break
                if cov > best_cov:
                    best_m, best_cov = m, cov
            if best_m is not None:
                per_task_metric[t] = best_m
    return per_task_metric


def _pools(e: pd.DataFrame, task_rows: pd.DataFrame, min_coverage: float,
           min_pool: int) -> tuple[dict[str, list[str]], pd.Series]:
    """The dense pool of each (kind, source) and the pool of each task ("" where none), from the scored
    evaluations ``e`` of the tasks ``task_rows`` (every task with one)."""
    pool: dict[str, list[str]] = {}
    task_pool = pd.Series("", index=task_rows.index, dtype=object)
    source = task_rows["source"].astype(object).fillna("") if "source" in task_rows else \
        pd.Series("", index=task_rows.index, dtype=object)
    pairs = e.drop_duplicates(["task_id", "_key"])
    for (kind, src), rows in task_rows.groupby([task_rows["kind"], source]).groups.items():
        if kind not in METRIC_PREFERENCE:
            continue
        n_tasks = pairs.loc[pairs["task_id"].isin(rows), "_key"].value_counts()  # tasks that evaluated each
        cols = sorted(n_tasks.index[n_tasks / len(rows) >= min_coverage])
        if len(cols) >= min_pool:
            name = pool_name(str(kind), str(src))
            pool[name] = cols
            task_pool[rows] = name
    return pool, task_pool
