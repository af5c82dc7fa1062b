"""``metaopt.recommend``: which learner and configurations to try first on a new dataset.

>>> recs = metaopt.recommend(df, target="class", k=5)          # doctest: +SKIP
>>> recs[0].learner, recs[0].params, recs[0].predicted_score   # doctest: +SKIP

Fitted meta-models have one owner, :func:`metaopt.recommender.get_recommender`:
recommend, the warm start and the ``MetaSampler`` share them per (KB content,
learner set), in this process and on disk, so only the first call per KB pays for
fitting; later calls cost the meta-features plus a few milliseconds.
"""

from __future__ import annotations

import numbers
import warnings
from typing import Any

import numpy as np

from metaopt.data import Dataset, load_data
from metaopt.exceptions import ConfigError
from metaopt.features import extract_meta_features
from metaopt.learners import check_offered
from metaopt.recommender._cache import get_recommender
from metaopt.recommender._own import own_first, own_share, own_studies, storage_studies
from metaopt.recommender._probe import probe_first, probes_portfolio
from metaopt.recommender._recommendation import Recommendation
from metaopt.recommender._why import renumber_reasons
from metaopt.utils import check_scalar

#: meta-feature groups computed for a new task (landmarkers are too slow for an interactive call)
QUERY_GROUPS = ("general", "statistical", "info-theory")


def recommend(data_or_X: Any, y: Any = None, target: Any = None, learner: str = "auto", k: int = 5,
              time_budget: float | None = None, kb: Any = None, *, meta_features: dict | None = None,
              probe: int = 0, n_jobs: int = 1, kind: str | None = None, groups: Any = None,
              time_column: str | None = None, storage: Any = None) -> list[Recommendation]:
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
        Number of configurations (positive integer).  They come in portfolio order: the first has the
        best blend of its scores on similar KB tasks and the surrogate's prediction, each next one adds
        the most where those above it are weak - so ``predicted_score`` need not decrease.  Data-size-
        dependent parameters are capped for this dataset (``Recommendation.adapted``).
    time_budget
        Seconds one fit may take; configurations predicted to take longer are skipped.
    kb, storage
        A :class:`~metaopt.kb.KnowledgeBase`, a KB directory, or None (the shipped one); an Optuna storage
        (URL, SQLite or journal file) that ``tune`` wrote.  The best trial of your studies in the KB
        (``kb add-study``), else in ``storage``, on a table with this data's columns and target comes first.
    meta_features
        Precomputed meta-features of the dataset (skips their extraction).
    probe
        Cross-validate ``probe`` configurations on 2 folds of the data (up to 10,000 rows) and return them
        first, best probe score first (``Recommendation.probe_score``).  ``probe >= k``: the ``k`` best-probed
        of the first ``probe`` of the KB's static portfolio (its configurations that together do best across
        its tasks); ``probe < k``: the ranking's first ``k``, its first ``probe`` reordered.  It fits models
        (docs/metamodel.md, "Which configurations to probe"); 0 (the default) or 1: no probe.
    n_jobs
        Configurations probed at once (threads, one per fit).
    kind
        ``"binary"``, ``"multiclass"``, ``"regression"`` or ``"classification"``; default: inferred
        (:func:`metaopt.load_data`: integer class codes such as 0, 1, 2 are read as regression).
    groups, time_column
        As in :func:`metaopt.tune` (the table's features, own studies and probe folds are then tune's).

    Raises
    ------
    ConfigError
        Bad ``k``, ``learner``, ``time_budget``, ``kb``, ``probe`` or ``n_jobs``.
    StorageError
        No such ``storage``.
    DataError
        Unusable data (see :func:`metaopt.load_data`).
    KnowledgeBaseError
        The KB has nothing to learn from for this learner and task kind.

    Warns
    -----
    UserWarning
        When nothing describes the data (every feature value missing, or all meta-features
        NaN): the recommendations are then the KB's data-blind static portfolio. Also each of the
        data's essential notes (an integer-coded target taken as regression, rows dropped for a missing
        target) where ``data_or_X`` is not a :class:`~metaopt.data.Dataset` already (which holds them).
    """
    _check_arguments(k, probe, n_jobs, learner, time_budget, kb)
    ds = load_data(data_or_X, target=target, y=y, kind=kind, groups=groups, time_column=time_column)
    if not isinstance(data_or_X, Dataset):  # loaded here: a warning is the API's one way to say it
        for note in ds.essential_notes:
            warnings.warn(f"metaopt: {note}", UserWarning, stacklevel=2)
    budget = None if time_budget is None else float(time_budget)
    stored = storage_studies(storage, ds, learner, own_share(int(k)), budget)  # a bad storage: before any fit
    rec = get_recommender(kb, learner)
    meta_features, blind_reason = _describe(ds, meta_features)
    n_classes = int(ds.y.nunique()) if ds.kind != "regression" else 0
    probed = int(probe) if probe >= 2 else 0
    recs = rec.recommend(ds.kind, meta_features, ds.n_rows, ds.n_features, n_classes, max(int(k), probed),
                         budget, features=ds.X, blind_reason=blind_reason,
                         portfolio_first=probed if probes_portfolio(k, probed) else 0)
    own = own_studies(kb, ds, learner, own_share(int(k)), budget) or stored  # a study in the KB wins, as in tune
    return renumber_reasons(own_first(own, probe_first(ds, recs, probed, n_jobs=int(n_jobs)), int(k)), recs)


def _describe(ds: Dataset, meta_features: dict | None) -> tuple[dict, str | None]:
    """The data's meta-features (``meta_features`` where given), and why nothing describes the data (None
    where something does): only the data-blind portfolio is left then."""
    if not ds.X.notna().to_numpy().any():
        return {}, "every feature value is missing"
    if meta_features is None:
        meta_features = dict(extract_meta_features(ds, groups=QUERY_GROUPS).values)
    return meta_features, None


def _check_arguments(k: Any, probe: Any, n_jobs: Any, learner: Any, time_budget: Any, kb: Any) -> None:
    """:func:`recommend`'s arguments, before any data are read."""
    check_scalar(k, "k", numbers.Integral, min_val=1)
    check_scalar(probe, "probe", numbers.Integral, min_val=0)
    check_scalar(n_jobs, "n_jobs", numbers.Integral, min_val=1)
    if not isinstance(learner, str) or not learner:
        raise ConfigError(f"learner must be a learner name or 'auto', got {learner!r}")
    check_scalar(time_budget, "time_budget", numbers.Real, min_val=0, max_val=np.inf, include_boundaries="neither",
                 allow_none=True, unit="seconds")
    if learner != "auto" and kb is None:
        check_offered(learner)  # e.g. extra_trees: registered, but the shipped KB has no results of it
