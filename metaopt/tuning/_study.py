"""The Optuna study of a tuning run: opened or resumed, its setup and data recorded and checked.

Workers that share a study must score configurations on the same folds of the same data, so the
first run records its setup and a fingerprint of the data, and later runs with others are refused.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Iterator
from typing import Any

import numpy as np
import optuna
import pandas as pd

from metaopt.exceptions import ConfigError, StorageError
from metaopt.tuning._auto import AUTO_ATTR
from metaopt.tuning._storage import storage_label
from metaopt.tuning._storage_errors import first_line

DEFAULT_ATTR = "metaopt:default"  #: study attribute: the library default's score on the folds
SETUP_ATTR = "metaopt:tune"  #: study attribute: learner, metric, folds, seed, data fingerprint
SOURCE_ATTR = "metaopt:source"  #: trial attribute: "warm_start" for enqueued recommendations
_SETUP_KEYS = ("learner", "metric", "cv", "kind", "n_rows", "n_features")


@contextlib.contextmanager
def quiet_optuna() -> Iterator[None]:
    """Silence Optuna's INFO/WARNING log lines (failed trials are in the summary; they would break the bar)."""
    logger = logging.getLogger("optuna")
    old = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(old)


def open_study(storage: Any, study_name: str | None, sampler: Any, pruner: Any, direction: str,
               metric: str) -> Any:
    """Create the study or load the one of that name; refuse one of the other direction."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        with quiet_optuna():
            study = optuna.create_study(storage=storage, sampler=sampler, pruner=pruner, study_name=study_name,
                                        direction=direction, load_if_exists=True)
    except ValueError as exc:
        raise ConfigError(f"cannot open study {study_name!r}: {exc}") from None
    except SQLAlchemyError as exc:  # e.g. a read-only database file, a lost connection
        raise StorageError(f"cannot open study {study_name!r} in {storage_label(storage)!r}: "
                           f"{first_line(exc)}") from None
    if len(study.directions) != 1:  # a study of the user's own, e.g. score and model size
        raise ConfigError(f"study {study.study_name!r} has {len(study.directions)} objectives, but metaopt tune "
                          f"optimises one metric ({metric!r}); use another study name")
    if study.direction.name.lower() != direction:
        raise ConfigError(f"study {study.study_name!r} is a {study.direction.name.lower()} study, but metric "
                          f"{metric!r} needs {direction}; use another study name")
    return study


def data_fingerprint(ds: Any) -> dict[str, Any]:
    """Column names, target and content hash: what a resumed study's data must match."""
    from metaopt.data import content_hash

    out = {"columns": [str(c) for c in ds.X.columns], "target": str(ds.target), "hash": content_hash(ds)}
    # only where set, so that studies without them keep their fingerprint
    if getattr(ds, "groups", None) is not None:  # which rows share a group, not the labels' spelling
        out["groups"] = _codes_hash(pd.factorize(ds.groups.astype(str))[0])
    if getattr(ds, "time_order", None) is not None:  # the rows' order in time, which decides the folds
        out["time_order"] = _codes_hash(ds.time_order.rank(method="dense").to_numpy())
    return out


def _codes_hash(codes: Any) -> str:
    return hashlib.sha256(np.asarray(codes, dtype="int64").tobytes()).hexdigest()


def check_study_data(study: Any, ds: Any) -> None:
    """Refuse ``ds`` where a study of ``tune`` recorded other data, as resuming it would: before the study's
    trials enter a knowledge base next to ``ds``'s meta-features (``metaopt kb add-study``)."""
    old = (recorded_setup(study) or {}).get("data")
    if not old:  # not a study of tune, or one from before data fingerprints
        return
    new = data_fingerprint(ds)
    for key, how, option in (("groups", "grouped", "--groups"), ("time_order", "time-ordered", "--time-column")):
        if bool(old.get(key)) != bool(new.get(key)):  # before the columns: a groups column moves them
            raise ConfigError(f"study {study.study_name!r} was run " + (
                f"with {how} folds; pass the same {option}" if old.get(key) else f"without {how} folds; leave "
                f"{option} out"))
    if old != new:
        raise ConfigError(_data_mismatch(study.study_name, old, new, advice="pass the data the study was run on"))


def _data_mismatch(name: str, old: dict[str, Any], new: dict[str, Any],
                   advice: str = "use another study name, or the study's data", reuse: str = "") -> str:
    if old.get("target") != new["target"]:
        what = f"target {old.get('target')!r}, this run {new['target']!r}"
    elif old.get("groups") != new.get("groups") and old.get("hash") == new["hash"]:
        what = "the same rows in other groups"  # with or without groups at all: check_setup said so
    elif old.get("time_order") != new.get("time_order") and old.get("hash") == new["hash"]:
        what = "the same rows in another time order"
    elif old.get("columns") != new["columns"]:
        gone = [c for c in old.get("columns") or [] if c not in new["columns"]]
        extra = [c for c in new["columns"] if c not in (old.get("columns") or [])]
        what = (f"columns missing here: {gone[:5]}, " if gone else "") + \
            (f"columns new here: {extra[:5]}" if extra else "the same columns in another order")
        what = what.rstrip(", ")
    else:
        what = (f"same columns and target but other values (content hash {str(old.get('hash'))[:12]}, this run "
                f"{new['hash'][:12]})")
        advice += reuse  # tune: likely a new version of the table (next month's rows)
    return f"study {name!r} was run on other data ({what}); its scores would be mixed with this data's: {advice}"


#: how a study on an earlier version of the table (same columns and target) still starts the new search
_REUSE = ("; a new study name in this storage starts from its best trial (docs/metamodel.md, 'Your own studies "
          "first')")


def check_setup(study: Any, setup: dict[str, Any]) -> int:
    """Record the setup in a new study, or check a resumed one's; returns the study's fold seed.

    Atomic under the warm start's storage lock: workers starting together on a new study must
    agree on one seed for the folds (each worker keeps its own sampler seed).
    """
    from metaopt.warmstart import storage_lock

    with storage_lock(study._storage, study.study_name):
        old = study._storage.get_study_user_attrs(study._study_id).get(SETUP_ATTR)
        if old is None:
            study.set_user_attr(SETUP_ATTR, setup)
            return int(setup["seed"])
        for key, how, option in (("groups", "grouped", "--groups"), ("time_order", "time-ordered", "--time-column")):
            then = isinstance(old.get("data"), dict) and bool(old["data"].get(key))
            if then != bool(setup["data"].get(key)):  # before the columns: a groups column moves them
                raise ConfigError(f"study {study.study_name!r} was run "
                                  + (f"with {how} folds; pass the same {option}" if then else
                                     f"without {how} folds; resume it without {option}") + ", or use another study name")
        diff = [key for key in _SETUP_KEYS if old.get(key) != setup[key]]
        if diff == ["learner"] and AUTO_ATTR in study.user_attrs:
            raise ConfigError(f"study {study.study_name!r} is the {old['learner']} study of a learner='auto' run; "
                              f"resume it with learner 'auto' (its {setup['learner']} trials, if any, are in "
                              f"study {study.study_name + '+' + setup['learner']!r}), or use another study name")
        if diff:
            raise ConfigError(f"study {study.study_name!r} was created with "
                              + ", ".join(f"{key}={old.get(key)!r}" for key in diff)
                              + " but this run has " + ", ".join(f"{key}={setup[key]!r}" for key in diff)
                              + "; use another study name")
        if not isinstance(old.get("data"), dict):  # a study from before data fingerprints: record this one
            study.set_user_attr(SETUP_ATTR, {**old, "data": setup["data"]})
        elif old["data"] != setup["data"]:
            raise ConfigError(_data_mismatch(study.study_name, old["data"], setup["data"], reuse=_REUSE))
    return int(old.get("seed", setup["seed"]))  # the summary shows it when it is not this worker's seed


def recorded_setup(study: Any) -> dict[str, Any] | None:
    """``learner``, ``metric``, ``n_folds`` (the split's folds), ``kind`` and ``data`` (:func:`data_fingerprint`;
    None where the study predates them) as a study of ``tune`` recorded them; None for a study ``tune`` did not
    create."""
    from metaopt.tuning._fidelity import EvalPlan

    setup = study.user_attrs.get(SETUP_ATTR)
    if not isinstance(setup, dict) or not {"learner", "metric"} <= set(setup):
        return None
    try:
        n_folds = EvalPlan.from_setup(setup).n_splits
    except (KeyError, TypeError, ValueError):
        n_folds = None
    data = setup.get("data")
    return {"learner": str(setup["learner"]), "metric": str(setup["metric"]), "n_folds": n_folds,
            "kind": setup.get("kind"), "data": data if isinstance(data, dict) else None}
