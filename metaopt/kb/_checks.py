"""Content checks of the three KB tables: schema, keys, allowed values, ranges, references, conflicts.

Kept apart from :class:`~metaopt.kb.KnowledgeBase` because every path into a KB (load, save,
merge, compiling a build) runs them, and a KB that fails them must never be written.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from metaopt.exceptions import KnowledgeBaseError
from metaopt.kb import _schema as S

#: columns that must agree where two evaluations / tasks share a key
EVAL_COMPARE = ["status"] + list(S.METRIC_NAMES)
TASK_IDENTITY = ["kind", "openml_data_id", "openml_task_id", "data_hash", "dataset_key"]


# ----------------------------------------------------------------------------------------------
# de-duplication and conflict checks


def _comparable(s: pd.Series) -> pd.Series:
    if pd.api.types.is_float_dtype(s):
        return s.round(9)
    if s.dtype == object:
        return s.map(lambda v: tuple(np.round(np.asarray(v, dtype=float), 9)) if isinstance(v, (list, np.ndarray))
                     else v)
    return s


def _canonical_json(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    try:
        return json.dumps(json.loads(text), sort_keys=True)
    except ValueError:
        return text


def dedupe(df: pd.DataFrame, table: str, compare: Iterable[str] | None = None, what: str = "") -> pd.DataFrame:
    """Drop rows repeating a key; raise :class:`KnowledgeBaseError` where repeats disagree."""
    key = list(S.KEYS[table])
    dup = df.duplicated(key, keep=False)
    if not dup.any():
        return df
    sub = df.loc[dup]
    cols = [c for c in (compare if compare is not None else df.columns) if c in df.columns and c not in key]
    bad: dict[tuple, list[str]] = {}
    for c in cols:
        vals = sub[c]
        if table == "configs" and c in ("params", "native_params"):
            vals = vals.map(_canonical_json)
        vals = _comparable(vals)
        n = pd.DataFrame({**{k: sub[k] for k in key}, "_v": vals}).groupby(key, dropna=False)["_v"].nunique(dropna=False)
        for k in n.index[n > 1]:
            bad.setdefault(k if isinstance(k, tuple) else (k,), []).append(c)
    if bad:
        shown = "; ".join(f"{'/'.join(map(str, k))} ({', '.join(v)})" for k, v in list(bad.items())[:5])
        raise KnowledgeBaseError(
            f"{what or table}: {len(bad)} duplicate {table} key(s) with conflicting values: {shown}")
    return df.drop_duplicates(key, keep="first").reset_index(drop=True)


# ----------------------------------------------------------------------------------------------
# validation


def validate_tables(tasks: pd.DataFrame, configs: pd.DataFrame, evaluations: pd.DataFrame,
                    deep: bool) -> None:
    """Raise :class:`KnowledgeBaseError` listing the problems of the three tables, if any.

    Per table first (columns, dtypes, keys, allowed values, ranges; ``deep`` parses the
    ``params`` JSON), then the references of evaluations to tasks and configurations.
    """
    problems: list[str] = []
    for table, df in (("tasks", tasks), ("configs", configs), ("evaluations", evaluations)):
        problems += _check_frame(df, table, deep)
    if problems:
        raise KnowledgeBaseError("invalid knowledge base: " + "; ".join(problems[:10])
                                 + (f" (+{len(problems) - 10} more)" if len(problems) > 10 else ""))
    t, c, e = tasks, configs, evaluations
    unknown_tasks = ~_isin(e["task_id"], t["task_id"])
    if unknown_tasks.any():
        problems.append(f"{int(unknown_tasks.sum())} evaluation(s) refer to unknown tasks, e.g. "
                        f"{e.loc[unknown_tasks, 'task_id'].iloc[0]!r}")
    unknown_cfg = ~_isin(_pair_key(e), _pair_key(c))
    if unknown_cfg.any():
        row = e.loc[unknown_cfg].iloc[0]
        problems.append(f"{int(unknown_cfg.sum())} evaluation(s) refer to unknown configs, e.g. "
                        f"{row['learner']}/{row['config_id']}")
    if problems:
        raise KnowledgeBaseError("invalid knowledge base: " + "; ".join(problems))


def _obj(s: pd.Series) -> np.ndarray:
    return s.to_numpy(dtype=object, na_value=None)


def _isin(s: pd.Series, values: pd.Series) -> pd.Series:
    """Fast ``s.isin(values)`` for large string columns (hash table on object arrays)."""
    return pd.Series(pd.Index(_obj(values)).get_indexer(_obj(s)) >= 0, index=s.index)


def _pair_key(df: pd.DataFrame) -> pd.Series:
    learner = _obj(df["learner"]).astype(str)
    cid = _obj(df["config_id"]).astype(str)
    return pd.Series(np.char.add(np.char.add(learner.astype("U"), "\x00"), cid.astype("U")).astype(object),
                     index=df.index)


def _is_stringish(s: pd.Series) -> bool:
    if pd.api.types.is_string_dtype(s.dtype):
        return True
    if s.dtype == object:
        v = s.dropna()
        return v.empty or bool(v.map(type).eq(str).all())
    return False


def _check_frame(df: pd.DataFrame, table: str, deep: bool) -> list[str]:
    fixed = S.FIXED_COLUMNS[table]
    missing = [c for c in fixed if c not in df.columns]
    if missing:
        return [f"{table}: missing columns {missing}"]
    problems = _check_dtypes(df, table)
    problems += _check_keys(df, table)
    problems += _check_values(df, table)
    if table == "configs" and deep:
        problems += _check_params_json(df)
    return problems


def _check_dtypes(df: pd.DataFrame, table: str) -> list[str]:
    """Unknown columns and columns whose dtype is not the schema's."""
    problems: list[str] = []
    fixed = S.FIXED_COLUMNS[table]
    extra = [c for c in df.columns if c not in fixed]
    if extra and table != "tasks":
        problems.append(f"{table}: unknown columns {extra[:5]}")
    for name, typ in fixed.items():
        s = df[name]
        if typ == S.STR:
            ok = _is_stringish(s) or s.isna().all()
        elif typ == S.INT:
            ok = pd.api.types.is_integer_dtype(s.dtype) or s.isna().all()
        elif typ == S.FLOAT:
            ok = pd.api.types.is_float_dtype(s.dtype)
        else:
            ok = s.dtype == object or s.isna().all()
        if not ok:
            problems.append(f"{table}.{name} has dtype {s.dtype}, expected {typ}")
    if table == "tasks":
        for c in extra:
            if not pd.api.types.is_float_dtype(df[c].dtype):
                problems.append(f"tasks meta-feature {c!r} has dtype {df[c].dtype}, expected float64")
    return problems


def _check_keys(df: pd.DataFrame, table: str) -> list[str]:
    """Missing required values and repeated keys."""
    problems: list[str] = []
    for name in S.REQUIRED[table]:
        n = int(df[name].isna().sum())
        if n:
            problems.append(f"{table}.{name} has {n} missing value(s)")
    key = list(S.KEYS[table])
    ndup = int(df.duplicated(key).sum())
    if ndup:
        first = df.loc[df.duplicated(key), key].iloc[0].tolist()
        problems.append(f"{table}: {ndup} duplicate key(s) {tuple(key)}, e.g. {tuple(first)}")
    return problems


def _check_values(df: pd.DataFrame, table: str) -> list[str]:
    """Allowed values of the categorical columns and ranges of the numeric ones."""
    problems: list[str] = []
    allowed = {"tasks": {"kind": S.TASK_KINDS, "source": S.TASK_SOURCES},
               "configs": {"origin": S.CONFIG_ORIGINS},
               "evaluations": {"status": S.STATUSES}}[table]
    for col, values in allowed.items():
        bad = df[col].notna() & ~df[col].isin(values)
        if bad.any():
            problems.append(f"{table}.{col} has value(s) {sorted(set(df.loc[bad, col]))[:5]} "
                            f"not in {list(values)}")
    if table == "tasks":
        for col in ("n_rows", "n_features"):
            if (df[col].dropna() < 0).any():
                problems.append(f"tasks.{col} has negative values")
    if table == "evaluations":
        problems += _check_evaluation_values(df)
    return problems


def _check_evaluation_values(df: pd.DataFrame) -> list[str]:
    problems: list[str] = []
    for m, (lo, hi, _) in S.METRICS.items():
        v = df[m]
        bad = v.notna() & ((v < lo - 1e-9) | (v > hi + 1e-9) | ~np.isfinite(v.fillna(0.0)))
        if bad.any():
            problems.append(f"evaluations.{m} has {int(bad.sum())} value(s) outside [{lo}, {hi}], e.g. "
                            f"{float(v[bad].iloc[0])!r}")
    ok = df["status"] == "ok"
    no_metric = ok & df[list(S.METRIC_NAMES)].isna().all(axis=1)
    if no_metric.any():
        problems.append(f"evaluations: {int(no_metric.sum())} ok row(s) without any metric value")
    for col in ("fit_time_s", "predict_time_s", "n_estimators_used"):
        if (df[col].dropna() < 0).any():
            problems.append(f"evaluations.{col} has negative values")
    if (df["n_folds"].dropna() < 1).any():
        problems.append("evaluations.n_folds must be >= 1")
    return problems


def _check_params_json(df: pd.DataFrame) -> list[str]:
    """Every ``params`` (and present ``native_params``) is a JSON object; first failure per column."""
    problems: list[str] = []
    for col, required in (("params", True), ("native_params", False)):
        for i, text in df[col].items():
            if text is None or (not required and pd.isna(text)):
                continue
            try:
                obj = json.loads(text)
            except (TypeError, ValueError):
                problems.append(f"configs.{col} of {df.at[i, 'learner']}/{df.at[i, 'config_id']} is not JSON")
                break
            if not isinstance(obj, dict):
                problems.append(f"configs.{col} of {df.at[i, 'learner']}/{df.at[i, 'config_id']} "
                                "is not a JSON object")
                break
    return problems
