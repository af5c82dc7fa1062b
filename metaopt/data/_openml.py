"""``openml:<data id>`` and ``openml-task:<task id>`` sources, cache first.

Where the files are
-------------------
openml-python 0.15 keeps, under its *root cache directory* and a server part
(``org/openml/www`` for www.openml.org)::

    <root>/org/openml/www/datasets/<data id>/description.xml
                                            /features.xml
                                            /qualities.xml
                                            /dataset_<id>.pq  (or dataset.pq)  and/or  dataset.arff
    <root>/org/openml/www/tasks/<task id>/task.xml

The root is, in this order: the ``cache_dir=`` argument (``openml_cache=`` of
:func:`metaopt.load_data`), the ``METAOPT_OPENML_CACHE`` environment variable, or
openml-python's own setting (``openml.config.set_root_cache_directory``, its
``OPENML_CACHE_DIR`` variable, default ``~/.cache/openml``).
:func:`set_openml_cache` sets openml-python's root for both.

How it is read
--------------
The cached files are parsed **directly** (``description.xml`` for the name, the
default target, row-id and ignore attributes; ``features.xml`` for data types,
declared nominal values and ignore/row-id flags; ``task.xml`` for the data id,
target and task type; the data from Parquet when present, else ARFF through
metaopt's fast ARFF reader). Reasons: it never touches the network when the
files are there; it is much faster than openml-python's liac-arff + pickle
path; and openml-python's ``get_dataset`` deletes a dataset's whole cache
directory when any step of it fails (e.g. a download attempt while offline),
which would destroy a partially populated cache. openml-python *can* read such
a cache offline (the tests check it does, with ``download_data=True``), so the
two stay interchangeable.

Only when a needed file is missing is openml-python asked to download it
(``openml.datasets.get_dataset`` / ``openml.tasks.get_task``), unless downloads
are off: ``download=False`` or the environment variable
``METAOPT_OPENML_OFFLINE=1``. Failing that, :class:`~metaopt.exceptions.OpenMLDataError`.

As in openml-python's ``get_data()``, row-id and ignore attributes are removed
from the features (reported in ``Dataset.dropped`` as ``"openml-row-id"`` /
``"openml-ignore"``).
"""

from __future__ import annotations

import contextlib
import os
import re
import textwrap
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np
import pandas as pd

from metaopt.data._build import build_dataset
from metaopt.data._dataset import Dataset
from metaopt.exceptions import DataError, OpenMLDataError

ENV_CACHE = "METAOPT_OPENML_CACHE"
ENV_OFFLINE = "METAOPT_OPENML_OFFLINE"
_NS = "{http://openml.org/openml}"

__all__ = ["load_openml", "openml_cache_dir", "set_openml_cache", "read_description",
           "read_features", "read_task"]


# --------------------------------------------------------------------------- cache location


def set_openml_cache(root: str | Path) -> None:
    """Use ``root`` as openml-python's root cache directory (and so metaopt's)."""
    import openml

    openml.config.set_root_cache_directory(Path(root).expanduser())


def _root(cache_dir: str | Path | None) -> Path:
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    env = os.environ.get(ENV_CACHE)
    if env:
        return Path(env).expanduser()
    import openml

    return Path(openml.config._root_cache_directory).expanduser()


def openml_cache_dir(cache_dir: str | Path | None = None) -> Path:
    """The server-specific cache directory (``<root>/org/openml/www`` by default)."""
    import openml

    netloc = urlparse(openml.config.server).netloc or "www.openml.org"
    return _root(cache_dir).joinpath(*netloc.split(".")[::-1])


def _download_allowed(download: bool | None) -> bool:
    if download is not None:
        return bool(download)
    return os.environ.get(ENV_OFFLINE, "").strip().lower() not in ("1", "true", "yes", "on")


# --------------------------------------------------------------------------- XML parsing


def _text(el: ET.Element | None, tag: str) -> str | None:
    if el is None:
        return None
    found = el.find(_NS + tag)
    if found is None or found.text is None:
        return None
    return found.text.strip()


def _parse_xml(path: Path, what: str) -> ET.Element:
    try:
        return ET.parse(path).getroot()
    except (ET.ParseError, OSError) as exc:
        raise OpenMLDataError(f"cached OpenML {what} {path} is damaged ({exc}); delete it so it can be "
                              f"downloaded again") from exc


def _split_names(values: list[str]) -> list[str]:
    out: list[str] = []
    for v in values:
        out.extend(p.strip() for p in v.split(",") if p.strip())
    return out


def read_description(path: Path) -> dict[str, Any]:
    """Parse ``description.xml``: id, name, default targets, row-id and ignore attributes."""
    root = _parse_xml(path, "dataset description")
    if root.tag != _NS + "data_set_description":
        raise OpenMLDataError(f"{path} is not an OpenML dataset description; delete it")
    return {
        "id": int(_text(root, "id") or 0),
        "name": _text(root, "name") or "",
        "format": (_text(root, "format") or "").lower(),
        "default_target": _split_names([_text(root, "default_target_attribute") or ""]),
        "row_id": _split_names([e.text or "" for e in root.findall(_NS + "row_id_attribute")]),
        "ignore": _split_names([e.text or "" for e in root.findall(_NS + "ignore_attribute")]),
        "licence": _text(root, "licence"),
    }


def read_features(path: Path) -> list[dict[str, Any]]:
    """Parse ``features.xml`` into a list of dicts (index order)."""
    root = _parse_xml(path, "feature list")
    feats = []
    for el in root.findall(_NS + "feature"):
        feats.append({
            "index": int(_text(el, "index") or 0),
            "name": _text(el, "name") or "",
            "data_type": (_text(el, "data_type") or "").lower(),
            "nominal_values": [e.text or "" for e in el.findall(_NS + "nominal_value")],
            "is_target": (_text(el, "is_target") or "false").lower() == "true",
            "is_ignore": (_text(el, "is_ignore") or "false").lower() == "true",
            "is_row_identifier": (_text(el, "is_row_identifier") or "false").lower() == "true",
        })
    return sorted(feats, key=lambda f: f["index"])


def read_task(path: Path) -> dict[str, Any]:
    """Parse ``task.xml``: task id, type, data id and target."""
    root = _parse_xml(path, "task description")
    if root.tag != _NS + "task":
        raise OpenMLDataError(f"{path} is not an OpenML task description; delete it")
    data_id, target = None, None
    for inp in root.findall(_NS + "input"):
        if inp.get("name") == "source_data":
            ds = inp.find(_NS + "data_set")
            data_id = _text(ds, "data_set_id")
            target = _text(ds, "target_feature")
    if data_id is None:
        raise OpenMLDataError(f"{path} names no source dataset; delete it so it can be downloaded again")
    return {
        "id": int(_text(root, "task_id") or 0),
        "type_id": int(_text(root, "task_type_id") or 0),
        "type": _text(root, "task_type") or "",
        "data_id": int(data_id),
        "target": target or None,
    }


# --------------------------------------------------------------------------- files


def _data_file(did_dir: Path, did: int) -> Path | None:
    for cand in (f"dataset_{did}.pq", "dataset.pq", "dataset.arff"):
        p = did_dir / cand
        if p.is_file() and p.stat().st_size > 0:
            return p
    return None


@contextlib.contextmanager
def _cache_root(cache_dir: str | Path | None) -> Iterator[None]:
    """openml-python's cache root set to ours while downloading (the user's setting restored after)."""
    import openml

    old_root = openml.config._root_cache_directory
    try:
        openml.config.set_root_cache_directory(_root(cache_dir))
        yield
    finally:
        openml.config.set_root_cache_directory(old_root)


def _ensure_dataset_files(did: int, cache_dir: str | Path | None, download: bool | None) -> Path:
    did_dir = openml_cache_dir(cache_dir) / "datasets" / str(did)
    if (did_dir / "description.xml").is_file() and _data_file(did_dir, did) is not None:
        return did_dir
    if not _download_allowed(download):
        raise OpenMLDataError(f"OpenML dataset {did} is not in the cache {did_dir} (downloads are off); "
                              f"populate the cache or allow downloads")
    import openml

    try:
        with _cache_root(cache_dir):
            openml.datasets.get_dataset(did, download_data=True, download_features_meta_data=True,
                                        download_qualities=False)
    except Exception as exc:  # openml-python raises many types (server, connection, hash)
        detail = textwrap.shorten(str(exc).splitlines()[0], 120, placeholder=" ...") if str(exc) else ""
        raise OpenMLDataError(f"OpenML dataset {did} is not in the cache {did_dir} and could not be "
                              f"downloaded ({type(exc).__name__}: {detail}); check the connection or "
                              f"populate the cache") from exc
    if _data_file(did_dir, did) is None or not (did_dir / "description.xml").is_file():
        raise OpenMLDataError(f"OpenML dataset {did}: download finished but no data file is in {did_dir}")
    return did_dir


def _ensure_task_file(tid: int, cache_dir: str | Path | None, download: bool | None) -> Path:
    path = openml_cache_dir(cache_dir) / "tasks" / str(tid) / "task.xml"
    if path.is_file():
        return path
    if not _download_allowed(download):
        raise OpenMLDataError(f"OpenML task {tid} is not in the cache {path.parent} (downloads are off); "
                              f"populate the cache or allow downloads")
    import openml

    try:
        with _cache_root(cache_dir):
            openml.tasks.get_task(tid, download_splits=False, download_data=False)
    except Exception as exc:
        raise OpenMLDataError(f"OpenML task {tid} is not in the cache {path.parent} and could not be "
                              f"downloaded ({type(exc).__name__}); check the connection or populate "
                              f"the cache") from exc
    if not path.is_file():
        raise OpenMLDataError(f"OpenML task {tid}: download finished but {path} is missing")
    return path


def _label(v: Any) -> str | None:
    """A parquet cell of a nominal column as its ARFF label (``1.0`` -> ``"1"``)."""
    if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
        return None
    if isinstance(v, str):
        return v
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _apply_feature_types(frame: pd.DataFrame, feats: list[dict[str, Any]]) -> pd.DataFrame:
    """Give parquet columns the types declared in ``features.xml``."""
    out = {}
    by_name = {f["name"]: f for f in feats}
    for col in frame.columns:
        s = frame[col]
        f = by_name.get(col)
        if f is None:
            out[col] = s
            continue
        if f["data_type"] == "nominal":
            text = s.astype("object").map(_label)
            levels = list(dict.fromkeys(f["nominal_values"])) or sorted(text.dropna().unique())
            extra = [v for v in pd.unique(text.dropna()) if v not in set(levels)]
            out[col] = pd.Series(pd.Categorical(text, categories=levels + extra), index=s.index)
        elif f["data_type"] == "numeric":
            out[col] = pd.to_numeric(s, errors="coerce").astype("float64")
        elif f["data_type"] == "date":
            out[col] = pd.to_datetime(s, errors="coerce")
        else:
            out[col] = s
    return pd.DataFrame(out, index=frame.index)


def _read_cached_dataset(did_dir: Path, did: int) -> tuple[pd.DataFrame, dict[str, Any],
                                                            list[dict[str, Any]], list[str]]:
    from metaopt.data._readers import read_table

    desc = read_description(did_dir / "description.xml")
    feats = read_features(did_dir / "features.xml") if (did_dir / "features.xml").is_file() else []
    path = _data_file(did_dir, did)
    assert path is not None
    table = read_table(path)
    frame = table.frame
    if path.suffix == ".pq" and feats:
        frame = _apply_feature_types(frame, feats)
    return frame, desc, feats, list(table.notes)


# --------------------------------------------------------------------------- entry point


def _parse_spec(spec: str) -> tuple[str, int]:
    m = re.fullmatch(r"\s*(openml|openml-task)\s*:\s*(\d+)\s*", spec, flags=re.IGNORECASE)
    if not m:
        raise DataError(f"cannot read OpenML source {spec!r}; write openml:<data id> or "
                        f"openml-task:<task id>, e.g. openml:31")
    return m.group(1).lower(), int(m.group(2))


def load_openml(spec: str, *, target: Any = None, name: str | None = None,
                cache_dir: str | Path | None = None, download: bool | None = None,
                kind: str | None = None, drop_id_like: bool = True, min_rows: int = 10, groups: Any = None,
                time_column: str | None = None) -> Dataset:
    """Load ``openml:<data id>`` or ``openml-task:<task id>`` (cache first, see module doc); ``groups`` and
    ``time_column`` as :func:`metaopt.data.load_data`'s."""
    what, num = _parse_spec(spec)
    tid, kind_hint, task_target = None, None, None
    if what == "openml-task":
        task = read_task(_ensure_task_file(num, cache_dir, download))
        tid, did = num, task["data_id"]
        task_target = task["target"]
        ttype = task["type"].lower()
        if task["type_id"] == 1 or "classification" in ttype:
            kind_hint = "classification"
        elif task["type_id"] == 2 or "regression" in ttype:
            kind_hint = "regression"
        else:
            what_type = task["type"] or f"task of type {task['type_id']}"
            raise OpenMLDataError(f"OpenML task {tid} is a {what_type}; only supervised classification "
                                  f"and regression tasks are supported")
    else:
        did = num
    did_dir = _ensure_dataset_files(did, cache_dir, download)
    frame, desc, feats, notes = _read_cached_dataset(did_dir, did)

    dropped: dict[str, str] = {}
    row_ids = set(desc["row_id"]) | {f["name"] for f in feats if f["is_row_identifier"]}
    ignores = set(desc["ignore"]) | {f["name"] for f in feats if f["is_ignore"]}
    if target is not None:
        tname = target
    elif task_target:
        tname = task_target
    elif desc["default_target"]:
        tname = desc["default_target"][0]
        if len(desc["default_target"]) > 1:
            notes.append(f"OpenML dataset {did} has several default targets "
                         f"({', '.join(desc['default_target'])}): using {tname!r}")
    else:
        candidates = [c for c in frame.columns if c not in row_ids | ignores]
        tname = candidates[-1]
        notes.append(f"OpenML dataset {did} declares no default target: using the last column {tname!r}")
    drop = []
    for col in frame.columns:
        if col == tname:
            continue
        if col in row_ids:
            dropped[col] = "openml-row-id"
            drop.append(col)
        elif col in ignores:
            dropped[col] = "openml-ignore"
            drop.append(col)
    if drop:
        frame = frame.drop(columns=drop)
        notes.append(f"dropped OpenML row-id/ignore attribute(s): {', '.join(drop)}")
    ds = build_dataset(frame, target=tname, y=None, kind=kind, name=name or desc["name"] or f"openml-{did}",
                       source=spec.strip(), drop_id_like=drop_id_like, min_rows=min_rows,
                       where=f"OpenML dataset {did}", pre_notes=notes, kind_hint=kind_hint,
                       pre_dropped=dropped, openml_data_id=did, openml_task_id=tid, groups=groups,
                       time_column=time_column)
    ds.meta["format"] = "openml"
    ds.meta["openml_cache_dir"] = str(did_dir)
    return ds
