"""A dataset's content fingerprint: the knowledge base and the tuning studies key tasks by it.

Independent of names, sources, notes, level order and the pandas version, so the same data
loaded from a CSV, an ARFF file or OpenML gets the same key.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import pandas as pd

from metaopt.data._dataset import Dataset

__all__ = ["content_hash", "schema_hash"]


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


def schema_hash(dataset: Dataset) -> str:
    """A SHA-256 hex digest of a dataset's schema: task kind, target name and the set of feature names.

    Two versions of one table (last month's rows and this month's) share it where their content hashes
    differ: how the knowledge base recognises a user's earlier study on the same table. Column order
    does not count; values and types do not either (a refresh may read a column's type differently).
    """
    names = sorted(str(c) for c in dataset.X.columns)
    return hashlib.sha256("\0".join(["metaopt-schema-v1", dataset.kind, str(dataset.target), *names])
                          .encode("utf-8")).hexdigest()


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

