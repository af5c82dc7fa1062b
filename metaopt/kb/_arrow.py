"""pandas <-> Arrow in the canonical KB schema: the one place where KB column types are enforced.

Every frame that enters a :class:`~metaopt.kb.KnowledgeBase` and every table written to or read
from Parquet passes through here, so a loosely typed column (object strings, floats holding
integers) either becomes the schema's type or raises :class:`KnowledgeBaseError`.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyarrow as pa

from metaopt.exceptions import KnowledgeBaseError
from metaopt.kb import _schema as S


def _str_array(s: pd.Series, name: str) -> pa.Array:
    values = s.to_numpy(dtype=object, na_value=None)
    bad = [v for v in values[:1000] if v is not None and not isinstance(v, str)]
    if bad:
        raise KnowledgeBaseError(f"column {name!r} must hold strings, found {type(bad[0]).__name__} {bad[0]!r}")
    try:
        return pa.array(values, type=pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise KnowledgeBaseError(f"column {name!r} must hold strings: {exc}") from None


def _int_array(s: pd.Series, name: str) -> pa.Array:
    try:
        s = pd.to_numeric(s, errors="raise") if s.dtype == object else s
        s = s.astype("Int64")
    except (TypeError, ValueError) as exc:
        raise KnowledgeBaseError(f"column {name!r} must hold integers: {exc}") from None
    return pa.array(s, type=pa.int64(), from_pandas=True)


def _float_array(s: pd.Series, name: str) -> pa.Array:
    try:
        s = pd.to_numeric(s, errors="raise")
        v = s.to_numpy(dtype="float64", na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise KnowledgeBaseError(f"column {name!r} must hold numbers: {exc}") from None
    return pa.array(v, type=pa.float64(), from_pandas=True)


def _list_array(s: pd.Series, name: str) -> pa.Array:
    out: list[list[float] | None] = []
    for v in s.to_numpy(dtype=object):
        if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
            out.append(None)
        else:
            try:
                out.append([float(x) for x in v])
            except (TypeError, ValueError):
                raise KnowledgeBaseError(f"column {name!r} must hold lists of numbers, found {v!r}") from None
    return pa.array(out, type=S.FLOAT_LIST)


_CONVERTERS = {S.STR: _str_array, S.INT: _int_array, S.FLOAT: _float_array, S.FLOAT_LIST: _list_array}


def to_arrow(df: pd.DataFrame, table: str) -> pa.Table:
    """``df`` as an Arrow table in the canonical schema of ``table`` (raises on a mismatch)."""
    fixed = S.FIXED_COLUMNS[table]
    missing = [c for c in fixed if c not in df.columns]
    if missing:
        raise KnowledgeBaseError(f"{table}: missing columns {missing}")
    extra = S.meta_feature_columns(df.columns) if table == "tasks" else [c for c in df.columns if c not in fixed]
    if table != "tasks" and extra:
        raise KnowledgeBaseError(f"{table}: unknown columns {extra}")
    for c in extra:
        if not isinstance(c, str) or not c:
            raise KnowledgeBaseError(f"tasks: meta-feature column names must be strings, got {c!r}")
    schema = S.arrow_schema(table, list(df.columns))
    arrays = []
    for f in schema:
        s = df[f.name].reset_index(drop=True)
        arrays.append(_CONVERTERS[f.type](s, f"{table}.{f.name}"))
    return pa.Table.from_arrays(arrays, schema=schema)


def from_arrow(tbl: pa.Table) -> pd.DataFrame:
    """An Arrow table as a DataFrame: strings, ``Int64``, ``float64``, lists as arrays."""
    return tbl.to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get)


def normalise(df: pd.DataFrame, table: str) -> pd.DataFrame:
    """``df`` with the canonical columns and dtypes of ``table`` (fixed columns first)."""
    return from_arrow(to_arrow(df, table))


def empty_frame(table: str) -> pd.DataFrame:
    """A frame with no rows and the canonical columns of ``table``."""
    return from_arrow(S.arrow_schema(table).empty_table())


def check_arrow_schema(schema: pa.Schema, table: str, where: str) -> None:
    """Raise :class:`KnowledgeBaseError` unless ``schema`` is that of a metaopt ``table``."""
    fixed = S.FIXED_COLUMNS[table]
    names = schema.names
    missing = [c for c in fixed if c not in names]
    if missing:
        raise KnowledgeBaseError(
            f"{where} is not a metaopt {table} table (missing columns {missing[:8]}"
            f"{' ...' if len(missing) > 8 else ''}); wrong or foreign file")
    for name in names:
        typ = schema.field(name).type
        want = fixed.get(name)
        if want is None:
            if table != "tasks":
                raise KnowledgeBaseError(f"{where}: unknown column {name!r} (foreign or newer schema)")
            if not (pa.types.is_floating(typ) or pa.types.is_integer(typ) or pa.types.is_null(typ)):
                raise KnowledgeBaseError(f"{where}: meta-feature column {name!r} has type {typ}, expected double")
        elif not typ.equals(want) and not (pa.types.is_null(typ)):
            raise KnowledgeBaseError(f"{where}: column {name!r} has type {typ}, expected {want}")
