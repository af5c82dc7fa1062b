"""The meta-learning side of a tuning run: the learner of ``"auto"``, the recommendations, the sampler.

Recommendations are an optimisation: when there are none (no usable knowledge base) the run goes on
as a plain search and a note says why.
"""

from __future__ import annotations

import warnings
from typing import Any

import optuna

from metaopt.exceptions import ConfigError, KnowledgeBaseError, MetaoptError
from metaopt.tuning._objective import error_text


def recommendations(ds: Any, learner: str, k: int, kb: Any, notes: list[str]
                    ) -> tuple[str | None, list[Any], dict | None]:
    """(learner chosen by 'auto' or None, recommendations of that learner, meta-features)."""
    from metaopt import recommend
    from metaopt.recommender import QUERY_GROUPS  # the groups recommend computes

    meta: dict | None = None
    try:
        from metaopt.features import extract_meta_features

        meta = dict(extract_meta_features(ds, groups=QUERY_GROUPS).values)
    except Exception as exc:  # noqa: BLE001 - recommend computes them itself then
        notes.append(f"meta-features failed ({error_text(exc)})")
    try:
        if learner != "auto":
            return None, list(recommend(ds, learner=learner, k=k, kb=kb, meta_features=meta)), meta
        recs = recommend(ds, learner="auto", k=k, kb=kb, meta_features=meta)
        if not recs:
            return None, [], meta
        chosen = recs[0].learner
        same = [r for r in recs if r.learner == chosen]
        if len(same) < len(recs):
            try:
                same = recommend(ds, learner=chosen, k=k, kb=kb, meta_features=meta)
            except (KnowledgeBaseError, ConfigError) as exc:  # keep the auto list's configurations
                notes.append(f"only {len(same)} recommendation(s) of {chosen}: {exc}")
        return chosen, list(same), meta
    except (KnowledgeBaseError, ConfigError, OSError, MetaoptError) as exc:
        notes.append(f"no recommendations: {exc}")
    except Exception as exc:  # noqa: BLE001 - the warm start is an optimisation, never a reason to fail
        notes.append(f"no recommendations: {error_text(exc)}")
    return None, [], meta


def make_sampler(sampler: Any, ds: Any, learner: str, k: int, kb: Any, seed: int, meta_features: dict | None,
                 recs: list[Any], space: dict, warm: bool, notes: list[str]) -> tuple[Any, str]:
    """``tune``'s ``sampler`` argument -> (an Optuna sampler seeded with this worker's seed, its label)."""
    from metaopt.warmstart import DistinctSampler, MetaSampler

    if isinstance(sampler, optuna.samplers.BaseSampler):
        return sampler, type(sampler).__name__
    # metaopt's samplers never propose a configuration the study already has (MetaSampler checks itself)
    if sampler == "tpe":
        return DistinctSampler(optuna.samplers.TPESampler(seed=seed), seed=seed), "tpe"
    if sampler == "random":
        return DistinctSampler(optuna.samplers.RandomSampler(seed=seed), seed=seed), "random"
    if sampler != "meta":
        raise ConfigError(f"sampler must be 'meta', 'tpe', 'random' or an Optuna sampler, got {sampler!r}")
    kw: dict[str, Any] = dict(kind=ds.kind, learner=learner, k=k, kb=kb, seed=seed, recommendations=list(recs),
                              search_space=space, warm_start=warm)
    try:
        if meta_features is not None:
            return MetaSampler(meta_features=meta_features, **kw), "meta"
        return MetaSampler(ds.X, ds.y, **kw), "meta"
    except (MetaoptError, TypeError, ValueError) as exc:
        notes.append(f"MetaSampler could not be built ({error_text(exc)}); TPE used instead")
    return DistinctSampler(optuna.samplers.TPESampler(seed=seed), seed=seed), "tpe (MetaSampler failed)"


def enqueue(study: Any, ds: Any, learner: str, recs: list[Any], space: dict, k: int, kb: Any,
            notes: list[str]) -> int:
    """Warm-start the study with ``recs``; returns how many configurations the study holds from it.

    A failure leaves a plain search (noted); the warm start's warnings become notes.
    """
    from metaopt.warmstart import warm_start

    n = 0
    try:
        if recs:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                n = len(warm_start(study, ds.X, ds.y, learner=learner, k=k, kb=kb, recommendations=recs,
                                   search_space=space, kind=ds.kind))
            notes.extend(str(w.message)[:300] for w in caught if issubclass(w.category, UserWarning))
    except Exception as exc:  # noqa: BLE001 - a failed warm start leaves a plain search
        notes.append(f"warm start failed: {error_text(exc)}")
    if not recs:
        notes.append("warm start: no recommendations available")
    return n
