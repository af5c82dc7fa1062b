"""Fitted meta-models on disk, without pickle: JSON + NumPy arrays + LightGBM model text.

:func:`encode` turns a fitted object graph (:class:`~metaopt.metamodel.MetaoptModel`,
:class:`~metaopt.metamodel.FitTimeModel`, their :class:`ScoreMatrix`, scalers,
portfolios, the surrogate's trees) into a JSON-able tree plus a dict of NumPy
arrays; :func:`decode` rebuilds it. Only the classes in :data:`_CLASSES` are
rebuilt (no arbitrary imports or code from a file), arrays are read with
``allow_pickle=False``, frames with mixed dtypes travel as Arrow IPC streams
(pandas metadata is JSON), the surrogate's models as LightGBM's model text.

:func:`save_entry` / :func:`load_entry` keep one entry in one ``.npz`` file of the
cache directory (``$METAOPT_CACHE_DIR``, else ``$XDG_CACHE_HOME/metaopt``, else
``~/.cache/metaopt``): written to a temporary file and renamed into place, read
back only if the key stored inside it equals the expected one. Every failure
(unwritable directory, truncated or foreign file, a format of another version)
makes :func:`save_entry` do nothing and :func:`load_entry` return ``None``: the
caller rebuilds, it never sees an error.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

CACHE_ENV = "METAOPT_CACHE_DIR"
#: bump when the encoding changes
FORMAT = 1
_META = "__meta__"


# ----------------------------------------------------------------------------------------------
# where


def cache_dir() -> Path:
    """``$METAOPT_CACHE_DIR``, else ``$XDG_CACHE_HOME/metaopt``, else ``~/.cache/metaopt``."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg and os.path.isabs(os.path.expanduser(xdg)) else Path.home() / ".cache"
    return base / "metaopt"


_fingerprint: str | None = None


def code_fingerprint(root: Path | None = None) -> str:
    """sha256 of every ``.py`` file of the installed metaopt package (or ``root``): paths and contents.

    Why the whole package: the fitted state depends on code spread over several
    packages (KB loading, score normalisation, the meta-models), and an editable
    install changes without a version bump.  Hashing all of it (about 0.6 MB, a few
    milliseconds) keys the cache by the code's content, so moving or adding a module
    can never leave a stale entry in use; any edit only costs one refit.
    """
    global _fingerprint
    if root is not None:
        return _hash_tree(Path(root))
    if _fingerprint is None:
        _fingerprint = _hash_tree(Path(__file__).resolve().parent.parent)
    return _fingerprint


def _hash_tree(root: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(root.rglob("*.py")):
        try:
            data = f.read_bytes()
        except OSError:
            data = b""
        h.update(f.relative_to(root).as_posix().encode() + b"\0" + data + b"\0")
    return h.hexdigest()


def entry_path(key: dict, prefix: str = "recommender") -> Path:
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:32]
    return cache_dir() / f"{prefix}-{digest}.npz"


def cache_key(what: str, **fields: Any) -> dict:
    """The key of a cache entry: ``fields`` plus what makes it content-addressed (format, code)."""
    return {"what": what, "format": FORMAT, "code": code_fingerprint(), **fields}


def load_cached(key: dict) -> Any | None:
    """The object cached under ``key`` (:func:`cache_key`), or None (:func:`load_entry`)."""
    return load_entry(entry_path(key), key)


def save_cached(key: dict, tree: Any, arrays: dict[str, np.ndarray]) -> bool:
    """Cache an encoded object (:func:`canonical`'s tree and arrays) under ``key``; see :func:`save_entry`."""
    return save_entry(entry_path(key), key, tree, arrays)


# ----------------------------------------------------------------------------------------------
# object graph <-> JSON + arrays


def _classes() -> dict[str, type]:
    from metaopt.metamodel._feature_space import MetaFeatureSpace
    from metaopt.metamodel._fit_time import FitTimeModel
    from metaopt.metamodel._metaopt_model import MetaoptModel
    from metaopt.metamodel._neighbours import FlamlNearest, NearestTasks
    from metaopt.metamodel._normalise import ScoreMatrix
    from metaopt.metamodel._portfolio import ConditionedPortfolio, StaticPortfolio
    from metaopt.metamodel._surrogate import Surrogate

    return {c.__name__: c for c in (ScoreMatrix, MetaoptModel, FitTimeModel, NearestTasks, FlamlNearest,
                                    StaticPortfolio, ConditionedPortfolio, Surrogate, MetaFeatureSpace)}


class _Encoder:
    def __init__(self):
        self.arrays: dict[str, np.ndarray] = {}
        self.memo: dict[int, int] = {}
        self.objects: list[Any] = []  # keeps memoised objects alive while encoding
        self.classes = _classes()

    def array(self, a: np.ndarray) -> dict:
        a = np.asarray(a)
        if a.dtype == object:
            values = a.ravel().tolist()
            if not all(v is None or isinstance(v, (str, bool, int, float)) for v in values):
                raise TypeError("object array with non-scalar values")
            return {"__objarray__": values, "shape": list(a.shape)}
        if a.dtype.kind not in "biuf":
            raise TypeError(f"unsupported array dtype {a.dtype}")
        name = f"a{len(self.arrays)}"
        # keep the memory order: NumPy reductions (sum over an axis) round differently in C and F order
        fortran = a.ndim > 1 and a.flags.f_contiguous and not a.flags.c_contiguous
        self.arrays[name] = np.asfortranarray(a) if fortran else np.ascontiguousarray(a)
        return {"__array__": name}

    def text(self, s: str) -> dict:
        name = f"t{len(self.arrays)}"
        self.arrays[name] = np.frombuffer(s.encode("utf-8"), dtype=np.uint8)
        return {"__text__": name}

    def index(self, idx: pd.Index) -> dict:
        if isinstance(idx, pd.MultiIndex):
            raise TypeError("MultiIndex is not supported")
        if idx.dtype.kind in "biuf":
            values = self.array(idx.to_numpy())
        else:
            values = idx.tolist()
            if not all(v is None or isinstance(v, (str, bool, int, float)) for v in values):
                raise TypeError("index with non-scalar labels")
        return {"values": values, "dtype": str(idx.dtype), "name": idx.name}

    def frame(self, df: pd.DataFrame) -> dict:
        if not isinstance(df.columns, pd.MultiIndex) and len(df.columns) and \
                all(dt == np.float64 for dt in df.dtypes):
            # plain float frame: as a (sparse where mostly NaN) array
            a = df.to_numpy(dtype="float64")
            known = ~np.isnan(a)
            if known.mean() < 0.5:
                flat = np.flatnonzero(known)
                body = {"sparse": True, "shape": list(a.shape), "at": self.array(flat),
                        "values": self.array(a.ravel()[flat])}
            else:
                body = {"sparse": False, "values": self.array(a)}
            return {"__floatframe__": body, "index": self.index(df.index), "columns": self.index(df.columns)}
        # anything else: Arrow IPC (JSON pandas metadata); dict columns as JSON text
        import pyarrow as pa

        df = df.copy()
        json_cols, object_cols = [], []
        for c in df.columns:
            if df[c].dtype != object:
                continue
            if not isinstance(c, str):
                raise TypeError("object columns need string names")
            if df[c].map(lambda v: isinstance(v, dict)).any():
                if not df[c].map(lambda v: isinstance(v, dict) or v is None).all():
                    raise TypeError(f"column {c!r} mixes dicts and other values")
                df[c] = df[c].map(lambda v: None if v is None else json.dumps(v))
                json_cols.append(c)
            else:
                object_cols.append(c)
        sink = io.BytesIO()
        tbl = pa.Table.from_pandas(df, preserve_index=True)
        with pa.ipc.new_stream(sink, tbl.schema) as w:
            w.write_table(tbl)
        name = f"f{len(self.arrays)}"
        self.arrays[name] = np.frombuffer(sink.getvalue(), dtype=np.uint8)
        return {"__arrowframe__": name, "json_columns": json_cols, "object_columns": object_cols}

    def __call__(self, obj: Any) -> Any:
        from metaopt.metamodel._trees import TreeEnsemble

        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, (int, float)) and type(obj) in (int, float):
            return obj
        if isinstance(obj, np.generic):
            if obj.dtype.kind not in "biuf":
                raise TypeError(f"unsupported scalar {obj!r}")
            return {"__scalar__": obj.item(), "dtype": str(obj.dtype)}
        if isinstance(obj, np.ndarray):
            return self.array(obj)
        if isinstance(obj, list):
            return [self(v) for v in obj]
        if isinstance(obj, tuple):
            return {"__tuple__": [self(v) for v in obj]}
        if isinstance(obj, dict):
            if not all(type(k) is str for k in obj):
                raise TypeError("dict keys must be strings")
            return {"__dict__": {k: self(v) for k, v in obj.items()}}
        if isinstance(obj, pd.Index):
            return {"__index__": self.index(obj)}
        if isinstance(obj, pd.Series):
            if obj.dtype.kind not in "biuf":  # labels (e.g. the metric of each task): a list keeps the dtype
                values = obj.tolist()
                if all(v is None or isinstance(v, (str, bool, int, float)) for v in values):
                    return {"__labels__": {"values": values, "dtype": str(obj.dtype), "index": self.index(obj.index),
                                           "name": self(obj.name)}}
            return {"__series__": {"frame": self.frame(obj.to_frame(name="v")), "name": self(obj.name)}}
        if isinstance(obj, pd.DataFrame):
            return {"__frame__": self.frame(obj)}
        if isinstance(obj, TreeEnsemble):
            return {"__lightgbm_text__": self.text(obj.model_str)}
        cls = self.classes.get(type(obj).__name__)
        if cls is not None and type(obj) is cls:
            ref = self.memo.get(id(obj))
            if ref is not None:
                return {"__ref__": ref}
            self.memo[id(obj)] = ref = len(self.memo)
            self.objects.append(obj)
            return {"__object__": cls.__name__, "ref": ref, "state": self(dict(vars(obj)))}
        raise TypeError(f"cannot store {type(obj).__name__}")


class _Decoder:
    def __init__(self, arrays):
        self.arrays = arrays
        self.refs: dict[int, Any] = {}
        self.classes = _classes()

    def array(self, spec: dict) -> np.ndarray:
        if "__objarray__" in spec:
            out = np.empty(len(spec["__objarray__"]), dtype=object)
            out[:] = spec["__objarray__"]
            return out.reshape(spec["shape"])
        return self.arrays[spec["__array__"]]

    def index(self, spec: dict) -> pd.Index:
        values = spec["values"]
        values = self.array(values) if isinstance(values, dict) else values
        return pd.Index(values, dtype=spec["dtype"], name=spec["name"])

    def frame(self, spec: dict) -> pd.DataFrame:
        if "__floatframe__" in spec:
            body = spec["__floatframe__"]
            if body["sparse"]:
                a = np.full(body["shape"], np.nan)
                a.ravel()[self.array(body["at"])] = self.array(body["values"])
            else:
                a = self.array(body["values"])
            return pd.DataFrame(a, index=self.index(spec["index"]), columns=self.index(spec["columns"]))
        import pyarrow as pa

        buf = self.arrays[spec["__arrowframe__"]].tobytes()
        tbl = pa.ipc.open_stream(buf).read_all()
        df = tbl.to_pandas()
        for c in spec["json_columns"]:
            df[c] = pd.Series([None if v is None else json.loads(v) for v in tbl.column(c).to_pylist()],
                              index=df.index, dtype=object)
        for c in spec["object_columns"]:  # Arrow would make them str: back to object, None for null
            df[c] = pd.Series(tbl.column(c).to_pylist(), index=df.index, dtype=object)
        return df

    def __call__(self, obj: Any) -> Any:
        if obj is None or isinstance(obj, (bool, str, int, float)):
            return obj
        if isinstance(obj, list):
            return [self(v) for v in obj]
        if "__array__" in obj or "__objarray__" in obj:
            return self.array(obj)
        if "__scalar__" in obj:
            return np.dtype(obj["dtype"]).type(obj["__scalar__"])
        if "__tuple__" in obj:
            return tuple(self(v) for v in obj["__tuple__"])
        if "__dict__" in obj:
            return {k: self(v) for k, v in obj["__dict__"].items()}
        if "__index__" in obj:
            return self.index(obj["__index__"])
        if "__series__" in obj:
            s = self.frame(obj["__series__"]["frame"])["v"]
            s.name = self(obj["__series__"]["name"])
            return s
        if "__labels__" in obj:
            spec = obj["__labels__"]
            return pd.Series(spec["values"], index=self.index(spec["index"]), dtype=spec["dtype"],
                             name=self(spec["name"]))
        if "__frame__" in obj:
            return self.frame(obj["__frame__"])
        if "__lightgbm_text__" in obj:
            from metaopt.metamodel._trees import TreeEnsemble

            return TreeEnsemble(self.arrays[obj["__lightgbm_text__"]["__text__"]].tobytes().decode("utf-8"))
        if "__ref__" in obj:
            return self.refs[obj["__ref__"]]
        if "__object__" in obj:
            cls = self.classes[obj["__object__"]]  # KeyError for anything else: not ours
            inst = cls.__new__(cls)
            self.refs[obj["ref"]] = inst
            state = self(obj["state"])
            if cls.__name__ == "ScoreMatrix":
                for k, v in state.items():
                    object.__setattr__(inst, k, v)
            else:
                inst.__dict__.update(state)
            return inst
        raise ValueError(f"unknown encoded value {sorted(obj)[:3]}")


def encode(obj: Any) -> tuple[Any, dict[str, np.ndarray]]:
    """``obj`` as (JSON-able tree, arrays); raises ``TypeError`` for what it cannot store."""
    enc = _Encoder()
    tree = enc(obj)
    return tree, enc.arrays


def decode(tree: Any, arrays: dict[str, np.ndarray]) -> Any:
    """The object graph of :func:`encode`'s output (``arrays`` are used, not copied)."""
    return _Decoder(arrays)(tree)


def canonical(obj: Any) -> tuple[Any, Any, dict[str, np.ndarray]]:
    """(``obj`` rebuilt from its encoding, tree, arrays): what a later :func:`load_entry` returns.

    Using the rebuilt object in the process that fitted it makes its results
    identical, to the last bit, to those of a process that reads the entry
    (same array memory order, same frames, same parsed trees).
    """
    tree, arrays = encode(obj)
    tree = json.loads(json.dumps(tree))
    return decode(tree, arrays), tree, arrays


# ----------------------------------------------------------------------------------------------
# one cache entry = one .npz file


def save_entry(path: Path, key: dict, tree: Any, arrays: dict[str, np.ndarray]) -> bool:
    """Store an encoded object under ``key`` at ``path`` atomically; False (nothing written) on any failure."""
    tmp = None
    try:
        meta = json.dumps({"format": FORMAT, "key": key, "tree": tree}).encode("utf-8")
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **{_META: np.frombuffer(meta, dtype=np.uint8)}, **arrays)
        os.replace(tmp, path)
        tmp = None
        _prune(path)
        return True
    except Exception:  # noqa: BLE001 - a cache that cannot be written is skipped
        return False
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


#: entries of one kind kept in the cache directory (the most recently written)
KEEP = 8


def _prune(path: Path) -> None:
    """Remove all but the :data:`KEEP` newest entries with ``path``'s prefix (and old temporaries)."""
    import time

    prefix = path.name.rsplit("-", 1)[0] + "-"
    try:
        entries = []
        for p in path.parent.iterdir():
            if not p.name.startswith(prefix):
                continue
            st = p.stat()
            if p.name.endswith(".tmp"):
                if time.time() - st.st_mtime > 3600:  # left by a killed writer
                    p.unlink(missing_ok=True)
            elif p.name.endswith(".npz"):
                entries.append((st.st_mtime_ns, p))
        for _, p in sorted(entries, reverse=True)[KEEP:]:
            if p != path:
                p.unlink(missing_ok=True)
    except OSError:
        pass


def load_entry(path: Path, key: dict) -> Any | None:
    """The object stored at ``path`` if it is a readable entry for ``key``, else None."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            meta = json.loads(npz[_META].tobytes().decode("utf-8"))
            if meta.get("format") != FORMAT or meta.get("key") != json.loads(json.dumps(key)):
                return None
            arrays = {name: npz[name] for name in npz.files if name != _META}
        return decode(meta["tree"], arrays)
    except Exception:  # noqa: BLE001 - corrupt, truncated, foreign or stale: rebuild
        return None
