"""What cross-validation must know about the rows besides X and y: their groups and their time order.

``load_data(groups=...)``: rows that belong together (a patient's visits) must not be split between
training and test folds. ``load_data(time_column=...)``: the rows are observations over time, and a
model must be scored on rows later than those it was fitted on. Both are kept beside the features
(``Dataset.groups``, ``Dataset.time_order``) for :meth:`metaopt.core.Protocol.folds`, the one place
folds are made.
"""

from __future__ import annotations

import difflib
from typing import Any

import numpy as np
import pandas as pd

from metaopt.data._columns import _string_to_datetime  # the loader's own date rule, so both agree
from metaopt.exceptions import GroupsError, TimeOrderError


def row_keys(X: pd.DataFrame, tname: str, where: str, dropped: dict[str, str], *, groups: Any = None,
             time_column: str | None = None) -> tuple[pd.DataFrame, dict[str, pd.Series | None]]:
    """``(features, {"groups": labels or None, "time_order": sortable keys or None})``.

    A groups column leaves the features (listed in ``dropped`` as ``"groups"``); a time column stays a
    feature (a date is expanded as any other).
    """
    if groups is not None and time_column is not None:
        raise TimeOrderError("pass groups or time_column, not both: folds in time order do not keep groups apart")
    order = None if time_column is None else _time_order(X, time_column, tname, where)
    X, gs = _split_groups(X, groups, tname, where, dropped)
    return X, {"groups": gs, "time_order": order}


def row_key_notes(keys: dict[str, pd.Series | None], dropped: dict[str, str]) -> list[str]:
    """What the folds will respect, said once (the summary of ``tune`` repeats it)."""
    notes = []
    gs, order = keys.get("groups"), keys.get("time_order")
    if gs is not None:
        notes.append(f"grouped folds: {gs.nunique()} groups" + (f" of column {gs.name!r}" if gs.name in dropped else "")
                     + "; the rows of a group are never split between training and test")
    if order is not None:
        distinct = int(order.nunique())
        ties = "" if distinct == len(order) else (
            f" ({distinct} distinct times in {len(order)} rows: the rows of one time are never split between "
            f"training and test)")
        notes.append(f"time-ordered folds by column {order.name!r}: each fold is fitted on earlier rows and "
                     f"tested on the next ones{ties}")
    return notes


def _column(X: pd.DataFrame, name: str, what: str, tname: str, where: str, error: type) -> pd.Series:
    if name == tname:
        raise error(f"{what} column {name!r} is the target; name another column")
    if name not in X.columns:
        from metaopt.data._build import preview

        close = difflib.get_close_matches(name, [str(c) for c in X.columns], n=3)
        hint = f"did you mean {' or '.join(repr(c) for c in close)}?" if close else \
            f"columns are {preview([str(c) for c in X.columns])}"
        raise error(f"unknown {what} column {name!r} in {where}: {hint}")
    return X[name].reset_index(drop=True)


def _split_groups(X: pd.DataFrame, groups: Any, tname: str, where: str, dropped: dict[str, str]
                  ) -> tuple[pd.DataFrame, pd.Series | None]:
    """``groups`` names a feature column (removed from the features) or gives one label per row."""
    if groups is None:
        return X, None
    if isinstance(groups, str):
        gs = _column(X, groups, "groups", tname, where, GroupsError).rename(groups)
        X = X.drop(columns=[groups])
        dropped[groups] = "groups"
    else:
        values = groups.to_numpy() if isinstance(groups, (pd.Series, pd.Index)) else np.asarray(groups, dtype=object)
        if values.ndim != 1 or len(values) != len(X):
            raise GroupsError(f"groups has {values.shape[0] if values.ndim else 0} value(s) but {where} has "
                              f"{len(X)} rows; give one group label per row")
        gs = pd.Series(values, name=getattr(groups, "name", None) or "groups")
    n_missing = int(gs.isna().sum())
    if n_missing:
        raise GroupsError(f"groups {gs.name!r} is missing in {n_missing} of {len(gs)} rows; every row needs a group")
    return X, gs


def _time_order(X: pd.DataFrame, name: str, tname: str, where: str) -> pd.Series:
    """The column's values as sortable floats: numbers as they are, dates (or date strings) as nanoseconds."""
    s = _column(X, name, "time", tname, where, TimeOrderError)
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        keys = s.astype("float64")
    else:
        if pd.api.types.is_datetime64_any_dtype(s.dtype):
            parsed = s
        else:
            text = s.astype("str").str.strip().where(s.notna())
            parsed = _string_to_datetime(text, text.dropna().drop_duplicates())
        if parsed is None:
            raise TimeOrderError(f"time column {name!r} in {where} holds neither numbers nor dates (e.g. "
                                 f"{s.dropna().iloc[0]!r})" if s.notna().any() else
                                 f"time column {name!r} in {where} is empty")
        stamps = pd.Series(pd.to_datetime(parsed)).reset_index(drop=True)
        if getattr(stamps.dt, "tz", None) is not None:
            stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
        keys = pd.Series(stamps.to_numpy("datetime64[ns]").astype("int64"), dtype="float64")
        keys[stamps.isna().to_numpy()] = np.nan
    n_missing = int(keys.isna().sum())
    if n_missing:
        raise TimeOrderError(f"time column {name!r} is missing in {n_missing} of {len(keys)} rows; every row needs "
                             "a time to be put in order")
    if keys.nunique() < 2:
        raise TimeOrderError(f"time column {name!r} holds a single value ({str(s.iloc[0])!r}), so no row is earlier "
                             f"than another: name a column that orders the rows, or leave time_column out")
    return keys.rename(name)
