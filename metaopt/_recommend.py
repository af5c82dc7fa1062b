"""``metaopt.recommend``: which learner and configurations to try first on a new dataset.

>>> recs = metaopt.recommend(df, target="class", k=5)          # doctest: +SKIP
>>> recs[0].learner, recs[0].params, recs[0].predicted_score   # doctest: +SKIP

Fitted meta-models have one owner, :func:`metaopt._model_cache.get_recommender`:
recommend, the warm start and the ``MetaSampler`` share them per (KB content,
learner set), in this process and on disk, so only the first call per KB pays for
fitting; later calls cost the meta-features plus a few milliseconds.
"""

from __future__ import annotations

import numbers
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from metaopt._model_cache import (  # noqa: F401 - the fitted meta-models' owner; names kept here for callers
    _CACHE,
    _KB_CACHE,
    fit_seconds,
    get_recommender,
    load_kb_cached,
    shared_surrogate,
)
from metaopt.exceptions import ConfigError, KnowledgeBaseError

#: meta-feature groups computed for a new task (landmarkers are too slow for an interactive call)
QUERY_GROUPS = ("general", "statistical", "info-theory")


@dataclass
class Recommendation:
    """One configuration to try, with what metaopt expects of it and why."""

    rank: int
    learner: str
    config_id: str
    params: dict[str, Any]
    predicted_score: float
    predicted_score_std: float
    predicted_fit_time_s: float | None
    similar_tasks: list[dict[str, Any]] = field(default_factory=list)
    rationale: str = ""
    far_from_kb: bool = False
    #: why it sits at this rank, in a few words (the table's "why" column; ``rationale`` says it in full)
    reason: str = ""
    #: parameters changed from the KB configuration for this dataset: ``{name: (KB value, value here)}``
    adapted: dict[str, tuple[Any, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for key in ("predicted_score", "predicted_score_std", "predicted_fit_time_s"):
            v = d[key]
            d[key] = None if v is None or not np.isfinite(v) else round(float(v), 6)
        return d


class Recommender:
    """A fitted meta-model for one KB and learner choice (see :func:`recommend`)."""

    def __init__(self, kb, learner: str = "auto"):
        from metaopt.metamodel._normalise import build_score_matrix, pool_kind
        from metaopt.metamodel._select import FitTimeModel, MetaoptModel

        learners = kb.learners
        if not learners:
            raise KnowledgeBaseError("the knowledge base holds no configurations")
        if learner != "auto" and learner not in learners:
            raise ConfigError(f"the knowledge base has no configurations of learner {learner!r} "
                              f"(has: {', '.join(learners)}; or use learner='auto')")
        if learner == "auto":
            dense = [lr for lr in learners if _has_dense_pool(kb, lr)]
            learners = dense or learners
        else:
            learners = [learner]
        sm = build_score_matrix(kb, learners)
        if sm.pool:
            if {pool_kind(n) for n in sm.pool} >= set(sm.tasks["kind"]):
                # every kind is recommended from a pool: drop the sparse per-task histories
                # (openml-pimp's 47,000 one-task configurations), which no pool ranks
                sm = sm.only_configs(sm.pool_configs)
            sm = sm.pooled_tasks()
        self.learner = learner
        self.learners = learners
        self.sm = sm
        self.model = MetaoptModel().fit(sm)
        self.fit_time = FitTimeModel().fit(sm)
        self._encoded = self._canonicalise()

    # -- the on-disk cache (metaopt.metamodel._persist) ----------------------------------------
    _STATE = ("learner", "learners", "sm", "model", "fit_time")

    def _state(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._STATE}

    def _canonicalise(self) -> tuple | None:
        """Switch to the state as the disk cache stores it (so cached and fresh results are identical).

        Returns the (tree, arrays) encoding for :func:`get_recommender` to store, or
        None where the state cannot be encoded (then nothing is cached).
        """
        from metaopt.metamodel._persist import canonical

        try:
            state, tree, arrays = canonical(self._state())
        except Exception:  # noqa: BLE001 - not storable: keep the fitted state, cache nothing
            return None
        for name in self._STATE:
            setattr(self, name, state[name])
        return tree, arrays

    @classmethod
    def _from_state(cls, state: Any) -> Recommender | None:
        if not isinstance(state, dict) or set(state) != set(cls._STATE):
            return None
        rec = cls.__new__(cls)
        for name in cls._STATE:
            setattr(rec, name, state[name])
        return rec

    def recommend(self, kind: str, meta: dict[str, float], n_rows: int, n_features: int, n_classes: int,
                  k: int = 5, time_budget: float | None = None, *, features: Any = None,
                  blind_reason: str | None = None) -> list[Recommendation]:
        """The ``k`` configurations to try first, in portfolio order, each made ready for this dataset.

        ``features``: the feature table, for learners whose parameters count model columns
        (a forest's ``max_features``; else ``n_features``).  Meta-features that are all NaN
        (``blind_reason`` says why) give the data-blind static portfolio, with a warning.
        """
        from metaopt.metamodel._base import Query, candidates

        query = Query(kind, meta, self.sm.pool_for(kind))
        try:
            cand = candidates(self.sm, kind, query.pool)
        except KnowledgeBaseError:
            raise KnowledgeBaseError(f"the knowledge base has no {kind} tasks for "
                                     f"{', '.join(self.learners)}; cannot recommend") from None
        blind = not any(isinstance(v, numbers.Real) and np.isfinite(v) for v in meta.values())
        if blind:
            blind_reason = blind_reason or "all meta-features are NaN"
            warnings.warn(f"{blind_reason}, so metaopt's recommendations fall back to the data-blind "
                          "portfolio of the knowledge base", UserWarning, stacklevel=3)
        far = blind or self.model.is_far(query)
        n = len(cand) if time_budget is not None else k
        ranked = self.model.static_.rank(query, n) if blind and not self.model.is_far(query) \
            else self.model.rank(query, n)
        times = self.fit_time.predict(ranked, n_rows, n_features, n_classes)
        note = ""
        if time_budget is not None:
            fits = [key for key in ranked if not np.isfinite(times[key]) or times[key] <= time_budget]
            if fits:
                ranked = fits
            else:
                ranked = list(times.sort_values().index)
                note = (f" No configuration is predicted to fit within {time_budget:g} s; these are the "
                        "fastest ones.")
        ranked = ranked[:k]
        mean, std = self.model.predict(query)
        # the similar tasks reported are those whose scores on these candidates inform the ranking
        informed = self.sm.norm[cand].notna().any(axis=1).to_numpy()
        similar = [] if blind else [{"task_id": t, "name": nm, "distance": round(d, 4)}
                                    for t, nm, d in self.model.nn_.nearest(query, 3, informed)]
        why = _Why(blind_reason if blind else None, far, self.model, query, similar, note)
        widths: dict[str, int] = {}
        out = []
        for i, key in enumerate(ranked):
            cfg = self.sm.configs.loc[key]
            learner = str(cfg["learner"])
            if learner not in widths:
                widths[learner] = _model_width(learner, features, n_features)
            params, adapted = _ready_params(learner, dict(cfg["params"]), kind, n_rows, widths[learner])
            t = times.get(key, np.nan)
            out.append(Recommendation(
                rank=i + 1, learner=learner, config_id=str(cfg["config_id"]), params=params,
                predicted_score=float(mean.get(key, np.nan)), predicted_score_std=float(std.get(key, np.nan)),
                predicted_fit_time_s=None if not np.isfinite(t) else float(t), similar_tasks=similar,
                rationale=why.rationale(i, adapted, n_rows), far_from_kb=far, reason=why.reason(i, bool(note)),
                adapted=adapted))
        return out


class _Why:
    """The reason (a few words) and rationale (sentences) of each rank."""

    def __init__(self, blind_reason: str | None, far: bool, model: Any, query: Any, similar: list, note: str):
        self.blind_reason, self.far, self.note = blind_reason, far, note
        if far and blind_reason is None:
            self.far_text = (f"New task is far from the knowledge base (nearest-task distance "
                             f"{model.nearest_distance(query):.2f} > {model.far_threshold_:.2f}, the 95% quantile "
                             f"of KB tasks' own nearest distances x1.25): falling back to the static portfolio")
        self.sim_text = ", ".join(f"{s['name']} ({s['distance']:.2f})" for s in similar) or "none"

    def reason(self, i: int, fastest: bool) -> str:
        if fastest:
            return "fastest (none fits the time budget)"
        if self.blind_reason is not None:
            return f"data-blind portfolio #{i + 1}"
        if self.far:
            return f"static portfolio #{i + 1} (far from KB)"
        if i == 0:
            return "best blend on similar tasks"
        return "covers where #1 is weak" if i == 1 else f"covers where #1-#{i} are weak"

    def rationale(self, i: int, adapted: dict, n_rows: int) -> str:
        if self.blind_reason is not None:
            text = (f"No usable meta-features ({self.blind_reason}): the data-blind static portfolio of the "
                    f"knowledge base. Position {i + 1} of that portfolio.")
        elif self.far:
            text = f"{self.far_text}. Position {i + 1} of that portfolio."
        elif i == 0:
            text = (f"Best expected normalised score on the most similar KB tasks ({self.sim_text}) "
                    f"blended with the surrogate's prediction.")
        else:
            text = "Chosen greedily to do well where the configurations above it are weak on similar tasks."
        if adapted:
            changes = ", ".join(f"{name} {'default' if old is None else repr(old)} -> {new!r}"
                                for name, (old, new) in adapted.items())
            text += f" Set for this dataset ({n_rows} rows): {changes}."
        return text + self.note


def _model_width(learner: str, features: Any, n_features: int) -> int:
    """Columns the learner's estimator sees (``n_features`` without the feature table)."""
    from metaopt.learners import get_learner

    if features is None:
        return int(n_features)
    try:
        return get_learner(learner).model_width(features)
    except ConfigError:  # not a registered learner: its parameters are left as they are
        return int(n_features)


def _has_dense_pool(kb, learner: str, min_coverage: float = 0.5, min_pool: int = 5) -> bool:
    """Cheap check (no pivot) that some (kind, source) has >= ``min_pool`` configs on >= ``min_coverage`` of its tasks.

    The same rule as :func:`metaopt.metamodel.build_score_matrix`'s pools.
    """
    e = kb.evaluations
    e = e[(e["learner"] == learner) & (e["status"] == "ok")]
    if e.empty:
        return False
    tasks = kb.tasks.set_index("task_id")
    kind = e["task_id"].map(tasks["kind"])
    source = e["task_id"].map(tasks["source"]).fillna("")
    for _, sub in e.groupby([kind, source]):
        n_tasks = sub["task_id"].nunique()
        cov = sub.groupby("config_id")["task_id"].nunique() / n_tasks
        if (cov >= min_coverage).sum() >= min_pool:
            return True
    return False


def _ready_params(learner: str, params: dict, kind: str, n_rows: int | None = None,
                  n_features: int | None = None) -> tuple[dict, dict]:
    """(params ready for this dataset, ``{name: (KB value, value here)}``); see :meth:`Learner.ready_params`."""
    from metaopt.learners import get_learner

    try:
        return get_learner(learner).ready_params(params, kind, n_rows, n_features)
    except ConfigError:  # an unknown learner or a foreign history's parameters: shown as stored
        return params, {}


def recommend(data_or_X: Any, y: Any = None, target: Any = None, learner: str = "auto", k: int = 5,
              time_budget: float | None = None, kb: Any = None, *, meta_features: dict | None = None
              ) -> list[Recommendation]:
    """Learner and configurations to try first on a dataset, best first.

    Parameters
    ----------
    data_or_X
        A file path, DataFrame (with ``target``), array/frame of features (with
        ``y``) or :class:`~metaopt.data.Dataset`.
    y, target
        The target values, or the name of the target column.
    learner
        ``"auto"`` (choose among every learner with a shared pool in the KB) or a
        learner name (with the shipped KB: one of :func:`metaopt.learners.list_learners`).
    k
        Number of configurations (positive integer).  They come in portfolio order: the
        first has the best blend of its scores on similar KB tasks and the surrogate's
        prediction, each next one adds the most where those above it are weak - so
        ``predicted_score`` need not decrease.  Data-size-dependent parameters are capped
        for this dataset (``Recommendation.adapted`` lists the changes).
    time_budget
        Seconds one fit may take; configurations predicted to take longer are skipped.
    kb
        A :class:`~metaopt.kb.KnowledgeBase`, a KB directory, or None (the shipped one).
    meta_features
        Precomputed meta-features of the dataset (skips their extraction).

    Raises
    ------
    ConfigError
        Bad ``k``, ``learner``, ``time_budget`` or ``kb``.
    DataError
        Unusable data (see :func:`metaopt.load_data`).
    KnowledgeBaseError
        The KB has nothing to learn from for this learner and task kind.

    Warns
    -----
    UserWarning
        When nothing describes the data (every feature value missing, or all meta-features
        NaN): the recommendations are then the KB's data-blind static portfolio.
    """
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
        raise ConfigError(f"k must be a positive integer, got {k!r}")
    if not isinstance(learner, str) or not learner:
        raise ConfigError(f"learner must be a learner name or 'auto', got {learner!r}")
    if time_budget is not None:
        if isinstance(time_budget, bool) or not isinstance(time_budget, numbers.Real) \
                or not np.isfinite(time_budget) or time_budget <= 0:
            raise ConfigError(f"time_budget must be a positive number of seconds, got {time_budget!r}")
    if learner != "auto" and kb is None:
        from metaopt.learners import check_offered

        check_offered(learner)  # e.g. extra_trees: registered, but the shipped KB has no results of it
    from metaopt.data import load_data

    ds = load_data(data_or_X, target=target, y=y)
    rec = get_recommender(kb, learner)
    blind_reason = None
    if not ds.X.notna().to_numpy().any():  # nothing to describe: only the data-blind portfolio is left
        blind_reason = "every feature value is missing"
        meta_features = {}
    elif meta_features is None:
        from metaopt.features import extract_meta_features
        meta_features = dict(extract_meta_features(ds, groups=QUERY_GROUPS).values)
    n_classes = int(ds.y.nunique()) if ds.kind != "regression" else 0
    return rec.recommend(ds.kind, meta_features, ds.n_rows, ds.n_features, n_classes, int(k),
                         None if time_budget is None else float(time_budget), features=ds.X,
                         blind_reason=blind_reason)
