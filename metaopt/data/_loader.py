"""Turn files, frames and arrays into a :class:`Dataset` (minimal first version)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from metaopt.data._dataset import Dataset
from metaopt.exceptions import DataFileError, TargetError


def _read_arff(path: Path) -> pd.DataFrame:
    import arff

    with open(path, encoding="utf-8", errors="replace") as fh:
        obj = arff.load(fh)
    cols = [a[0] for a in obj["attributes"]]
    df = pd.DataFrame(obj["data"], columns=cols)
    for name, typ in obj["attributes"]:
        if isinstance(typ, list):
            df[name] = pd.Categorical(df[name], categories=[str(t) for t in typ])
        elif str(typ).upper() in ("NUMERIC", "REAL", "INTEGER"):
            df[name] = pd.to_numeric(df[name], errors="coerce").astype("float64")
    return df


def _normalise_features(X: pd.DataFrame) -> pd.DataFrame:
    out = {}
    for c in X.columns:
        s = X[c]
        if isinstance(s.dtype, pd.CategoricalDtype):
            out[str(c)] = s
        elif pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
            out[str(c)] = s.astype("float64")
        else:
            out[str(c)] = s.astype("category")
    return pd.DataFrame(out, index=X.index)


def _infer_kind(y: pd.Series) -> str:
    if isinstance(y.dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(y):
        return "binary" if y.nunique() == 2 else "multiclass"
    return "binary" if y.nunique() == 2 else "regression"


def as_dataset(X: Any, y: Any = None, *, target: str | None = None, kind: str | None = None,
               name: str = "data") -> Dataset:
    """Validate ``X``/``y`` (or a frame with a ``target`` column) into a :class:`Dataset`."""
    if isinstance(X, Dataset):
        return X
    if y is None:
        if target is None:
            raise TargetError("pass y or target=")
        frame = pd.DataFrame(X)
        if target not in frame.columns:
            raise TargetError(f"unknown target {target!r}")
        y = frame[target]
        X = frame.drop(columns=[target])
    X = pd.DataFrame(X)
    X.columns = [str(c) for c in X.columns]
    y = pd.Series(np.asarray(y) if not isinstance(y, pd.Series) else y.to_numpy(), index=X.index,
                  name=target or "target")
    keep = y.notna().to_numpy()
    X, y = X.loc[keep], y.loc[keep]
    kind = kind or _infer_kind(y)
    y = y.astype("category") if kind != "regression" else y.astype("float64")
    return Dataset(X=_normalise_features(X), y=y, kind=kind, name=name, target=target or "target")


def load_data(source: Any, target: str | None = None, *, kind: str | None = None,
              name: str | None = None) -> Dataset:
    """Load a file path (ARFF/CSV), DataFrame or Dataset into a :class:`Dataset`."""
    if isinstance(source, (Dataset, pd.DataFrame)):
        return as_dataset(source, target=target, kind=kind, name=name or "data")
    path = Path(source)
    if not path.exists():
        raise DataFileError(f"file not found: {path}")
    df = _read_arff(path) if path.suffix.lower() == ".arff" else pd.read_csv(path)
    if target is None:
        target = str(df.columns[-1])
    return as_dataset(df, target=target, kind=kind, name=name or path.stem)
