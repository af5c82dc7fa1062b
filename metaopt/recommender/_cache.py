"""The one owner of fitted meta-models: recommend, the warm start and ``MetaSampler`` all get theirs here.

:func:`get_recommender` keeps one fitted :class:`~metaopt.recommender.Recommender` per
(KB content, learner set): in this process, and on disk for a KB read from a
directory (see :mod:`metaopt.metamodel._persist`: JSON, NumPy arrays and LightGBM
model text, no pickle), keyed by content - the manifest's file checksums, the
metaopt version, a hash of metaopt's whole source, and the learner set - so a new
process (``metaopt recommend`` or ``metaopt tune`` on the command line) reads that
entry instead of loading the KB and fitting.  Set ``METAOPT_CACHE_DIR`` to move it
(default ``~/.cache/metaopt``, ``XDG_CACHE_HOME`` respected) or to an unwritable
path to do without; a damaged or stale entry is rebuilt.  A fit is announced on the
``metaopt`` logger (INFO) with an estimate of its duration (:func:`fit_seconds`), so
a command line can say what it is waiting for.

Inside :func:`fit_allowance` (``tune`` with a time budget) a meta-model whose fit is estimated to take
longer than the allowance is fitted *quick* instead (no surrogate; seconds, not tens of seconds), kept in
this process only and never written to disk, so a later run without a budget still fits the full one.

:func:`shared_surrogate` hands the fitted surrogate to ``MetaSampler`` (no second fit).
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from metaopt.core import __version__
from metaopt.exceptions import ConfigError
from metaopt.kb import TABLE_FILES, KnowledgeBase, default_kb_path
from metaopt.metamodel import cache_key, load_cached, save_cached
from metaopt.recommender._recommender import Recommender
from metaopt.utils import usable_cores


_CACHE: dict[tuple, Recommender] = {}
#: (learner, seconds, quick) of every meta-model this process fitted, in order (``tune`` books them to its budget)
_FITS: list[tuple[str, float, bool]] = []
#: the seconds a meta-model fit may take now (None: any), set by :func:`fit_allowance`
_ALLOWANCE: contextvars.ContextVar[Callable[[], float | None] | None] = contextvars.ContextVar(
    "metaopt_fit_allowance", default=None)
_LOCK = threading.Lock()
log = logging.getLogger("metaopt.recommend")


def _digest(manifest: dict | None) -> tuple | None:
    files = (manifest or {}).get("files") or {}
    if not isinstance(files, dict) or not files:
        return None
    try:
        return tuple(sorted((str(f), str(v.get("sha256"))) for f, v in files.items()))
    except AttributeError:  # a malformed manifest: no key (load() reports it)
        return None


def _kb_key(kb) -> tuple:
    """The KB's content (its manifest's file checksums) for a KB read from or saved to disk, else the object."""
    digest = _digest(kb.manifest)
    if kb.path is not None and digest:
        return ("content", digest)
    return ("object", id(kb))


_KB_CACHE: dict[tuple, Any] = {}


def load_kb_cached(path: Any = None) -> Any:
    """Load a KB directory once per process (re-read when its manifest changes).

    Shared by :func:`recommend` and :mod:`metaopt.warmstart`, whose caches are keyed on the KB object.
    """
    from pathlib import Path

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
    """Content key: the KB files' checksums, the learner set, metaopt's version and source (``cache_key``)."""
    return cache_key("Recommender", metaopt=__version__, learner=learner, kb_files=[list(p) for p in digest])


def _disk_load(digest: tuple, learner: str) -> Recommender | None:
    try:
        return Recommender._from_state(load_cached(_disk_key(digest, learner)))
    except Exception:  # noqa: BLE001 - no usable cache (e.g. no home directory): fit instead
        return None


def _disk_save(digest: tuple, learner: str, encoded: tuple) -> bool:
    """Whether the entry was written (a cache that cannot be written is skipped)."""
    try:
        return bool(save_cached(_disk_key(digest, learner), *encoded))
    except Exception:  # noqa: BLE001 - e.g. no home directory: the process cache still serves
        return False


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


def _dir_digest(root) -> tuple | None:
    """The content key of the complete KB directory ``root`` from its manifest (None: not a complete KB)."""
    try:
        digest = _digest(KnowledgeBase.read_manifest(root))
    except Exception:  # noqa: BLE001 - load() gives the specific error
        return None
    if digest is None or {f for f, _ in digest} != set(TABLE_FILES.values()):
        return None
    return digest


def _recommender_from_dir(root, learner: str) -> Recommender | None:
    """The recommender of the KB directory ``root`` from the process or disk cache, without loading the KB.

    None when neither has it (or the directory is not a valid, intact KB: then
    ``KnowledgeBase.load`` reports why).
    """
    digest = _dir_digest(root)
    if digest is None:
        return None
    key = (("content", digest), learner)
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


#: cost of one meta-model fit (:class:`Recommender`), measured on the shipped KB on a 2-core
#: machine: importing LightGBM, the score matrix (per evaluation read), and the surrogate's
#: 5 x 150 LightGBM trees (a fixed part per tree plus one per training row; its 5 models fit one per core)
_FIT_IMPORT_S = 1.5
_FIT_S_PER_EVALUATION = 4e-5
_FIT_MODELS, _FIT_TREES_PER_MODEL = 5, 150
_FIT_S_PER_TREE, _FIT_S_PER_TREE_ROW = 1e-3, 2.5e-7


def fit_seconds(kb: Any, learner: str = "auto") -> float:
    """Rough seconds :func:`get_recommender` needs to fit ``learner``'s meta-model on ``kb`` (for the notice).

    Training rows of the surrogate: the KB's successful evaluations of the learners,
    leaving out configurations evaluated on a single task (sparse histories, which the
    fit drops where a shared pool covers the task kinds), at most 60,000.
    """
    import sys

    e = kb.evaluations
    learners = list(kb.learners) if learner == "auto" else [learner]
    e = e[e["learner"].isin(learners) & (e["status"] == "ok")]
    seconds = 0.0 if "lightgbm" in sys.modules else _FIT_IMPORT_S
    if e.empty:
        return seconds
    shared = e.groupby(["learner", "config_id"])["task_id"].transform("nunique") > 1
    rows = min(int(shared.sum()) or len(e), 60_000)
    rounds = -(-_FIT_MODELS // usable_cores())  # the surrogate's models fit one per core, in rounds
    trees = rounds * _FIT_TREES_PER_MODEL * (_FIT_S_PER_TREE + rows * _FIT_S_PER_TREE_ROW)
    return seconds + len(e) * _FIT_S_PER_EVALUATION + trees


def _estimate(kb: Any, learner: str) -> float | None:
    try:
        return fit_seconds(kb, learner)
    except Exception:  # noqa: BLE001 - a KB the fit itself will reject: no estimate
        return None


def _about(seconds: float) -> str:
    return f"about {max(1, round(seconds))} s" if seconds < 10 else f"about {5 * round(seconds / 5)} s"


def _fit(kb: Any, learner: str, cached: bool, quick: bool = False, seconds: float | None = None) -> Recommender:
    """A new :class:`Recommender`, announced (logging, INFO) with how long it should take (``seconds``: the
    estimate, where the caller has it)."""
    seconds = _estimate(kb, learner) if seconds is None else seconds
    # one meta-model per learner and one for all of them ("auto" may need both): say which
    which = "of all learners" if learner == "auto" else f"of {learner}"
    if quick:
        log.info("the meta-model %s needs %s to fit, more than the time budget allows: fitting it without its "
                 "surrogate for this run (`metaopt kb prefit` fits and caches the full one once)", which,
                 _about(seconds or 0.0))
    elif seconds is not None:
        log.info("fitting the meta-model %s once (%s)%s", which, _about(seconds),
                 "; cached for later runs" if cached else "")
    t0 = time.monotonic()
    rec = Recommender(kb, learner, quick=quick)
    _FITS.append((learner, time.monotonic() - t0, quick))
    return rec


def meta_model_fits() -> list[tuple[str, float, bool]]:
    """(learner or "auto", seconds, quick) of each meta-model fitted in this process so far (cache hits are not
    fits; quick: without its surrogate, :func:`fit_allowance`)."""
    return list(_FITS)


@contextlib.contextmanager
def fit_allowance(seconds: Callable[[], float | None] | None) -> Iterator[None]:
    """Within the block, a meta-model not yet cached whose fit would take longer than ``seconds()`` is fitted
    quick (module docstring).

    A callable, asked at each fit, because the allowance of a time budget shrinks as it is spent; None (or a
    callable returning None): no limit.
    """
    token = _ALLOWANCE.set(seconds)
    try:
        yield
    finally:
        _ALLOWANCE.reset(token)


def _too_slow(kb: Any, learner: str) -> float | None:
    """The estimated seconds of the full fit of ``learner``'s meta-model on ``kb`` where they exceed the current
    :func:`fit_allowance`, else None."""
    allowance = _ALLOWANCE.get()
    limit = allowance() if allowance is not None else None
    if limit is None:
        return None
    seconds = _estimate(kb, learner)
    return seconds if seconds is not None and seconds > limit else None


def _quick(kb: Any, key: tuple, seconds: float) -> Recommender:
    """This process's quick recommender of ``key`` = (KB key, learner), fitted on first use (call under _LOCK);
    ``seconds``: the full fit's estimate, for the notice."""
    rec = _CACHE.get((*key, "quick"))
    if rec is None:
        rec = _fit(kb, key[1], cached=False, quick=True, seconds=seconds)
        rec.__dict__.pop("_encoded", None)  # never written to disk: a run with time for it fits the full one
        if key[0][0] == "object":
            rec._kb = kb
        _CACHE[(*key, "quick")] = rec
    return rec


def get_recommender(kb: Any = None, learner: str = "auto") -> Recommender:
    """The fitted :class:`Recommender` of ``kb`` (default: the shipped KB) and ``learner`` (a name or "auto").

    Cached per process by (KB content, learner), and on disk for a KB read from a
    directory; inside :func:`fit_allowance` possibly the quick one (module docstring).
    """
    from pathlib import Path

    if _ALLOWANCE.get() is not None:  # a budgeted run that has one already: no disk read, no second estimate
        rec = peek_recommender(kb, learner)
        if rec is not None:
            return rec
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
            digest = key[0][1] if key[0][0] == "content" else None
            rec = _disk_load(digest, learner) if digest else None
            slow = _too_slow(kb, learner) if rec is None else None
            if slow is not None:
                return _quick(kb, key, slow)
            if rec is None:
                rec, _ = _fit_and_save(kb, learner, digest)
            if key[0][0] == "object":  # keep the KB alive so its id is not reused
                rec._kb = kb
            _CACHE[key] = rec
        return rec


def _fit_and_save(kb: Any, learner: str, digest: tuple | None) -> tuple[Recommender, bool]:
    """The full recommender, fitted, and whether it was written to the disk cache (only a KB with a content
    ``digest`` is)."""
    rec = _fit(kb, learner, cached=digest is not None)
    encoded = rec.__dict__.pop("_encoded", None)
    return rec, bool(digest and encoded is not None and _disk_save(digest, learner, encoded))


def prefit(kb: Any = None, learners: Iterable[str] | None = None) -> list[tuple[str, float | None]]:
    """Fit the full meta-models of the KB directory ``kb`` (default: the shipped KB) and write them to the disk
    cache: ``learners`` (default: "auto" and each of the KB's learners, what ``tune`` may use).

    Once per KB and metaopt version, so that a later ``tune`` with a short time budget ranks with the full
    meta-models instead of quick ones (:func:`fit_allowance`).  Returns (learner, seconds of its fit, or None
    where the cache had it already).
    """
    from pathlib import Path

    root = Path(kb).expanduser() if kb is not None else Path(default_kb_path())
    loaded = load_kb_cached(root)  # a missing or damaged KB: its specific error
    digest = _dir_digest(root)
    if digest is None:
        raise ConfigError(f"{root} is no complete KB directory: only such a KB's meta-models are cached on disk")
    names = _prefit_names(loaded, learners)
    if not _cache_writable():  # before any fit
        raise _unwritable_cache()
    done: list[tuple[str, float | None]] = []
    for name in names:
        with _LOCK:
            rec, seconds = _disk_load(digest, name), None
            if rec is None:
                t0 = time.monotonic()
                rec, saved = _fit_and_save(loaded, name, digest)
                if not saved:
                    raise _unwritable_cache()
                seconds = time.monotonic() - t0
            _CACHE[(("content", digest), name)] = rec
            done.append((name, seconds))
    return done


def _cache_writable() -> bool:
    """The disk cache can take a file."""
    import tempfile

    from metaopt.metamodel import cache_dir

    try:
        cache_dir().mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=cache_dir()):
            return True
    except OSError:
        return False


def _unwritable_cache() -> ConfigError:
    from metaopt.metamodel import cache_dir

    return ConfigError(f"the meta-model cache {cache_dir()} cannot be written: set METAOPT_CACHE_DIR to a writable "
                       f"directory")


def _prefit_names(kb: Any, learners: Iterable[str] | None) -> list[str]:
    """:func:`prefit`'s meta-models: ``learners`` checked against the KB's, or "auto" and all of them."""
    known = ["auto", *kb.learners]
    if learners is None:
        return known
    names = list(dict.fromkeys([learners] if isinstance(learners, str) else learners))
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        raise ConfigError((f"no meta-model of {', '.join(map(repr, unknown))} in this KB" if unknown else
                           "no learner given") + f": choose among {', '.join(known)}")
    return names


def peek_recommender(kb: Any = None, learner: str = "auto") -> Recommender | None:
    """This process's fitted :class:`Recommender` of ``kb`` and ``learner`` if it has one, the full one before a
    quick one (never loads or fits)."""
    key = _process_key(kb)
    if key is None:
        return None
    with _LOCK:
        return _CACHE.get((key, learner)) or _CACHE.get((key, learner, "quick"))


def shared_surrogate(kb: Any = None, learner: str = "lightgbm") -> Any | None:
    """The fitted :class:`~metaopt.metamodel.Surrogate` that scores ``learner``'s configurations.

    Taken from a recommender, never fitted on its own: this process's recommender of
    ``learner`` if it has one, else its ``"auto"`` recommender when that ranks
    ``learner`` too (what ``tune(learner="auto")`` has just used), else
    :func:`get_recommender` ``(kb, learner)``.  None where that recommender was fitted quick
    (:func:`fit_allowance`): it has no surrogate.
    """
    rec = None
    key = _process_key(kb)
    if key is not None:
        with _LOCK:
            found = [_CACHE.get(k) for k in ((key, learner), (key, "auto"), (key, learner, "quick"),
                                             (key, "auto", "quick"))]  # a full one first
            rec = next((f for f in found if f is not None and learner in f.learners), None)
    if rec is None:
        rec = get_recommender(kb, learner)
    if rec.quick:
        return None
    return rec.model.surrogate_


def _process_key(kb: Any) -> tuple | None:
    """The process-cache key of ``kb`` without loading it (None: not known without loading)."""
    from pathlib import Path

    if isinstance(kb, KnowledgeBase):
        return _kb_key(kb)
    try:
        root = Path(kb).expanduser() if kb is not None else Path(default_kb_path())
    except Exception:  # noqa: BLE001 - get_recommender reports it
        return None
    digest = _dir_digest(root)
    return ("content", digest) if digest is not None else None
