"""Where the trials' out-of-fold predictions live: an Optuna artifact store next to the study.

Every completed trial uploads its out-of-fold predictions (row positions and predictions, an
``.npz`` file) with :func:`optuna.artifacts.upload_artifact`; the artifact's id is a system attribute
of the trial, so every worker of a shared study finds every other worker's predictions through the
study itself.  Artifacts, not user attributes: a 10,000-row fold set is 40-400 KB per trial, which
would bloat every ``get_trials`` call of every worker and the journal file.  The files go to a
folder next to a file storage (``study.db.metaopt-oof/``), to ``METAOPT_OOF_DIR`` or a per-server
folder in the user's cache for a database server (workers on several machines: point
``METAOPT_OOF_DIR`` at a shared folder), and to a temporary folder for an in-memory study.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

#: the artifact file name of a trial's out-of-fold predictions
OOF_FILENAME = "metaopt-oof.npz"
#: the library default's out-of-fold predictions (a study artifact: the default is not a trial)
DEFAULT_OOF_FILENAME = "metaopt-default-oof.npz"
#: stored as float32 only where that keeps this share of the predictions' distinct values (:func:`compact`)
MIN_DISTINCT_KEPT = 0.99
#: environment variable: the folder of the out-of-fold predictions, for every storage
OOF_DIR_ENV = "METAOPT_OOF_DIR"


def compact(pred: np.ndarray) -> np.ndarray:
    """``pred`` as float32 (half the files), unless that merges more than 1% of its distinct values: a near-constant
    but informative predictor (a strongly regularised linear model's probabilities can differ by 1e-9) would lose
    its ranking, and the ensemble would score it far below its trial's value; then float64."""
    pred = np.asarray(pred)
    small = pred.astype("float32")
    if np.unique(small).size < MIN_DISTINCT_KEPT * np.unique(pred).size:
        return pred.astype("float64")
    return small


class OofStore:
    """An :class:`optuna.artifacts.FileSystemArtifactStore` for the out-of-fold predictions of one study's
    storage; ``close()`` removes a temporary folder (in-memory studies)."""

    def __init__(self, base: Path, temporary: bool = False):
        from optuna.artifacts import FileSystemArtifactStore

        base.mkdir(parents=True, exist_ok=True)
        self.base, self.temporary = base, temporary
        self.store = FileSystemArtifactStore(base)
        self.missing = 0  #: candidates :meth:`load` found without predictions (not saved, or another machine's)

    @classmethod
    def for_storage(cls, storage: Any) -> OofStore:
        """The store of ``storage`` (an opened Optuna storage or None), by the rules of the module."""
        env = os.environ.get(OOF_DIR_ENV, "").strip()
        if env:
            return cls(Path(env).expanduser())
        place = _beside(storage)
        if place is not None:
            return cls(place)
        return cls(Path(tempfile.mkdtemp(prefix="metaopt-oof-")), temporary=True)

    def save(self, trial_or_study: Any, rows: np.ndarray, pred: np.ndarray, default: bool = False,
             storage: Any = None) -> str | None:
        """Upload ``(rows, pred)`` for a trial (or, ``default``, for the study's library default); None where the
        file system refuses it (a full disk): the ensemble leaves that candidate out, the search goes on."""
        from optuna.artifacts import upload_artifact

        tmp = None
        try:
            tmp = Path(tempfile.mkdtemp(prefix="metaopt-oof-up-"))
            path = tmp / (DEFAULT_OOF_FILENAME if default else OOF_FILENAME)
            np.savez_compressed(path, rows=rows.astype("int64"), pred=compact(pred))
            return upload_artifact(artifact_store=self.store, file_path=str(path), study_or_trial=trial_or_study,
                                   storage=storage)
        except OSError:  # a journal storage's own write on that disk fails next: an outage (tuning._storage)
            return None
        finally:
            if tmp is not None:
                shutil.rmtree(tmp, ignore_errors=True)

    def load(self, trial_or_study: Any, storage: Any, default: bool = False) -> tuple[np.ndarray, np.ndarray] | None:
        """The ``(rows, pred)`` uploaded for a trial or study; None when there is none or its file is gone
        (e.g. another machine's folder)."""
        from optuna.artifacts import get_all_artifact_meta

        name = DEFAULT_OOF_FILENAME if default else OOF_FILENAME
        metas = [m for m in get_all_artifact_meta(trial_or_study, storage=storage) if m.filename == name]
        for meta in reversed(metas):  # the latest upload (a retried default re-uploads)
            try:
                with self.store.open_reader(meta.artifact_id) as fh:
                    data = np.load(io.BytesIO(fh.read()))
                    return data["rows"], data["pred"]
            except Exception:  # noqa: BLE001 - a missing or damaged file: that candidate is left out
                continue
        self.missing += 1
        return None

    def close(self) -> None:
        if self.temporary:
            shutil.rmtree(self.base, ignore_errors=True)


def _beside(storage: Any) -> Path | None:
    """The folder for a storage: next to its file, or in the user's cache for a server; None: in-memory."""
    if storage is None:
        return None
    from metaopt.warmstart import unwrap_storage

    inner = unwrap_storage(storage)
    url = getattr(inner, "url", None)
    if isinstance(url, str):
        from sqlalchemy.engine import make_url

        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite":
            if not parsed.database or parsed.database == ":memory:":
                return None
            return Path(os.path.abspath(parsed.database) + ".metaopt-oof")
        key = hashlib.sha1(parsed.render_as_string(hide_password=True).encode()).hexdigest()[:16]
        cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        return cache / "metaopt" / "oof" / key
    path = getattr(getattr(inner, "_backend", None), "_file_path", None)
    if path:
        return Path(os.path.abspath(path) + ".metaopt-oof")
    return None
