"""Earlier studies of the same table in the run's storage come first: last month's best trial starts this month's.

``metaopt kb add-study`` puts a study in a knowledge base, where ``recommend`` finds it for a table with the
same columns and target (:func:`metaopt.recommender.own_first`). A user who tunes every version of a table
into one storage (``--storage tune.db``, a study per month) has those studies at hand already: ``tune`` reads
the storage's other studies of ``metaopt tune`` with this table's columns, target, kind and metric, and puts
the best of their best trials first, as a study in a knowledge base would be (docs/metamodel.md, "Your own
studies first").
"""

from __future__ import annotations

import math
from typing import Any

from metaopt.core import PRIMARY
from metaopt.tuning._objective import FIT_S_ATTR
from metaopt.tuning._study import SETUP_ATTR


def earlier_studies(run: Any, study_name: str | None) -> list[Any]:
    """The best trials of the run's storage's other studies on its table (:func:`earlier_best`), best first;
    ``study_name``: the run's (None: every learner's default name, as ``learner="auto"`` would use)."""
    from metaopt.tuning._auto import study_names

    if run.storage is None:
        return []
    return earlier_best(run.storage, run.ds, run.metric, set(study_names(run, study_name).values()))


def earlier_best(storage: Any, ds: Any, metric: str | None, own_names: set[str] = frozenset()) -> list[Any]:
    """The best trial of every other study of ``tune`` in ``storage`` on a table with ``ds``'s schema and
    ``metric``, best first.

    ``metric``: None takes studies in any metric, those in the kind's primary metric first (``recommend``,
    which has no metric).  ``own_names``: this run's studies, and their learners' studies
    (``NAME+<learner>``): a resumed study's trials are in it already. Never raises: the storage is read
    for a head start only."""
    try:
        studies = storage.get_all_studies()
    except Exception:  # noqa: BLE001 - e.g. a journal storage being written: no head start
        return []
    found = []
    for study in studies:
        setup = study.user_attrs.get(SETUP_ATTR)
        name = study.study_name
        if name in own_names or name.rsplit("+", 1)[0] in own_names or not _same_table(setup, ds, metric):
            continue
        try:
            best = storage.get_best_trial(storage.get_study_id_from_name(name))
        except Exception:  # noqa: BLE001 - no completed trial (ValueError), or a study deleted meanwhile
            continue
        config = best.user_attrs.get("config")
        if isinstance(config, dict) and best.value is not None and math.isfinite(best.value):
            found.append((study, setup, best))
    found.sort(key=lambda f: (f[1]["metric"] != PRIMARY[ds.kind], f[1]["metric"],
                              -f[2].value if f[0].direction.name == "MAXIMIZE" else f[2].value))
    return [_as_recommendation(ds, study, setup, best) for study, setup, best in found]


def with_earlier(recs: list[Any], earlier: list[Any], learner: str, k: int) -> list[Any]:
    """``recs`` with the best earlier trial of ``learner`` (``"auto"``: of any) first, unless a study in the
    knowledge base already stands there (one own trial at most: ``own_share``)."""
    from metaopt.recommender import own_first

    mine = [r for r in earlier if learner in ("auto", r.learner)][:1]
    if not mine or any(getattr(r, "own_study", None) for r in recs):
        return recs
    return own_first(mine, list(recs), k)


def _same_table(setup: Any, ds: Any, metric: str | None) -> bool:
    """A study of ``tune`` on a version of ``ds``'s table (columns, target, kind) scored in ``metric`` (None:
    in any)."""
    if not isinstance(setup, dict) or not isinstance(setup.get("data"), dict):
        return False
    data = setup["data"]
    return (isinstance(setup.get("metric"), str) and metric in (None, setup["metric"])
            and setup.get("kind") == ds.kind and data.get("target") == str(ds.target)
            and sorted(map(str, data.get("columns") or [])) == sorted(map(str, ds.X.columns)))


def _as_recommendation(ds: Any, study: Any, setup: dict, best: Any) -> Any:
    from metaopt.recommender import own_trial

    rows = int(setup.get("n_rows") or 0)
    fit_s = float(best.user_attrs.get(FIT_S_ATTR, math.nan)) * (ds.n_rows / rows if rows else math.nan)
    return own_trial(ds, str(setup["learner"]), best.user_attrs["config"],
                     config_id=f"study:{study.study_name}/{best.number}", study=study.study_name,
                     trial=best.number, table="its data", n_rows=rows, metric=setup["metric"],
                     raw=float(best.value), fit_s=fit_s)
