"""A user's own earlier studies on a table come first: ``kb add-study`` tasks with the same schema.

The meta-model ranks what the KB's pools evaluated on many tasks. A user's study evaluated its trials
on one table only, so no pool holds them and the meta-model never offers them. But where the user tunes
a new version of a table they tuned before (this month's rows, last month's study), those trials are
the best-informed configurations there are: their best trial comes first (docs/metamodel.md, "Your own
studies first"). A table is recognised by its schema (:func:`metaopt.kb.schema_key`), not by its values.
"""

from __future__ import annotations

import dataclasses
import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from metaopt.exceptions import KnowledgeBaseError
from metaopt.kb import METRICS, USER_STUDY_SOURCE as SOURCE, KnowledgeBase, default_kb_path, schema_key
from metaopt.recommender._recommendation import Recommendation
from metaopt.recommender._why import config_key


def own_share(k: int) -> int:
    """How many of ``k`` recommendations a user's own studies fill: one, their best trial. More did not do
    better: the meta-model's adaptive picks after it did as well or better (docs/metamodel.md, "Your own
    studies first"), and they keep the KB's range of candidates for a table that changed."""
    return min(1, int(k))


def own_studies(kb: Any, ds: Any, learner: str, n: int, time_budget: float | None = None) -> list[Recommendation]:
    """The ``n`` best distinct trials of the user's studies on tables with ``ds``'s schema, best first.

    ``learner``: that learner's trials only; ``"auto"``: every learner's, so the learner that did best on
    the table comes first. Scores are normalised per study's task (1 = its best trial, 0 = its worst).
    ``time_budget``: trials whose fit is estimated to take longer are left out.
    """
    kb = _with_user_studies(kb)
    if kb is None or n < 1:
        return []
    tasks = _same_table(kb, ds)
    if tasks.empty:
        return []
    scored = _scored(kb, tasks, learner)
    scored["fit_s"] = _fit_seconds(scored, ds.n_rows)
    if time_budget is not None:
        scored = scored[~(scored["fit_s"] > float(time_budget))]
    return [_as_recommendation(row, ds, tasks) for row in _distinct_best(scored, kb, n)]


def storage_studies(storage: Any, ds: Any, learner: str, n: int,
                    time_budget: float | None = None) -> list[Recommendation]:
    """The ``n`` best of the best trials of ``metaopt tune``'s studies in ``storage`` on tables with ``ds``'s
    schema, best first: where ``tune --storage`` would start (``metaopt.tuning.earlier_best``).

    ``storage``: an Optuna storage URL, a SQLite or journal file, or a storage object; it must exist
    (:class:`~metaopt.StorageError`).  Warns where it holds no such study."""
    if storage is None:
        return []
    from metaopt.tuning import earlier_best, open_storage, storage_label  # tuning sits above: imported on use

    opened = open_storage(storage, create=False)
    found = [r for r in earlier_best(opened, ds, None) if learner in ("auto", r.learner)]
    if time_budget is not None:
        found = [r for r in found if not (r.predicted_fit_time_s or 0.0) > time_budget]
    if not found:
        what = "" if learner == "auto" else f" of {learner}"
        warnings.warn(f"no study of 'metaopt tune'{what} in {storage_label(storage)} on a table with this data's "
                      f"columns, target and kind{' and fits within time_budget' if time_budget else ''}: "
                      "none of its trials comes first", UserWarning, stacklevel=3)
    return found[:max(0, int(n))]


def _with_user_studies(kb: Any) -> KnowledgeBase | None:
    """``kb`` loaded, or None where it holds no user study (read from the manifest: no KB load)."""
    from metaopt.recommender._cache import load_kb_cached

    if isinstance(kb, KnowledgeBase):
        return kb if (kb.tasks["source"] == SOURCE).any() else None
    root = Path(kb).expanduser() if kb is not None else Path(default_kb_path())
    try:
        sources = KnowledgeBase.read_manifest(root).get("sources", [])
    except (OSError, KnowledgeBaseError):
        return None  # the recommender reports an unreadable KB
    if not any(str(s.get("name", "")).startswith(SOURCE + ":") for s in sources if isinstance(s, dict)):
        return None
    return load_kb_cached(root)


def _same_table(kb: KnowledgeBase, ds: Any) -> pd.DataFrame:
    """The KB's user tasks whose schema is ``ds``'s, indexed by task id."""
    t = kb.tasks
    hits = t[(t["source"] == SOURCE) & (t["dataset_key"] == schema_key(ds)) & (t["kind"] == ds.kind)]
    return hits.set_index("task_id")


def _scored(kb: KnowledgeBase, tasks: pd.DataFrame, learner: str) -> pd.DataFrame:
    """The tasks' completed trials with their metric, raw score and score normalised per task."""
    e = kb.evaluations
    e = e[e["task_id"].isin(tasks.index) & (e["status"] == "ok")]
    if learner != "auto":
        e = e[e["learner"] == learner]
    rows = []
    for task_id, group in e.groupby("task_id", sort=False):
        metric = next((m for m in METRICS if group[m].notna().any()), None)
        if metric is None:
            continue
        raw = group[metric].astype("float64")
        score = raw if METRICS[metric][2] else -raw
        span = score.max() - score.min()
        norm = (score - score.min()) / span if span > 0 else pd.Series(1.0, index=score.index)
        rows.append(group[["task_id", "learner", "config_id", "fit_time_s", "n_folds"]].assign(
            metric=metric, raw=raw, score=norm, n_rows=tasks.at[task_id, "n_rows"]))
    if not rows:
        return pd.DataFrame(columns=["task_id", "learner", "config_id", "fit_time_s", "n_folds", "metric", "raw",
                                     "score", "n_rows"])
    return pd.concat(rows, ignore_index=True).sort_values("score", ascending=False, kind="stable")


def _fit_seconds(scored: pd.DataFrame, n_rows: int) -> pd.Series:
    """One fit's seconds on ``n_rows`` rows, estimated from the trial's: its duration over its folds, scaled
    by rows (NaN where the study recorded no folds)."""
    folds = pd.to_numeric(scored["n_folds"], errors="coerce").astype("float64")
    rows = pd.to_numeric(scored["n_rows"], errors="coerce").astype("float64")
    return scored["fit_time_s"].astype("float64") / folds * (float(n_rows) / rows)


def _distinct_best(scored: pd.DataFrame, kb: KnowledgeBase, n: int) -> list[dict[str, Any]]:
    """The ``n`` best rows with distinct (learner, parameters): TPE's repeats of one trial count once."""
    configs = kb.configs.set_index(["learner", "config_id"])["params"]
    seen: set[tuple[str, str]] = set()
    out = []
    for row in scored.to_dict("records"):
        params = json.loads(configs.loc[(row["learner"], row["config_id"])])
        key = (row["learner"], json.dumps(params, sort_keys=True))
        if key in seen:
            continue
        seen.add(key)
        out.append({**row, "params": params})
        if len(out) == n:
            break
    return out


def own_trial(ds: Any, learner: str, params: dict[str, Any], *, config_id: str, study: str, trial: Any,
              table: str, n_rows: int, metric: str, raw: float, score: float = 1.0, fit_s: float = np.nan,
              task_id: str = "") -> Recommendation:
    """A trial of the user's study on an earlier version of ``ds``'s table, as a recommendation for ``ds``
    (data-size-dependent parameters capped for its rows, as the meta-model's picks are)."""
    from metaopt.recommender._recommender import _model_width, _ready_params

    width = _model_width(learner, ds.X, ds.n_features)
    params, adapted = _ready_params(learner, dict(params), ds.kind, ds.n_rows, width)
    return Recommendation(
        rank=0, learner=learner, config_id=config_id, params=params,
        predicted_score=float(score), predicted_score_std=0.0,
        predicted_fit_time_s=float(fit_s) if np.isfinite(fit_s) else None,
        similar_tasks=[{"task_id": task_id, "name": table, "distance": 0.0}],
        rationale=(f"Trial {trial} of your study {study!r} on {table} ({int(n_rows)} rows), a table "
                   f"with this data's columns and target: {metric} {raw:.4g}, score "
                   f"{score:.2f} among that study's trials (1 = its best). Your own results on this "
                   "table come before the knowledge base's."),
        reason=f"your study {study}", adapted=adapted, own_study=study)


def own_first(own: list[Recommendation], recs: list[Recommendation], k: int) -> list[Recommendation]:
    """The user's own trials on this table, then the meta-model's picks that repeat none of them, ranked anew."""
    taken = {config_key(r) for r in own}
    rest = [r for r in recs if config_key(r) not in taken]
    return [dataclasses.replace(r, rank=i + 1) for i, r in enumerate((own + rest)[:k])]


def _as_recommendation(row: dict[str, Any], ds: Any, tasks: pd.DataFrame) -> Recommendation:
    study, trial = _study_and_trial(str(row["config_id"]))
    return own_trial(ds, str(row["learner"]), row["params"], config_id=str(row["config_id"]), study=study,
                     trial=trial, table=repr(str(tasks.at[row["task_id"], "name"])), n_rows=int(row["n_rows"]),
                     metric=str(row["metric"]), raw=float(row["raw"]), score=float(row["score"]),
                     fit_s=float(row["fit_s"]), task_id=str(row["task_id"]))


def _study_and_trial(config_id: str) -> tuple[str, str]:
    """``optuna/<study>[@<data hash>]/<trial>`` -> (study, trial)."""
    head, trial = config_id.rsplit("/", 1)
    return head.split("/", 1)[-1].split("@", 1)[0], trial
