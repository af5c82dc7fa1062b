"""A saved metaopt model: fitted estimator + preprocessing + column schema + metadata.

Model files are Python pickles written with :mod:`joblib`.  **Loading a pickle
can run arbitrary code: load only model files you created yourself or got from
a source you trust.**  :func:`load_model` refuses any file that does not carry
metaopt's model marker after loading, but the marker is checked only once the
pickle has been read, so it is no protection against a malicious file.

At prediction time the input columns are checked against the training columns
(the schema): missing columns are named (with any unexpected ones, which may be
renamed ones), numeric training columns holding text are refused, and so are
numeric values beyond :data:`MAX_FEATURE_MAGNITUDE` (as in training); the target
column and columns dropped at training time (identifier-like columns) may be
present and are ignored, and so are other columns, with a warning that names them.

Load a model in Python with :func:`load_model` (also ``metaopt.load_model``):
``joblib.load`` returns the file's wrapper dict (marker, format version, the
model under ``"model"``), not the model.
"""

from __future__ import annotations

import datetime as _dt
import os
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from metaopt.exceptions import DataError, MetaoptError

MODEL_MARKER = "metaopt-model"
MODEL_FORMAT_VERSION = 1

#: Largest magnitude of a numeric feature value that tuning and prediction accept.  scikit-learn's
#: trees compute in float32, where a larger value becomes inf and every fit fails.  Such values are
#: refused rather than clipped: they are nearly always placeholders (1e300) or unit errors, and
#: clipping would silently collapse all of them into one value, i.e. destroy the column.
MAX_FEATURE_MAGNITUDE = float(np.finfo(np.float32).max)

#: Reasons of dropped columns that identify rows (the default ID column of ``metaopt predict``).
ID_REASONS = ("id-like", "openml-row-id")


class ModelFileError(MetaoptError, ValueError):
    """A model file is missing, unreadable or not a metaopt model."""


class SchemaMismatchError(DataError):
    """Prediction data whose columns or column types do not match the training data."""


def check_feature_magnitude(X: pd.DataFrame, *, training: bool = True) -> None:
    """Refuse numeric values beyond :data:`MAX_FEATURE_MAGNITUDE` with one line naming the columns.

    Raises :class:`~metaopt.exceptions.DataError` (``training``) or
    :class:`SchemaMismatchError` (prediction data).
    """
    bad: list[str] = []
    for c in X.columns:
        s = X[c]
        if isinstance(s.dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(s.dtype) \
                or pd.api.types.is_bool_dtype(s.dtype):
            continue
        v = np.abs(s.to_numpy(dtype="float64", na_value=np.nan))
        with np.errstate(invalid="ignore"):
            big = v[np.isfinite(v) & (v > MAX_FEATURE_MAGNITUDE)]
        if big.size:
            bad.append(f"{str(c)!r} ({big.size} value(s), up to {big.max():.3g})")
    if not bad:
        return
    cols = "; ".join(bad[:3]) + (f"; +{len(bad) - 3} more column(s)" if len(bad) > 3 else "")
    head = f"values beyond +-{MAX_FEATURE_MAGNITUDE:.3g} in {cols}"
    if training:
        raise DataError(f"{head}: too large for the learners (scikit-learn computes in float32) and "
                        f"usually a placeholder or a unit error; rescale the column (e.g. log, or divide "
                        f"by a power of ten) or leave those cells empty (missing)")
    raise SchemaMismatchError(f"{head}: the model was trained on values within that range; rescale the "
                              f"column as for training or leave those cells empty (missing)")


def _names(cols: list[str], k: int = 8) -> str:
    shown = ", ".join(repr(c) for c in cols[:k])
    return shown + (f" (+{len(cols) - k} more)" if len(cols) > k else "")


@dataclass
class ColumnSchema:
    """The training columns of a model.

    ``input_columns``: the feature columns of the training input (before
    datetime expansion and dropping of identifier-like columns), in order.
    ``features``: the columns the model uses, with ``types`` (``"numeric"`` or
    ``"category"``) and the training ``categories`` of nominal columns.
    """

    input_columns: list[str]
    features: list[str]
    types: dict[str, str]
    categories: dict[str, list[str]] = field(default_factory=dict)
    target: str = "target"
    dropped: dict[str, str] = field(default_factory=dict)
    datetime_columns: dict[str, list[str]] = field(default_factory=dict)

    @property
    def id_columns(self) -> list[str]:
        """Training columns dropped as row identifiers (``metaopt predict`` carries the first one)."""
        return [c for c, why in self.dropped.items() if why in ID_REASONS]

    @classmethod
    def from_dataset(cls, ds: Any) -> ColumnSchema:
        X = ds.X
        features = [str(c) for c in X.columns]
        types: dict[str, str] = {}
        cats: dict[str, list[str]] = {}
        for c in features:
            if isinstance(X[c].dtype, pd.CategoricalDtype):
                types[c] = "category"
                cats[c] = [str(v) for v in X[c].cat.categories]
            else:
                types[c] = "numeric"
        dt_cols = {str(k): [str(v) for v in vs] for k, vs in (ds.meta or {}).get("datetime_columns", {}).items()}
        expanded = {v for vs in dt_cols.values() for v in vs}
        inputs: list[str] = []
        for c in features:
            if c in expanded:
                orig = next(k for k, vs in dt_cols.items() if c in vs)
                if orig not in inputs:
                    inputs.append(orig)
            else:
                inputs.append(c)
        dropped = {str(k): str(v) for k, v in (ds.dropped or {}).items()}
        return cls(input_columns=inputs, features=features, types=types, categories=cats,
                   target=str(ds.target), dropped=dropped, datetime_columns=dt_cols)

    # ------------------------------------------------------------------ checking
    def prepare(self, X: Any) -> pd.DataFrame:
        """Check ``X`` against the schema and return the model's feature frame.

        Accepts the raw table (as read from a file, with or without the target
        and dropped columns) or the already processed features.  Raises
        :class:`SchemaMismatchError` with a one-line message.
        """
        if not isinstance(X, pd.DataFrame):
            arr = np.asarray(X, dtype=object)
            if arr.ndim == 1:
                arr = arr.reshape(1, -1)
            if arr.ndim != 2 or arr.shape[1] != len(self.features):
                raise SchemaMismatchError(
                    f"expected {len(self.features)} feature columns, got an array of shape {arr.shape}")
            X = pd.DataFrame(arr, columns=self.features)
            return self._coerce(X)
        cols = [str(c) for c in X.columns]
        if len(set(cols)) != len(cols):
            dups = sorted({c for c in cols if cols.count(c) > 1})
            raise SchemaMismatchError(f"duplicate column names {_names(dups)}")
        if list(X.columns) != cols:
            X = X.copy(deep=False)
            X.columns = cols
        ignorable = set(self.dropped) | {self.target}
        present = set(cols) - ignorable
        if present == set(self.features) - ignorable and set(self.features) != set(self.input_columns):
            return self._coerce(X[self.features])  # processed features (datetimes already expanded)
        required = [c for c in self.input_columns if c not in ignorable]
        missing = [c for c in required if c not in present]
        extra = [c for c in cols if c not in ignorable and c not in set(self.input_columns)]
        if missing:  # unexpected columns too: they may be the missing ones, renamed
            parts = [f"missing column(s) {_names(missing)}"]
            if extra:
                parts.append(f"unexpected column(s) {_names(extra)}")
            raise SchemaMismatchError(
                "the data's columns do not match the model's training columns: " + "; ".join(parts)
                + f" (the model expects {len(required)} column(s): {_names(required, 6)})")
        if extra:  # new rows often carry bookkeeping columns; as AutoGluon and H2O, score them, and say so
            warnings.warn(f"column(s) the model was not trained on, ignored: {_names(extra)}", UserWarning,
                          stacklevel=3)
        frame = X[required]
        if self.datetime_columns:
            frame = self._expand_dates(frame)
        return self._coerce(frame)

    def _expand_dates(self, frame: pd.DataFrame) -> pd.DataFrame:
        from metaopt.data import normalise_features

        sub = frame[[c for c in self.datetime_columns if c in frame.columns]]
        norm, _, _, _ = normalise_features(sub, drop_id_like=False)
        out = frame.drop(columns=list(sub.columns))
        for orig, expanded in self.datetime_columns.items():
            for c in expanded:
                if c not in norm.columns:
                    raise SchemaMismatchError(
                        f"column {orig!r} held dates in the training data but its values here are not "
                        f"dates (cannot build {c!r})")
                out[c] = norm[c]
        return out

    def _coerce(self, frame: pd.DataFrame) -> pd.DataFrame:
        out: dict[str, pd.Series] = {}
        for c in self.features:
            s = frame[c]
            if self.types.get(c) == "numeric":
                out[c] = _to_numeric(c, s)
            else:
                out[c] = _to_category(s)
        frame = pd.DataFrame(out, index=frame.index)
        check_feature_magnitude(frame, training=False)
        self._warn_unseen(frame)
        return frame

    def _warn_unseen(self, frame: pd.DataFrame) -> None:
        """Warn of nominal values the training data never held: the fitted preprocessing reads them as missing
        (``metaopt.learners``), which a user scoring new rows should know (as scikit-learn's
        ``OneHotEncoder(handle_unknown="warn")`` says it)."""
        parts = []
        for c, cats in self.categories.items():
            col = frame[c] if c in frame.columns else None
            if col is None or not isinstance(col.dtype, pd.CategoricalDtype):
                continue
            known = set(cats)
            new = [v for v in col.cat.categories if str(v) not in known]  # levels, not rows: cheap on big data
            if new:
                parts.append(f"{c!r} ({int(col.isin(new).sum())} row(s), e.g. {str(new[0])!r})")
        if parts:
            warnings.warn("values not seen in training, predicted as missing: " + ", ".join(parts[:5])
                          + (f" (+{len(parts) - 5} more columns)" if len(parts) > 5 else ""), UserWarning,
                          stacklevel=6)


def _to_numeric(name: str, s: pd.Series) -> pd.Series:
    if pd.api.types.is_timedelta64_dtype(s.dtype):  # seconds, as metaopt.data turned them into features
        return pd.Series(s.dt.total_seconds().to_numpy(dtype="float64", na_value=np.nan), index=s.index)
    if isinstance(s.dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(s.dtype) \
            or pd.api.types.is_bool_dtype(s.dtype):
        obj = s.astype(object)
        if pd.api.types.is_bool_dtype(s.dtype):
            return pd.Series(obj.map(lambda v: np.nan if v is None or v is pd.NA else float(v)),
                             index=s.index, dtype="float64")
        text = obj.where(obj.notna()).map(lambda v: v if v is None or isinstance(v, float) else str(v).strip())
        text = text.where(text != "", None)
        num = pd.to_numeric(text, errors="coerce")
        bad = text.notna() & num.isna()
        if bad.any():
            example = text[bad].iloc[0]
            raise SchemaMismatchError(
                f"column {name!r} was numeric in the training data but holds non-numeric values here "
                f"(e.g. {example!r} in {int(bad.sum())} row(s))")
        return pd.Series(num.to_numpy(dtype="float64", na_value=np.nan), index=s.index)
    return pd.Series(s.to_numpy(dtype="float64", na_value=np.nan), index=s.index)


def _label(v: Any) -> Any:
    if v is None or v is pd.NA:
        return None
    if isinstance(v, (bool, np.bool_)):
        return "True" if v else "False"
    if isinstance(v, (float, np.floating)):
        if np.isnan(v):
            return None
        if float(v).is_integer():
            return str(int(v))
    return str(v)


def _to_category(s: pd.Series) -> pd.Series:
    vals = s.astype(object).map(_label)
    return pd.Series(pd.Categorical(vals), index=s.index)


class TunedModel:
    """A model fitted by :func:`metaopt.tuning.tune` on all training rows.

    ``predict`` / ``predict_proba`` take raw tables (the columns of the training
    data, checked against :attr:`schema`).  ``metadata`` holds the tuning
    facts (metric, CV score, default score, versions, creation time).
    """

    def __init__(self, fitted: Any, schema: ColumnSchema, *, learner: str, kind: str, params: dict[str, Any],
                 metadata: dict[str, Any] | None = None):
        self.fitted = fitted
        self.schema = schema
        self.learner = learner
        self.kind = kind
        self.params = dict(params)
        self.metadata = dict(metadata or {})

    @property
    def classes_(self) -> np.ndarray | None:
        return None if self.kind == "regression" else np.asarray(self.fitted.classes_)

    @property
    def feature_names(self) -> list[str]:
        return list(self.schema.input_columns)

    def prepare(self, X: Any) -> pd.DataFrame:
        return self.schema.prepare(X)

    def predict(self, X: Any) -> np.ndarray:
        return self.fitted.predict(self.prepare(X))

    def predict_proba(self, X: Any) -> np.ndarray:
        if self.kind == "regression":
            raise MetaoptError("predict_proba is only defined for classification models")
        return self.fitted.predict_proba(self.prepare(X))

    # ------------------------------------------------------------------ files
    def save(self, path: str | os.PathLike) -> Path:
        """Write the model to ``path`` (a joblib pickle; see the module warning)."""
        import joblib

        from metaopt import __version__

        path = check_output_path(path)
        payload = {"marker": MODEL_MARKER, "format_version": MODEL_FORMAT_VERSION,
                   "metaopt_version": __version__,
                   "saved_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                   "model": self}
        if path.exists() and not path.is_file():  # a device such as /dev/null: write in place
            target = path
        else:  # a temporary file renamed over the target: a failed save never leaves half a model
            target = _scratch_name(path)
        try:
            joblib.dump(payload, target, compress=3)
            if target != path:
                os.replace(target, path)
        except OSError as exc:
            raise ModelFileError(f"cannot write model file {str(path)!r}: {exc.strerror or exc}") from None
        finally:
            if target != path and target.exists():
                target.unlink()
        return path

    def __repr__(self) -> str:
        members = getattr(self.fitted, "members", None)
        learners = "+".join(dict.fromkeys(m.learner for m in members)) if members else self.learner
        what = f"ensemble of {len(members)} {learners}" if members else self.learner
        return (f"<TunedModel {what} ({self.kind}) on {len(self.schema.features)} features, "
                f"{self.metadata.get('metric')}={self.metadata.get('cv_score')}>")


def _scratch_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")


def check_output_path(path: str | os.PathLike) -> Path:
    """Refuse a model path that cannot be written, before a long search rather than after it.

    Tries what :meth:`TunedModel.save` will do (create a file next to the target; or open an
    existing non-regular target such as a device for writing) and leaves no file behind.  Raises
    :class:`ModelFileError` with a one-line message.
    """
    path = Path(path)
    parent = path.parent
    data_suffix = next((s for s in (".csv", ".tsv", ".parquet", ".pq", ".arff", ".xlsx", ".xls")
                        if path.name.lower().endswith((s, s + ".gz"))), None)
    if data_suffix:  # a model over a data file (the training data itself, even) is a mix-up, not a wish
        raise ModelFileError(f"cannot write model file {str(path)!r}: the name says {data_suffix[1:]} data, but a "
                             f"model file is a joblib pickle; use a name such as model.joblib (predictions to a "
                             f"file: metaopt predict MODEL DATA --output {path.name})")
    if path.is_dir():
        raise ModelFileError(f"cannot write model file {str(path)!r}: it is a directory; give a file name "
                             f"such as model.joblib")
    if not parent.exists():
        raise ModelFileError(f"cannot write model file {str(path)!r}: directory {str(parent)!r} does not exist")
    if not parent.is_dir():
        raise ModelFileError(f"cannot write model file {str(path)!r}: {str(parent)!r} is not a directory")
    try:
        if path.exists() and not path.is_file():
            with open(path, "ab"):  # opening for appending writes nothing
                pass
        else:
            probe = _scratch_name(path)
            os.close(os.open(probe, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
            probe.unlink()
    except OSError as exc:
        raise ModelFileError(f"cannot write model file {str(path)!r}: {exc.strerror or exc}; choose "
                             f"another path") from None
    return path


def load_model(path: str | os.PathLike) -> TunedModel:
    """Load a model written by :meth:`TunedModel.save`.

    **Security:** model files are pickles; loading one from an untrusted source
    can run arbitrary code.  Files that are not metaopt models are refused with
    :class:`ModelFileError` (after unpickling).
    """
    import joblib

    path = Path(path)
    if not path.exists():
        raise ModelFileError(f"model file {str(path)!r} not found")
    if path.is_dir():
        raise ModelFileError(f"{str(path)!r} is a directory, not a model file")
    try:
        payload = joblib.load(path)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means "not a model file"
        raise ModelFileError(f"{str(path)!r} is not a metaopt model file (cannot be unpickled: "
                             f"{type(exc).__name__})") from None
    if not isinstance(payload, dict) or payload.get("marker") != MODEL_MARKER:
        raise ModelFileError(f"{str(path)!r} is not a metaopt model file (no metaopt model marker)")
    version = payload.get("format_version")
    if version != MODEL_FORMAT_VERSION or not isinstance(payload.get("model"), TunedModel):
        raise ModelFileError(f"{str(path)!r} has model format {version!r}; this metaopt reads format "
                             f"{MODEL_FORMAT_VERSION}")
    return payload["model"]
