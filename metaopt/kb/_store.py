"""The knowledge base in memory (:class:`KnowledgeBase`) and on disk (Parquet + JSON).

Saving is atomic and checksummed, so an interrupted save never leaves a KB that loads wrongly.
Column types live in :mod:`metaopt.kb._arrow`, content checks in :mod:`metaopt.kb._checks`,
where the shipped KB is found in :mod:`metaopt.kb._locate`.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from metaopt.core import __version__
from metaopt.exceptions import ConfigError, KnowledgeBaseError
from metaopt.kb import _schema as S
from metaopt.kb._arrow import check_arrow_schema, empty_frame, from_arrow, normalise, to_arrow
from metaopt.kb._checks import EVAL_COMPARE, TASK_IDENTITY, dedupe, validate_tables
from metaopt.kb._locate import default_kb_path

_COMPRESSION = "zstd"


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
        root = cls.check_path(path)
        manifest = cls.read_manifest(root)
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
            check_arrow_schema(schema, table, str(fpath))
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

    @classmethod
    def check_path(cls, path: str | os.PathLike | None = None) -> Path:
        """``path`` (default: :func:`default_kb_path`) as a KB directory with a valid manifest, else a
        :class:`KnowledgeBaseError`: the cheap check of a ``--kb`` option before any work (:meth:`load`
        reads and checks the tables)."""
        root = Path(path).expanduser() if path is not None else default_kb_path()
        if not root.exists():
            raise KnowledgeBaseError(f"no knowledge base at {root}: directory does not exist")
        if not root.is_dir():
            raise KnowledgeBaseError(f"{root} is not a knowledge-base directory")
        cls.read_manifest(root)
        return root

    @staticmethod
    def read_manifest(root: str | os.PathLike) -> dict:
        """The manifest of the KB directory ``root``, checked (JSON object, supported ``schema_version``),
        else a :class:`KnowledgeBaseError`: what a caller may read without loading the tables."""
        root = Path(root)
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
        validate_tables(self.tasks, self.configs, self.evaluations, deep)

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
        # copy(): one block per dtype, or the groupby below warns about a fragmented frame
        tasks = pd.concat([self.tasks, other.tasks], ignore_index=True, sort=False).copy()
        dup = tasks.duplicated("task_id", keep=False)
        if dup.any():
            dedupe(tasks.loc[dup], "tasks", compare=TASK_IDENTITY, what="merge")
            tasks = tasks.groupby("task_id", sort=False, dropna=False).first().reset_index()
        configs = dedupe(pd.concat([self.configs, other.configs], ignore_index=True),
                          "configs", compare=["params", "origin"], what="merge")
        evals = dedupe(pd.concat([self.evaluations, other.evaluations], ignore_index=True),
                        "evaluations", compare=EVAL_COMPARE, what="merge")
        sources = merge_sources(self.sources, other.sources)
        kb = KnowledgeBase.from_frames(tasks, configs, evals, sources)
        for k in ("command",):
            if k in self.manifest:
                kb.manifest[k] = self.manifest[k]
        return kb

    def replace_pools(self, other: KnowledgeBase) -> KnowledgeBase:
        """A new KB in which ``other``'s pools replace this KB's: every evaluation of a (task, learner) pair
        that ``other`` evaluated is dropped, then ``other`` is merged (:meth:`merge`).

        How pools re-measured under a changed fitting rule enter a KB (``metaopt kb merge --replace``);
        the pairs ``other`` did not evaluate stay as they are, and so do the pairs :meth:`unfinished_pools`
        names (a rebuild still running must not shrink a complete pool): ``other``'s rows of those are left out.
        """
        unfinished = self.unfinished_pools(other)
        if unfinished:
            oe = other.evaluations
            other = other._with_evaluations(oe[[p not in unfinished for p in zip(oe["task_id"], oe["learner"])]])
        pairs = set(zip(other.evaluations["task_id"], other.evaluations["learner"]))
        ev = self.evaluations
        kept = ev[[p not in pairs for p in zip(ev["task_id"], ev["learner"])]]
        base = KnowledgeBase.from_frames(self.tasks, self.configs, kept, self.sources,
                                         command=self.manifest.get("command"))
        return base.merge(other)

    def unfinished_pools(self, other: KnowledgeBase) -> set[tuple[str, str]]:
        """(task, learner) pairs that ``other`` evaluated on fewer configurations than this KB holds for them.

        A re-measurement of a pool covers the same configurations; fewer means its build has not
        finished that task (units are written as they complete), so :meth:`replace_pools` keeps this KB's.
        """
        def sizes(kb: KnowledgeBase) -> pd.Series:
            return kb.evaluations.groupby(["task_id", "learner"])["config_id"].nunique()

        mine, theirs = sizes(self), sizes(other)
        both = theirs.index.intersection(mine.index)
        short = theirs[both] < mine[both]
        return set(short.index[short.to_numpy()])

    def only_sources(self, sources: Iterable[str]) -> KnowledgeBase:
        """The sub-KB of the evaluations from ``sources`` (and the tasks and configs they use)."""
        return self._only("source", sources, "from source(s)")

    def only_learners(self, learners: Iterable[str]) -> KnowledgeBase:
        """The sub-KB of the evaluations of ``learners`` (and the tasks and configs they use): how one
        learner's new pools are merged without the others' (``metaopt kb merge --learners``)."""
        return self._only("learner", learners, "of learner(s)")

    def _only(self, column: str, values: Iterable[str], what: str) -> KnowledgeBase:
        """The sub-KB of the evaluations whose ``column`` is one of ``values``; unknown values are an error."""
        wanted = set(values)
        have = self.evaluations[column].unique()
        unknown = wanted - set(have)
        if unknown:
            raise KnowledgeBaseError(f"no evaluations {what} {sorted(unknown)}; the KB has {sorted(have)}")
        return self._with_evaluations(self.evaluations[self.evaluations[column].isin(wanted)])

    def _with_evaluations(self, ev: pd.DataFrame) -> KnowledgeBase:
        """The KB of the evaluations ``ev`` (rows of this KB's), with the tasks and configs they use."""
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
        check_arrow_schema(tbl.schema, table, str(f))
        if tbl.num_rows:
            parts[table].append(from_arrow(tbl))
    frames = {}
    for table, dfs in parts.items():
        df = pd.concat(dfs, ignore_index=True, sort=False) if dfs else empty_frame(table)
        compare = {"configs": ["params", "origin", "native_params"], "evaluations": EVAL_COMPARE}.get(table)
        frames[table] = dedupe(df, table, compare=compare, what=f"compile_parts({root})")
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
