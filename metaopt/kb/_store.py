"""The knowledge base in memory (:class:`KnowledgeBase`) and on disk (Parquet + JSON).

Where the shipped KB is found (``KnowledgeBase.load()`` without a path), first hit wins:

1. the environment variable ``METAOPT_KB`` (a directory);
2. ``<repository>/metadata`` next to the ``metaopt`` package (source checkout and
   editable installs);
3. ``<prefix>/share/metaopt/metadata`` for ``sys.prefix``, the ``data`` install path
   and the user base (a wheel installed with ``[tool.setuptools.data-files]``).

A directory counts only if it holds a ``manifest.json``.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import shutil
import site
import sys
import sysconfig
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from metaopt._version import __version__
from metaopt.exceptions import ConfigError, KnowledgeBaseError
from metaopt.kb import _schema as S

_ENV_VAR = "METAOPT_KB"
_COMPRESSION = "zstd"


# ----------------------------------------------------------------------------------------------
# locating the shipped KB


def _candidate_paths() -> list[Path]:
    import metaopt

    pkg = Path(metaopt.__file__).resolve().parent
    out = [pkg.parent / "metadata"]
    prefixes = [sys.prefix, sysconfig.get_paths().get("data", sys.prefix)]
    try:
        prefixes.append(site.getuserbase())
    except Exception:  # pragma: no cover - site without user base
        pass
    for prefix in prefixes:
        p = Path(prefix) / "share" / "metaopt" / "metadata"
        if p not in out:
            out.append(p)
    return out


def default_kb_path() -> Path:
    """The directory of the shipped (or ``METAOPT_KB``-selected) knowledge base."""
    env = os.environ.get(_ENV_VAR)
    if env:
        return Path(env).expanduser()
    for cand in _candidate_paths():
        if (cand / S.MANIFEST_FILE).is_file():
            return cand
    raise KnowledgeBaseError(
        "no knowledge base found: set METAOPT_KB=<dir> or pass a path; looked in "
        + ", ".join(str(p) for p in _candidate_paths()))


# ----------------------------------------------------------------------------------------------
# pandas <-> arrow in the canonical schema


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
    return from_arrow(S.arrow_schema(table).empty_table())


def _check_arrow_schema(schema: pa.Schema, table: str, where: str) -> None:
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


def _dedupe(df: pd.DataFrame, table: str, compare: Iterable[str] | None = None, what: str = "") -> pd.DataFrame:
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


_EVAL_COMPARE = ["status"] + list(S.METRIC_NAMES)
_TASK_IDENTITY = ["kind", "openml_data_id", "openml_task_id", "data_hash", "dataset_key"]


# ----------------------------------------------------------------------------------------------
# the knowledge base


def _now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class KnowledgeBase:
    """Tasks, configurations and evaluations (three DataFrames) plus a manifest dict.

    Build one with :meth:`from_frames` (normalises dtypes), :meth:`load` or
    :meth:`empty`; combine with :meth:`merge`; write with :meth:`save`.
    """

    tasks: pd.DataFrame
    configs: pd.DataFrame
    evaluations: pd.DataFrame
    manifest: dict = field(default_factory=dict)
    path: Path | None = None

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def empty(cls) -> KnowledgeBase:
        return cls(empty_frame("tasks"), empty_frame("configs"), empty_frame("evaluations"),
                   {"schema_version": S.SCHEMA_VERSION, "sources": []})

    @classmethod
    def from_frames(cls, tasks: pd.DataFrame | None = None, configs: pd.DataFrame | None = None,
                    evaluations: pd.DataFrame | None = None, sources: list[dict] | None = None,
                    command: str | None = None) -> KnowledgeBase:
        """A KB from (possibly loosely typed) frames, normalised to the schema."""
        t = normalise(tasks, "tasks") if tasks is not None else empty_frame("tasks")
        c = normalise(configs, "configs") if configs is not None else empty_frame("configs")
        e = normalise(evaluations, "evaluations") if evaluations is not None else empty_frame("evaluations")
        manifest = {"schema_version": S.SCHEMA_VERSION, "sources": list(sources or [])}
        if command:
            manifest["command"] = command
        return cls(t, c, e, manifest)

    # -- properties -----------------------------------------------------------------------
    @property
    def sources(self) -> list[dict]:
        return list(self.manifest.get("sources", []))

    @property
    def learners(self) -> list[str]:
        return sorted(set(self.configs["learner"].dropna()))

    def meta_feature_names(self) -> list[str]:
        return S.meta_feature_columns(self.tasks.columns)

    # -- loading --------------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | os.PathLike | None = None, *, validate: bool = True,
             verify_checksums: bool = True) -> KnowledgeBase:
        """Read a KB directory (default: :func:`default_kb_path`).

        Raises :class:`KnowledgeBaseError` with the reason for a missing directory or
        file, bad JSON, a foreign ``schema_version``, an unreadable or foreign Parquet
        file, a checksum mismatch (modified file or interrupted save) or invalid content.
        """
        root = Path(path).expanduser() if path is not None else default_kb_path()
        if not root.exists():
            raise KnowledgeBaseError(f"no knowledge base at {root}: directory does not exist")
        if not root.is_dir():
            raise KnowledgeBaseError(f"{root} is not a knowledge-base directory")
        manifest = cls._read_manifest(root)
        frames = {}
        files = manifest.get("files") or {}
        for table, fname in S.TABLE_FILES.items():
            fpath = root / fname
            if not fpath.is_file():
                raise KnowledgeBaseError(f"knowledge base {root} is incomplete: {fname} is missing")
            data = fpath.read_bytes()
            try:
                # no Arrow thread pool (pre_buffer=False here, use_threads=False below): a pool thread that
                # drops the last reference to these Python-owned bytes while the interpreter exits aborts
                # the process ("terminate called without an active exception", seen after a KB error)
                pf = pq.ParquetFile(io.BytesIO(data), pre_buffer=False)
                schema = pf.schema_arrow
            except Exception as exc:  # noqa: BLE001 - any reader error means a damaged file
                raise KnowledgeBaseError(
                    f"{fpath} is damaged or not a Parquet file ({type(exc).__name__}: {exc}); "
                    f"{_rebuild_hint(manifest)}") from None
            _check_arrow_schema(schema, table, str(fpath))
            if verify_checksums and fname in files:
                if _sha256(data) != files[fname].get("sha256"):
                    raise KnowledgeBaseError(
                        f"{fpath} does not match the checksum in {S.MANIFEST_FILE} (modified, damaged, or "
                        f"left by an interrupted save); {_rebuild_hint(manifest)}")
            try:
                tbl = pf.read(use_threads=False)
            except Exception as exc:  # noqa: BLE001
                raise KnowledgeBaseError(f"{fpath} is damaged ({type(exc).__name__}: {exc}); "
                                         f"{_rebuild_hint(manifest)}") from None
            frames[table] = from_arrow(tbl)
        kb = cls(frames["tasks"], frames["configs"], frames["evaluations"], manifest, root)
        if validate:
            kb.validate(deep=False)
        return kb

    @staticmethod
    def _read_manifest(root: Path) -> dict:
        mpath = root / S.MANIFEST_FILE
        if not mpath.is_file():
            raise KnowledgeBaseError(f"{root} is not a metaopt knowledge base: {S.MANIFEST_FILE} is missing")
        try:
            manifest = json.loads(mpath.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise KnowledgeBaseError(f"{mpath} is not valid JSON ({exc})") from None
        if not isinstance(manifest, dict):
            raise KnowledgeBaseError(f"{mpath} must hold a JSON object")
        version = manifest.get("schema_version")
        if version != S.SCHEMA_VERSION:
            raise KnowledgeBaseError(
                f"{mpath}: schema_version {version!r} is not supported by metaopt {__version__} "
                f"(expects {S.SCHEMA_VERSION}); rebuild the knowledge base or upgrade metaopt")
        return manifest

    # -- validation -----------------------------------------------------------------------
    def validate(self, deep: bool = True) -> None:
        """Check columns, dtypes, keys, allowed values, references and metric ranges.

        ``deep`` also parses every ``params`` JSON string. Raises
        :class:`KnowledgeBaseError` listing the problems found.
        """
        problems: list[str] = []
        for table in ("tasks", "configs", "evaluations"):
            problems += _check_frame(getattr(self, table), table, deep)
        if problems:
            raise KnowledgeBaseError("invalid knowledge base: " + "; ".join(problems[:10])
                                     + (f" (+{len(problems) - 10} more)" if len(problems) > 10 else ""))
        t, c, e = self.tasks, self.configs, self.evaluations
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

    # -- saving ---------------------------------------------------------------------------
    def save(self, path: str | os.PathLike, *, command: str | None = None) -> Path:
        """Write the KB to directory ``path`` atomically; return the path.

        All files are first written to a temporary directory next to ``path``; they are
        then moved in with :func:`os.replace`, ``manifest.json`` last. The manifest holds
        each Parquet file's sha256, so a crash while moving leaves a directory that fails
        to load with a clear message instead of a KB that validates wrongly; a crash
        while writing leaves the previous KB untouched.
        """
        self.validate(deep=True)
        root = Path(path).expanduser()
        root.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}.tmp-", dir=root.parent))
        try:
            files = {}
            for table, fname in S.TABLE_FILES.items():
                tbl = to_arrow(getattr(self, table), table)
                tbl = tbl.replace_schema_metadata({"metaopt.kb.schema_version": str(S.SCHEMA_VERSION),
                                                   "metaopt.kb.table": table})
                buf = io.BytesIO()
                pq.write_table(tbl, buf, compression=_COMPRESSION)
                data = buf.getvalue()
                (tmp / fname).write_bytes(data)
                files[fname] = {"sha256": _sha256(data), "bytes": len(data), "rows": tbl.num_rows}
            manifest = self._build_manifest(files, command)
            (tmp / S.NOTICE_FILE).write_text(render_notice(manifest), encoding="utf-8")
            (tmp / S.MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, sort_keys=False) + "\n",
                                               encoding="utf-8")
            for fd in (tmp,):
                _fsync_dir(fd)
            root.mkdir(parents=True, exist_ok=True)
            for fname in (*S.TABLE_FILES.values(), S.NOTICE_FILE, S.MANIFEST_FILE):
                os.replace(tmp / fname, root / fname)
            _fsync_dir(root)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        self.manifest = manifest
        self.path = root
        return root

    def _build_manifest(self, files: dict, command: str | None) -> dict:
        old = self.manifest or {}
        return {
            "schema_version": S.SCHEMA_VERSION,
            "metaopt_version": __version__,
            "created_at": _now(),
            "counts": self.counts(),
            "sources": self.sources,
            "command": command if command is not None else old.get("command"),
            "files": files,
        }

    # -- combining ------------------------------------------------------------------------
    def merge(self, other: KnowledgeBase) -> KnowledgeBase:
        """A new KB with the rows of both; raises where the same key holds different values.

        Tasks with the same ``task_id`` are combined (missing values, e.g. meta-features,
        filled from the other), provided kind, OpenML ids, data hash and dataset key agree.
        """
        tasks = pd.concat([self.tasks, other.tasks], ignore_index=True, sort=False)
        dup = tasks.duplicated("task_id", keep=False)
        if dup.any():
            _dedupe(tasks.loc[dup], "tasks", compare=_TASK_IDENTITY, what="merge")
            tasks = tasks.groupby("task_id", sort=False, dropna=False).first().reset_index()
        configs = _dedupe(pd.concat([self.configs, other.configs], ignore_index=True),
                          "configs", compare=["params", "origin"], what="merge")
        evals = _dedupe(pd.concat([self.evaluations, other.evaluations], ignore_index=True),
                        "evaluations", compare=_EVAL_COMPARE, what="merge")
        sources = merge_sources(self.sources, other.sources)
        kb = KnowledgeBase.from_frames(tasks, configs, evals, sources)
        for k in ("command",):
            if k in self.manifest:
                kb.manifest[k] = self.manifest[k]
        return kb

    def only_sources(self, sources: Iterable[str]) -> KnowledgeBase:
        """The sub-KB of the evaluations from ``sources`` (and the tasks and configs they use)."""
        wanted = set(sources)
        unknown = wanted - set(self.evaluations["source"].unique())
        if unknown:
            raise KnowledgeBaseError(f"no evaluations from source(s) {sorted(unknown)}; the KB has "
                                     f"{sorted(self.evaluations['source'].unique())}")
        ev = self.evaluations[self.evaluations["source"].isin(wanted)]
        tasks = self.tasks[self.tasks["task_id"].isin(ev["task_id"])]
        keys = set(zip(ev["learner"], ev["config_id"]))
        cfg = self.configs[[k in keys for k in zip(self.configs["learner"], self.configs["config_id"])]]
        return KnowledgeBase.from_frames(tasks, cfg, ev, self.sources)

    # -- queries --------------------------------------------------------------------------
    def counts(self) -> dict:
        t, c, e = self.tasks, self.configs, self.evaluations
        per_learner = {}
        for learner in sorted(set(c["learner"]) | set(e["learner"])):
            el = e[e["learner"] == learner]
            per_learner[learner] = {
                "tasks": int(el["task_id"].nunique()),
                "configs": int((c["learner"] == learner).sum()),
                "evaluations": int(len(el)),
                "ok": int((el["status"] == "ok").sum()),
            }
        kind_of = t.set_index("task_id")["kind"]
        ek = e["task_id"].map(kind_of)
        per_kind = {}
        for kind in S.TASK_KINDS:
            mask = ek == kind
            per_kind[kind] = {"tasks": int((t["kind"] == kind).sum()), "evaluations": int(mask.sum()),
                              "ok": int((mask & (e["status"] == "ok")).sum())}
        per_source = {str(k): int(v) for k, v in e["source"].value_counts().sort_index().items()}
        return {"tasks": int(len(t)), "configs": int(len(c)), "evaluations": int(len(e)),
                "per_learner": per_learner, "per_kind": per_kind, "evaluations_per_source": per_source}

    def scores(self, learner: str, metric: str, *, source: str | None = None,
               kind: str | None = None) -> pd.DataFrame:
        """Task x config matrix of ``metric`` for ``learner`` (ok evaluations only).

        Rows are ``task_id``, columns ``config_id``; NaN where not evaluated. Where
        several sources evaluated the same pair their mean is taken (pass ``source``
        to pick one).
        """
        if metric not in S.METRICS:
            raise ConfigError(f"unknown metric {metric!r}; choose from {', '.join(S.METRIC_NAMES)}")
        e = self.evaluations
        mask = (e["learner"] == learner) & (e["status"] == "ok") & e[metric].notna()
        if source is not None:
            mask &= e["source"] == source
        if kind is not None:
            mask &= e["task_id"].isin(self.tasks.loc[self.tasks["kind"] == kind, "task_id"])
        sub = e.loc[mask, ["task_id", "config_id", metric]]
        if sub.empty:
            return pd.DataFrame(dtype="float64")
        out = sub.pivot_table(index="task_id", columns="config_id", values=metric, aggfunc="mean")
        out.columns.name = "config_id"
        return out.astype("float64")

    def meta_features(self, columns: Iterable[str] | None = None) -> pd.DataFrame:
        """Task x meta-feature frame (index ``task_id``; float64; NaN where unknown)."""
        cols = list(columns) if columns is not None else self.meta_feature_names()
        missing = [c for c in cols if c not in self.tasks.columns]
        if missing:
            raise KnowledgeBaseError(f"unknown meta-features {missing[:5]}")
        return self.tasks.set_index("task_id")[cols].astype("float64")

    def params(self, learner: str, config_id: str) -> dict:
        """The constructor parameters of one configuration."""
        row = self.configs[(self.configs["learner"] == learner) & (self.configs["config_id"] == config_id)]
        if row.empty:
            raise KnowledgeBaseError(f"unknown configuration {learner}/{config_id}")
        return json.loads(row["params"].iloc[0])


# ----------------------------------------------------------------------------------------------
# helpers


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def _rebuild_hint(manifest: dict) -> str:
    cmd = manifest.get("command")
    return f"rebuild it with: {cmd}" if cmd else "rebuild or restore the knowledge base"


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
    problems: list[str] = []
    fixed = S.FIXED_COLUMNS[table]
    missing = [c for c in fixed if c not in df.columns]
    if missing:
        return [f"{table}: missing columns {missing}"]
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
    for name in S.REQUIRED[table]:
        n = int(df[name].isna().sum())
        if n:
            problems.append(f"{table}.{name} has {n} missing value(s)")
    key = list(S.KEYS[table])
    ndup = int(df.duplicated(key).sum())
    if ndup:
        first = df.loc[df.duplicated(key), key].iloc[0].tolist()
        problems.append(f"{table}: {ndup} duplicate key(s) {tuple(key)}, e.g. {tuple(first)}")
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
    if table == "configs" and deep:
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


def merge_sources(a: list[dict], b: list[dict]) -> list[dict]:
    """Sources of ``a`` then those of ``b`` whose ``name`` is new."""
    out = [dict(s) for s in a]
    names = {s.get("name") for s in out}
    for s in b:
        if s.get("name") not in names:
            out.append(dict(s))
            names.add(s.get("name"))
    return out


def render_notice(manifest: dict) -> str:
    """The NOTICE text crediting every source in ``manifest`` with its licence."""
    lines = [
        "metaopt knowledge base - third-party data notice",
        "=" * 48,
        "",
        f"Created {manifest.get('created_at', '')} by metaopt {manifest.get('metaopt_version', __version__)}.",
        "The files in this directory (tasks.parquet, configs.parquet, evaluations.parquet,",
        "manifest.json) contain data derived from the sources below, under their licences.",
        "",
    ]
    for src in manifest.get("sources", []):
        lines.append(f"* {src.get('name')}: {src.get('description', '')}")
        for label, key in (("Licence", "licence"), ("Origin", "origin"), ("Commit", "commit"),
                           ("Citation", "citation"), ("Note", "note")):
            if src.get(key):
                lines.append(f"    {label}: {src[key]}")
        if src.get("files"):
            lines.append(f"    Files: {', '.join(map(str, src['files']))}")
        lines.append("")
    if manifest.get("command"):
        lines += ["Rebuild with:", f"    {manifest['command']}", ""]
    return "\n".join(lines)


def compile_parts(build_dir: str | os.PathLike) -> KnowledgeBase:
    """Combine the Parquet part files under ``build_dir`` into one :class:`KnowledgeBase`.

    Every ``*.parquet`` below ``build_dir`` (hidden paths skipped) is read and
    classified by its columns: ``protocol`` -> evaluations, ``params`` -> configs,
    ``dataset_key`` -> tasks. Exact repeats of a key are dropped; repeats that
    disagree raise :class:`KnowledgeBaseError`. An optional ``build_dir/sources.json``
    (a JSON list of source dicts, or an object with ``sources`` and ``command``)
    fills the manifest.
    """
    root = Path(build_dir)
    if not root.is_dir():
        raise KnowledgeBaseError(f"build directory {root} does not exist")
    parts: dict[str, list[pd.DataFrame]] = {"tasks": [], "configs": [], "evaluations": []}
    for f in sorted(root.rglob("*.parquet")):
        rel = f.relative_to(root)
        if any(p.startswith(".") for p in rel.parts):
            continue
        try:
            tbl = pq.read_table(f)
        except Exception as exc:  # noqa: BLE001
            raise KnowledgeBaseError(f"part file {f} is damaged ({type(exc).__name__}: {exc})") from None
        names = set(tbl.schema.names)
        if "protocol" in names:
            table = "evaluations"
        elif "params" in names:
            table = "configs"
        elif "dataset_key" in names:
            table = "tasks"
        else:
            raise KnowledgeBaseError(f"part file {f} is not a tasks, configs or evaluations part")
        _check_arrow_schema(tbl.schema, table, str(f))
        if tbl.num_rows:
            parts[table].append(from_arrow(tbl))
    frames = {}
    for table, dfs in parts.items():
        df = pd.concat(dfs, ignore_index=True, sort=False) if dfs else empty_frame(table)
        compare = {"configs": ["params", "origin", "native_params"], "evaluations": _EVAL_COMPARE}.get(table)
        frames[table] = _dedupe(df, table, compare=compare, what=f"compile_parts({root})")
    sources: list[dict] = []
    command = None
    meta = root / "sources.json"
    if meta.is_file():
        try:
            obj = json.loads(meta.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise KnowledgeBaseError(f"{meta} is not valid JSON ({exc})") from None
        if isinstance(obj, list):
            sources = obj
        elif isinstance(obj, dict):
            sources = list(obj.get("sources", []))
            command = obj.get("command")
    return KnowledgeBase.from_frames(frames["tasks"], frames["configs"], frames["evaluations"], sources, command)


def load_kb(path: str | os.PathLike | None = None) -> KnowledgeBase:
    """Shorthand for :meth:`KnowledgeBase.load`."""
    return KnowledgeBase.load(path)
