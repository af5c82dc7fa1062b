"""The feature-column rules: every input column becomes ``float64`` or a ``str``-levelled category.

Shared by training (:func:`metaopt.data.load_data`) and prediction
(:class:`metaopt.tuning.ColumnSchema`), so that a column is converted the same way both times.

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
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["normalise_features"]

# a name token that marks an identifier anywhere in the name
_ID_TOKENS = {"id", "ids", "identifier", "identification", "key", "index", "idx", "obs", "observation",
              "record", "case", "instance", "serial", "row", "rowid", "seq"}
# tokens that mark an identifier only as the last of at most 3 tokens ("Patient_No", "nr")
_ID_SUFFIX_TOKENS = {"no", "nr", "number", "num"}
# a row counter with a time-like name is a time index (a real feature), not an identifier
_TIME_TOKENS = {"year", "years", "yr", "month", "months", "day", "days", "date", "time", "week",
                "weeks", "period", "quarter", "hour", "hours", "minute", "season", "t"}


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
    out: dict[str, pd.Series] = {}
    datetime_cols: dict[str, list[str]] = {}
    taken = set(X.columns)
    bool_cols: list[str] = []
    for col in X.columns:
        new, what = _convert(col, X[col], taken)
        out.update(new)
        if what == "bool":
            bool_cols.append(col)
        elif what == "datetime":
            datetime_cols[col] = list(new)
    if datetime_cols:
        notes.append("datetime column(s) expanded to numeric features: " + "; ".join(
            f"{c} -> {', '.join(v)}" for c, v in datetime_cols.items()))
    expanded_names = {n for v in datetime_cols.values() for n in v}
    final, dropped, constant, empty = _screen(out, expanded_names, drop_id_like)
    if dropped:
        notes.append(f"dropped id-like column(s): {', '.join(k for k, v in dropped.items() if v == 'id-like')} "
                     f"(a distinct value in nearly every row, or consecutive integers: row identifiers, not "
                     f"features; load_data(..., drop_id_like=False) keeps them)")
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


def _convert(col: str, s: pd.Series, taken: set[str]) -> tuple[dict[str, pd.Series], str]:
    """The column(s) replacing ``s`` and what it was: ``"bool"``, ``"datetime"`` or ``""``."""
    dt = s.dtype
    if isinstance(dt, pd.CategoricalDtype):
        return {col: _to_nominal_str(s)}, ""
    if pd.api.types.is_bool_dtype(dt):
        return {col: _bool_to_nominal(s)}, "bool"
    if pd.api.types.is_datetime64_any_dtype(dt):
        return _expand_datetime(col, s, taken), "datetime"
    if pd.api.types.is_timedelta64_dtype(dt):
        return {col: pd.Series(s.dt.total_seconds().to_numpy(dtype="float64", na_value=np.nan),
                               index=s.index)}, ""
    if pd.api.types.is_numeric_dtype(dt) and not pd.api.types.is_complex_dtype(dt):
        return {col: pd.Series(s.to_numpy(dtype="float64", na_value=np.nan), index=s.index)}, ""
    return _convert_values(col, s, taken)


def _convert_values(col: str, s: pd.Series, taken: set[str]) -> tuple[dict[str, pd.Series], str]:
    """object / str / anything else: decide on the distinct values (fast), then convert."""
    present = s.dropna()
    uniq = pd.unique(present.to_numpy()) if len(present) else np.array([], dtype=object)
    if len(uniq) and all(isinstance(v, (bool, np.bool_)) for v in uniq):
        return {col: _bool_to_nominal(s)}, "bool"
    if len(uniq) and all(isinstance(v, (int, float, np.number)) and not isinstance(v, (bool, np.bool_))
                         for v in uniq):
        return {col: pd.to_numeric(s, errors="coerce").astype("float64")}, ""
    if len(uniq):
        text_u = pd.Series(uniq).astype("str").str.strip()
        if pd.to_numeric(text_u, errors="coerce").notna().all():
            return {col: pd.to_numeric(s.astype("str").str.strip().where(s.notna()),
                                       errors="coerce").astype("float64")}, ""
        parsed = _string_to_datetime(s, text_u)
        if parsed is not None:
            return _expand_datetime(col, parsed, taken), "datetime"
    if s.dtype == object and not all(isinstance(v, str) for v in uniq):
        s = s.astype("str").where(s.notna())
    return {col: s.astype("category")}, ""


def _screen(out: dict[str, pd.Series], expanded_names: set[str], drop_id_like: bool
            ) -> tuple[dict[str, pd.Series], dict[str, str], list[str], list[str]]:
    """``(kept columns, dropped id-like columns, constant columns, all-missing columns)``."""
    dropped: dict[str, str] = {}
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
    return final, dropped, constant, empty


def _bool_to_nominal(s: pd.Series) -> pd.Series:
    vals = s.astype("object")
    text = vals.map(lambda v: None if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v))
                    else ("True" if bool(v) else "False"))
    return pd.Series(pd.Categorical(text, categories=["False", "True"]), index=s.index)
