"""``metaopt.recommend``: which learner and configurations to try first on a new dataset.

>>> recs = metaopt.recommend(df, target="class", k=5)          # doctest: +SKIP
>>> recs[0].learner, recs[0].params, recs[0].predicted_score   # doctest: +SKIP

Fitted meta-models are cached per knowledge base (keyed by the KB object, or by
its directory and manifest checksums), so only the first call per KB pays for
fitting; later calls cost the meta-features plus a few milliseconds.

For a KB read from a directory the fitted state is also cached on disk (see
:mod:`metaopt.metamodel._persist`: JSON, NumPy arrays and LightGBM model text, no
pickle), keyed by the manifest's file checksums, the metaopt version and source,
and ``learner``; a new process (``metaopt recommend`` on the command line) then
reads that entry instead of loading the KB and fitting. Set ``METAOPT_CACHE_DIR``
to move it (default ``~/.cache/metaopt``, ``XDG_CACHE_HOME`` respected) or to an
unwritable path to do without; a damaged or stale entry is rebuilt.
"""

from __future__ import annotations

import contextlib
import numbers
import threading
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from metaopt.exceptions import ConfigError, KnowledgeBaseError

#: meta-feature groups computed for a new task (landmarkers are too slow for an interactive call)
QUERY_GROUPS = ("general", "statistical", "info-theory")


@dataclass
class Recommendation:
    """One configuration to try, with what metaopt expects of it and why."""

    rank: int
    learner: str
    config_id: str
    params: dict[str, Any]
    predicted_score: float
    predicted_score_std: float
    predicted_fit_time_s: float | None
    similar_tasks: list[dict[str, Any]] = field(default_factory=list)
    rationale: str = ""
    far_from_kb: bool = False

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for key in ("predicted_score", "predicted_score_std", "predicted_fit_time_s"):
            v = d[key]
            d[key] = None if v is None or not np.isfinite(v) else round(float(v), 6)
        return d


class Recommender:
    """A fitted meta-model for one KB and learner choice (see :func:`recommend`)."""

    def __init__(self, kb, learner: str = "auto"):
        from metaopt.metamodel._normalise import build_score_matrix, pool_kind
        from metaopt.metamodel._select import FitTimeModel, MetaoptModel

        learners = kb.learners
        if not learners:
            raise KnowledgeBaseError("the knowledge base holds no configurations")
        if learner != "auto" and learner not in learners:
            raise ConfigError(f"the knowledge base has no configurations of learner {learner!r} "
                              f"(has: {', '.join(learners)}; or use learner='auto')")
        if learner == "auto":
            dense = [lr for lr in learners if _has_dense_pool(kb, lr)]
            learners = dense or learners
        else:
            learners = [learner]
        sm = build_score_matrix(kb, learners)
        if sm.pool:
            if {pool_kind(n) for n in sm.pool} >= set(sm.tasks["kind"]):
                # every kind is recommended from a pool: drop the sparse per-task histories
                # (openml-pimp's 47,000 one-task configurations), which no pool ranks
                sm = sm.only_configs(sm.pool_configs)
            sm = sm.pooled_tasks()
        self.learner = learner
        self.learners = learners
        self.sm = sm
        self.model = MetaoptModel().fit(sm)
        self.fit_time = FitTimeModel().fit(sm)
        self._encoded = self._canonicalise()

    # -- the on-disk cache (metaopt.metamodel._persist) ----------------------------------------
    _STATE = ("learner", "learners", "sm", "model", "fit_time")

    def _state(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._STATE}

    def _canonicalise(self) -> tuple | None:
        """Switch to the state as the disk cache stores it (so cached and fresh results are identical).

        Returns the (tree, arrays) encoding for :func:`get_recommender` to store, or
        None where the state cannot be encoded (then nothing is cached).
        """
        from metaopt.metamodel._persist import canonical

        try:
            state, tree, arrays = canonical(self._state())
        except Exception:  # noqa: BLE001 - not storable: keep the fitted state, cache nothing
            return None
        for name in self._STATE:
            setattr(self, name, state[name])
        return tree, arrays

    @classmethod
    def _from_state(cls, state: Any) -> Recommender | None:
        if not isinstance(state, dict) or set(state) != set(cls._STATE):
            return None
        rec = cls.__new__(cls)
        for name in cls._STATE:
            setattr(rec, name, state[name])
        return rec

    def recommend(self, kind: str, meta: dict[str, float], n_rows: int, n_features: int, n_classes: int,
                  k: int = 5, time_budget: float | None = None) -> list[Recommendation]:
        from metaopt.metamodel._base import Query, candidates

        query = Query(kind, meta, self.sm.pool_for(kind))
        try:
            cand = candidates(self.sm, kind, query.pool)
        except KnowledgeBaseError:
            raise KnowledgeBaseError(f"the knowledge base has no {kind} tasks for "
                                     f"{', '.join(self.learners)}; cannot recommend") from None
        far = self.model.is_far(query)
        dist = self.model.nearest_distance(query)
        ranked = self.model.rank(query, len(cand) if time_budget is not None else k)
        times = self.fit_time.predict(ranked, n_rows, n_features, n_classes)
        note = ""
        if time_budget is not None:
            fits = [key for key in ranked if not np.isfinite(times[key]) or times[key] <= time_budget]
            if fits:
                ranked = fits
            else:
                ranked = list(times.sort_values().index)
                note = (f" No configuration is predicted to fit within {time_budget:g} s; these are the "
                        "fastest ones.")
        ranked = ranked[:k]
        mean, std = self.model.predict(query)
        # the similar tasks reported are those whose scores on these candidates inform the ranking
        informed = self.sm.norm[cand].notna().any(axis=1).to_numpy()
        similar = [{"task_id": t, "name": n, "distance": round(d, 4)}
                   for t, n, d in self.model.nn_.nearest(query, 3, informed)]
        sim_text = ", ".join(f"{s['name']} ({s['distance']:.2f})" for s in similar) or "none"
        out = []
        for i, key in enumerate(ranked):
            cfg = self.sm.configs.loc[key]
            learner = str(cfg["learner"])
            params = _ready_params(learner, dict(cfg["params"]), kind)
            if far:
                why = (f"New task is far from the knowledge base (nearest-task distance {dist:.2f} > "
                       f"{self.model.far_threshold_:.2f}, the 95% quantile of KB tasks' own nearest distances "
                       f"x1.25): falling back to the static portfolio, position {i + 1}.")
            elif i == 0:
                why = (f"Best expected normalised score on the most similar KB tasks ({sim_text}) "
                       f"blended with the surrogate's prediction.")
            else:
                why = "Chosen greedily to do well where the configurations above it are weak on similar tasks."
            t = times.get(key, np.nan)
            out.append(Recommendation(
                rank=i + 1, learner=learner, config_id=str(cfg["config_id"]), params=params,
                predicted_score=float(mean.get(key, np.nan)), predicted_score_std=float(std.get(key, np.nan)),
                predicted_fit_time_s=None if not np.isfinite(t) else float(t), similar_tasks=similar,
                rationale=why + note, far_from_kb=far))
        return out


def _has_dense_pool(kb, learner: str, min_coverage: float = 0.5, min_pool: int = 5) -> bool:
    """Cheap check (no pivot) that some (kind, source) has >= ``min_pool`` configs on >= ``min_coverage`` of its tasks.

    The same rule as :func:`metaopt.metamodel.build_score_matrix`'s pools.
    """
    e = kb.evaluations
    e = e[(e["learner"] == learner) & (e["status"] == "ok")]
    if e.empty:
        return False
    tasks = kb.tasks.set_index("task_id")
    kind = e["task_id"].map(tasks["kind"])
    source = e["task_id"].map(tasks["source"]).fillna("")
    for _, sub in e.groupby([kind, source]):
        n_tasks = sub["task_id"].nunique()
        cov = sub.groupby("config_id")["task_id"].nunique() / n_tasks
        if (cov >= min_coverage).sum() >= min_pool:
            return True
    return False


def _ready_params(learner: str, params: dict, kind: str) -> dict:
    try:
        from metaopt.learners import get_learner
        return get_learner(learner).validate_params(params, kind)
    except ConfigError:
        return params
    except ImportError:  # learner registry not available
        return params


_CACHE: dict[tuple, Recommender] = {}
_LOCK = threading.Lock()


def _digest(manifest: dict | None) -> tuple | None:
    files = (manifest or {}).get("files") or {}
    if not isinstance(files, dict) or not files:
        return None
    try:
        return tuple(sorted((str(f), str(v.get("sha256"))) for f, v in files.items()))
    except AttributeError:  # a malformed manifest: no key (load() reports it)
        return None


def _kb_key(kb) -> tuple:
    digest = _digest(kb.manifest)
    if kb.path is not None and digest:
        return ("path", str(kb.path), digest)
    return ("object", id(kb))


_KB_CACHE: dict[tuple, Any] = {}


def load_kb_cached(path: Any = None) -> Any:
    """Load a KB directory once per process (re-read when its manifest changes).

    Shared by :func:`recommend` and :mod:`metaopt.warmstart`, whose caches are keyed on the KB object.
    """
    from pathlib import Path

    from metaopt.kb import KnowledgeBase, default_kb_path

    root = Path(path) if path is not None else Path(default_kb_path())
    manifest = root / "manifest.json"
    try:
        key = (str(root.resolve()), manifest.stat().st_mtime_ns)
    except OSError:  # let load() produce its specific error
        return KnowledgeBase.load(root)
    with _LOCK:
        kb = _KB_CACHE.get(key)
    if kb is None:
        kb = KnowledgeBase.load(root)
        with _LOCK:
            _KB_CACHE.clear()  # one KB version per path is enough
            _KB_CACHE[key] = kb
    return kb


def _disk_key(digest: tuple, learner: str) -> dict:
    from metaopt._version import __version__
    from metaopt.metamodel._persist import FORMAT, code_fingerprint

    return {"what": "Recommender", "format": FORMAT, "metaopt": __version__, "code": code_fingerprint(),
            "learner": learner, "kb_files": [list(p) for p in digest]}


def _disk_load(digest: tuple, learner: str) -> Recommender | None:
    from metaopt.metamodel._persist import entry_path, load_entry

    try:
        key = _disk_key(digest, learner)
        return Recommender._from_state(load_entry(entry_path(key), key))
    except Exception:  # noqa: BLE001 - no usable cache (e.g. no home directory): fit instead
        return None


def _disk_save(digest: tuple, learner: str, encoded: tuple) -> None:
    from metaopt.metamodel._persist import entry_path, save_entry

    with contextlib.suppress(Exception):  # a cache that cannot be written is skipped
        key = _disk_key(digest, learner)
        save_entry(entry_path(key), key, *encoded)


def _files_match(root, digest: tuple) -> bool:
    """The KB files on disk have the manifest's checksums (what load() would verify)."""
    import hashlib

    try:
        for fname, sha in digest:
            h = hashlib.sha256()
            with open(root / fname, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    h.update(block)
            if h.hexdigest() != sha:
                return False
    except OSError:
        return False
    return True


def _recommender_from_dir(root, learner: str) -> Recommender | None:
    """The recommender of the KB directory ``root`` from the process or disk cache, without loading the KB.

    None when neither has it (or the directory is not a valid, intact KB: then
    ``KnowledgeBase.load`` reports why).
    """
    from metaopt.kb import KnowledgeBase
    from metaopt.kb import _schema as S

    try:
        digest = _digest(KnowledgeBase._read_manifest(root))
    except Exception:  # noqa: BLE001 - load() gives the specific error
        return None
    if digest is None or {f for f, _ in digest} != set(S.TABLE_FILES.values()):
        return None
    key = (("path", str(root), digest), learner)
    with _LOCK:
        rec = _CACHE.get(key)
        if rec is not None:
            return rec
        if not _files_match(root, digest):
            return None
        rec = _disk_load(digest, learner)
        if rec is not None:
            _CACHE[key] = rec
        return rec


def get_recommender(kb: Any = None, learner: str = "auto") -> Recommender:
    """The cached :class:`Recommender` of ``kb`` (default: the shipped KB) and ``learner``."""
    from pathlib import Path

    from metaopt.kb import KnowledgeBase, default_kb_path

    if kb is None or isinstance(kb, str) or hasattr(kb, "__fspath__"):
        root = Path(kb).expanduser() if kb is not None else Path(default_kb_path())
        rec = _recommender_from_dir(root, learner)
        if rec is not None:
            return rec
        kb = load_kb_cached(root)
    elif not isinstance(kb, KnowledgeBase):
        raise ConfigError(f"kb must be a KnowledgeBase, a directory or None, got {type(kb).__name__}")
    key = (_kb_key(kb), learner)
    with _LOCK:
        rec = _CACHE.get(key)
        if rec is None:
            digest = key[0][2] if key[0][0] == "path" else None
            rec = _disk_load(digest, learner) if digest else None
            if rec is None:
                rec = Recommender(kb, learner)
                encoded = rec.__dict__.pop("_encoded", None)
                if digest and encoded is not None:
                    _disk_save(digest, learner, encoded)
            if key[0][0] == "object":  # keep the KB alive so its id is not reused
                rec._kb = kb
            _CACHE[key] = rec
        return rec


def recommend(data_or_X: Any, y: Any = None, target: Any = None, learner: str = "auto", k: int = 5,
              time_budget: float | None = None, kb: Any = None, *, meta_features: dict | None = None
              ) -> list[Recommendation]:
    """Learner and configurations to try first on a dataset, best first.

    Parameters
    ----------
    data_or_X
        A file path, DataFrame (with ``target``), array/frame of features (with
        ``y``) or :class:`~metaopt.data.Dataset`.
    y, target
        The target values, or the name of the target column.
    learner
        ``"auto"`` (choose among every learner with a shared pool in the KB) or a
        learner name.
    k
        Number of configurations (positive integer).
    time_budget
        Seconds one fit may take; configurations predicted to take longer are skipped.
    kb
        A :class:`~metaopt.kb.KnowledgeBase`, a KB directory, or None (the shipped one).
    meta_features
        Precomputed meta-features of the dataset (skips their extraction).

    Raises
    ------
    ConfigError
        Bad ``k``, ``learner``, ``time_budget`` or ``kb``.
    DataError
        Unusable data (see :func:`metaopt.load_data`).
    KnowledgeBaseError
        The KB has nothing to learn from for this learner and task kind.
    """
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
        raise ConfigError(f"k must be a positive integer, got {k!r}")
    if not isinstance(learner, str) or not learner:
        raise ConfigError(f"learner must be a learner name or 'auto', got {learner!r}")
    if time_budget is not None:
        if isinstance(time_budget, bool) or not isinstance(time_budget, numbers.Real) \
                or not np.isfinite(time_budget) or time_budget <= 0:
            raise ConfigError(f"time_budget must be a positive number of seconds, got {time_budget!r}")
    from metaopt.data import load_data

    ds = load_data(data_or_X, target=target, y=y)
    rec = get_recommender(kb, learner)
    if meta_features is None:
        from metaopt.features import extract_meta_features
        meta_features = dict(extract_meta_features(ds, groups=QUERY_GROUPS).values)
    n_classes = int(ds.y.nunique()) if ds.kind != "regression" else 0
    return rec.recommend(ds.kind, meta_features, ds.n_rows, ds.n_features, n_classes, int(k),
                         None if time_budget is None else float(time_budget))
