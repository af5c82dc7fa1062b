"""Fill imported tasks' meta-features from other OpenML-published quality tables.

TabRepo's task metadata gives only 10 general OpenML qualities per task; openml-pimp's
``task_qualities.json`` gives ~107 per task (keyed by OpenML *task* id) and LCDB 0.1.0's
``datasets.csv`` 64 per dataset (keyed by OpenML *data* id). :func:`enrich_meta_features`
fills the NaN meta-features of a KB's tasks from such tables, matching by OpenML data id
only, and records in the manifest which quality came from which source.

Rules (also in ``docs/knowledge_base.md``, "Meta-feature enrichment"):

* a task is matched to a table row only through its ``openml_data_id`` (never by name);
* the match is trusted only if ``NumberOfInstances``, ``NumberOfFeatures`` and (where both
  are known) ``NumberOfClasses`` agree with the task's own values (its qualities, else
  ``n_rows`` / ``n_features + 1``); otherwise the row is skipped and logged;
* a value already present is kept; a different value from the table is a *conflict*, logged
  (``logging`` warning summary, per-value details at debug level) and counted in the
  source's ``meta_features`` record, never written;
* every filled value is recorded in the manifest: the source entry gets
  ``meta_features = {"filled": [{"qualities": [...], "task_ids": [...]}, ...],
  "n_values": int, "n_tasks": int, "n_conflicts": int, "skipped": [...]}``. A quality not
  listed there for a task comes from the task's own ``source``
  (see :func:`meta_feature_provenance`).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from metaopt.exceptions import KnowledgeBaseError
from metaopt.kb import _schema as S
from metaopt.kb._store import KnowledgeBase

log = logging.getLogger("metaopt.kb.enrich")

LCDB_SOURCE = "lcdb"
#: OpenML quality columns of LCDB's datasets.csv that are not qualities
LCDB_ID_COLUMNS = ("openmlid", "Name")
IDENTITY_QUALITIES = ("NumberOfInstances", "NumberOfFeatures")
#: MinorityClassPercentage / MajorityClassPercentage are percent (0-100) in the KB, as in current
#: OpenML, LCDB and metaopt.features
_RTOL = 1e-6
_ATOL = 1e-9

LCDB_SOURCE_ENTRY = {
    "name": LCDB_SOURCE,
    "description": "LCDB 0.1.0 (learning-curve database) datasets.csv: 64 OpenML data qualities for 219 OpenML "
                   "classification datasets; used only to fill missing meta-features of imported tasks whose "
                   "OpenML data id matches",
    "licence": "MIT (lcdb package, Copyright (c) 2021 Felix Mohr; LICENSE_lcdb.txt); the qualities are "
               "OpenML-computed values of datasets with their own, varying licences",
    "origin": "https://pypi.org/project/lcdb/0.1.0/ (sdist sha256 "
              "450ea69b249866298653f718d66a825e3d19a4024dd4ff140b89f2e04d4777ae, file lcdb/datasets.csv)",
    "citation": "F. Mohr, T. J. Viering, M. Loog and J. N. van Rijn. LCDB 1.0: An Extensive Learning Curves "
                "Database for Classification Tasks. ECML PKDD 2022.",
}


@dataclass
class EnrichReport:
    """What :func:`enrich_meta_features` did, per source."""

    matched: dict[str, list[str]] = field(default_factory=dict)      # source -> task ids matched
    filled: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # source -> task -> qualities
    conflicts: dict[str, list[tuple[str, str, float, float]]] = field(default_factory=dict)
    skipped: dict[str, list[dict]] = field(default_factory=dict)      # identity mismatches

    def n_filled(self, source: str) -> int:
        return sum(len(v) for v in self.filled.get(source, {}).values())

    def summary(self) -> str:
        parts = []
        for src in self.matched:
            if not (self.matched[src] or self.skipped.get(src)):
                continue
            parts.append(f"{src}: {len(self.matched[src])} task(s) matched, {self.n_filled(src)} value(s) filled "
                         f"in {len(self.filled.get(src, {}))} task(s), {len(self.conflicts.get(src, []))} "
                         f"conflict(s) kept, {len(self.skipped.get(src, []))} match(es) rejected")
        return "; ".join(parts) if parts else "no enrichment source"


# ----------------------------------------------------------------------------------------------
# reading the quality tables (each: DataFrame indexed by OpenML data id, float64 OpenML quality columns)


def read_lcdb_qualities(path: str | Path) -> pd.DataFrame:
    """LCDB's ``datasets.csv``: one row per OpenML data id (``openmlid``), float64 quality columns."""
    p = Path(path)
    if not p.is_file():
        raise KnowledgeBaseError(f"LCDB qualities file {p} does not exist")
    df = pd.read_csv(p)
    if "openmlid" not in df.columns or "NumberOfInstances" not in df.columns:
        raise KnowledgeBaseError(f"{p} is not LCDB's datasets.csv (needs openmlid and OpenML quality columns)")
    if df["openmlid"].duplicated().any():
        raise KnowledgeBaseError(f"{p}: duplicate openmlid values")
    cols = [c for c in df.columns if c not in LCDB_ID_COLUMNS]
    out = df[cols].apply(pd.to_numeric, errors="coerce").astype("float64")
    out.index = pd.Index(df["openmlid"].astype("int64"), name="openml_data_id")
    return out


def read_pimp_qualities_by_data_id(qualities_json: str | Path, tid_to_did: dict[int, int]) -> pd.DataFrame:
    """openml-pimp's ``task_qualities.json`` re-keyed by OpenML data id (tasks with a known data id only).

    Several tasks on one dataset are collapsed when their qualities agree; a data id whose tasks
    disagree is dropped (logged).
    """
    with open(qualities_json, encoding="utf-8") as fh:
        raw = json.load(fh)
    rows = {}
    for tid, q in raw.items():
        did = tid_to_did.get(int(tid))
        if did is None:
            continue
        rec = pd.Series({k: (np.nan if v is None else float(v)) for k, v in q.items()}, dtype="float64")
        rec = _pimp_percentages(rec)
        if did in rows:
            if not _same(rows[did], rec):
                log.warning("openml-pimp tasks on OpenML data id %s have different qualities; not used", did)
                rows[did] = None
            continue
        rows[did] = rec
    rows = {d: r for d, r in rows.items() if r is not None}
    if not rows:
        return pd.DataFrame(dtype="float64")
    out = pd.DataFrame(rows).T.astype("float64")
    out.index = pd.Index(out.index.astype("int64"), name="openml_data_id")
    return out


def _pimp_percentages(rec: pd.Series) -> pd.Series:
    """Scale openml-pimp class percentages stored as fractions to percent (see ``_import_pimp``)."""
    from metaopt.kb._import_pimp import normalise_class_percentages

    return pd.Series(normalise_class_percentages(rec.to_dict()), dtype="float64")


def _same(a: pd.Series, b: pd.Series) -> bool:
    cols = a.index.intersection(b.index)
    x, y = a[cols].to_numpy(), b[cols].to_numpy()
    both = ~np.isnan(x) & ~np.isnan(y)
    return bool(np.allclose(x[both], y[both], rtol=_RTOL, atol=_ATOL) and
                (np.isnan(x) == np.isnan(y)).all())


# ----------------------------------------------------------------------------------------------
# enrichment


def _own_value(row: pd.Series, quality: str) -> float:
    v = row.get(quality, np.nan)
    if pd.notna(v):
        return float(v)
    if quality == "NumberOfInstances" and pd.notna(row.get("n_rows")):
        return float(row["n_rows"])
    if quality == "NumberOfFeatures" and pd.notna(row.get("n_features")):
        return float(row["n_features"]) + 1.0
    return np.nan


def _close(a: float, b: float) -> bool:
    return bool(np.isclose(a, b, rtol=_RTOL, atol=_ATOL))


def enrich_meta_features(kb: KnowledgeBase, tables: list[tuple[str, pd.DataFrame]], *,
                         task_sources: tuple[str, ...] | None = None,
                         source_entries: dict[str, dict] | None = None) -> tuple[KnowledgeBase, EnrichReport]:
    """Fill missing meta-features of ``kb``'s tasks from quality ``tables``, in order of preference.

    ``tables`` is a list of ``(source name, frame indexed by OpenML data id)``; a table never fills
    a task of its own source (its values are already there). ``task_sources`` limits the tasks
    considered (default: all). ``source_entries`` gives manifest source dicts for sources not yet
    in ``kb`` (added only if they fill at least one value). Returns the new KB and a report.
    """
    tasks = kb.tasks.copy()
    report = EnrichReport()
    new_cols: dict[str, dict[Any, float]] = {}
    for src, table in tables:
        report.matched.setdefault(src, [])
        if table is None or table.empty:
            continue
        quality_cols = [c for c in table.columns if c not in S.TASK_COLUMNS]
        for i, row in tasks.iterrows():
            if task_sources is not None and row["source"] not in task_sources:
                continue
            if row["source"] == src or pd.isna(row["openml_data_id"]):
                continue
            did = int(row["openml_data_id"])
            if did not in table.index:
                continue
            ref = table.loc[did]
            if not _trusted_match(src, row, did, ref, report):
                continue
            report.matched[src].append(row["task_id"])
            _fill_task(src, i, row, ref, quality_cols, tasks, new_cols, report)
        if report.conflicts.get(src):
            log.warning("%s: %d value(s) differ from the task's existing meta-features; existing values kept",
                        src, len(report.conflicts[src]))
    for q, vals in new_cols.items():
        tasks[q] = pd.Series(vals, dtype="float64").reindex(tasks.index)
    sources = _enriched_sources(kb, tables, report, source_entries)
    out = KnowledgeBase.from_frames(tasks, kb.configs, kb.evaluations, sources)
    out.manifest.update({k: v for k, v in kb.manifest.items() if k == "command"})
    return out, report


def _trusted_match(src: str, row: pd.Series, did: int, ref: pd.Series, report: EnrichReport) -> bool:
    """Whether ``src``'s row of data id ``did`` describes this task (identity check; a rejection is logged)."""
    bad = {}
    for q in (*IDENTITY_QUALITIES, "NumberOfClasses"):
        mine, theirs = _own_value(row, q), float(ref.get(q, np.nan))
        unknown = np.isnan(mine) or np.isnan(theirs)
        if (unknown and q in IDENTITY_QUALITIES) or (not unknown and not _close(mine, theirs)):
            bad[q] = (mine, theirs)
    if not bad:
        return True
    report.skipped.setdefault(src, []).append(
        {"task_id": row["task_id"], "openml_data_id": did,
         "mismatch": {q: [None if np.isnan(a) else a, None if np.isnan(b) else b]
                      for q, (a, b) in bad.items()}})
    log.warning("%s: OpenML data id %s of task %s not trusted, %s disagree(s): %s", src, did,
                row["task_id"], ", ".join(bad), bad)
    return False


def _fill_task(src: str, i: Any, row: pd.Series, ref: pd.Series, quality_cols: list[str], tasks: pd.DataFrame,
               new_cols: dict[str, dict[Any, float]], report: EnrichReport) -> None:
    """Fill task ``i``'s missing qualities from ``ref`` (new columns go to ``new_cols``); log conflicts."""
    for q in quality_cols:
        v = ref[q]
        if pd.isna(v):
            continue
        cur = tasks.at[i, q] if q in tasks.columns else new_cols.get(q, {}).get(i, np.nan)
        if pd.isna(cur):
            if q in tasks.columns:
                tasks.at[i, q] = float(v)
            else:
                new_cols.setdefault(q, {})[i] = float(v)
            report.filled.setdefault(src, {}).setdefault(row["task_id"], []).append(q)
        elif not _close(float(cur), float(v)):
            report.conflicts.setdefault(src, []).append((row["task_id"], q, float(cur), float(v)))
            log.debug("%s: task %s %s: kept %r, %s has %r", src, row["task_id"], q, cur, src, v)


def _enriched_sources(kb: KnowledgeBase, tables: list[tuple[str, pd.DataFrame]], report: EnrichReport,
                      source_entries: dict[str, dict] | None) -> list[dict]:
    """``kb``'s manifest sources, with each enriching source's provenance record (added if new)."""
    sources = [dict(s) for s in kb.sources]
    names = [s.get("name") for s in sources]
    for src, _ in tables:
        filled = report.filled.get(src, {})
        if not (filled or report.conflicts.get(src) or report.skipped.get(src)):
            continue
        if src not in names:
            entry = dict((source_entries or {}).get(src, {"name": src}))
            sources.append(entry)
            names.append(src)
        entry = sources[names.index(src)]
        entry["meta_features"] = _provenance_record(report, src)
        entry["note"] = (f"meta-features: {report.n_filled(src)} value(s) filled in {len(filled)} task(s) "
                         f"matched by OpenML data id ({len(report.conflicts.get(src, []))} differing value(s) "
                         f"not used; {len(report.skipped.get(src, []))} match(es) rejected on instance/feature "
                         "counts); per-task list in manifest.json")
    return sources


def _provenance_record(report: EnrichReport, src: str) -> dict:
    groups: dict[tuple[str, ...], list[str]] = {}
    for tid, qs in report.filled.get(src, {}).items():
        groups.setdefault(tuple(sorted(qs)), []).append(tid)
    return {
        "n_tasks": len(report.filled.get(src, {})),
        "n_values": report.n_filled(src),
        "n_conflicts": len(report.conflicts.get(src, [])),
        "filled": [{"qualities": list(qs), "task_ids": sorted(tids)}
                   for qs, tids in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))],
        "skipped": report.skipped.get(src, []),
    }


def meta_feature_provenance(kb: KnowledgeBase) -> pd.DataFrame:
    """Task x meta-feature frame of source names (None where the value is NaN).

    A value comes from the task's own ``source`` unless a manifest source's
    ``meta_features.filled`` record lists it for that task.
    """
    mf = kb.meta_feature_names()
    t = kb.tasks.set_index("task_id")
    out = pd.DataFrame(np.repeat(t["source"].to_numpy(dtype=object)[:, None], len(mf), axis=1),
                       index=t.index, columns=mf, dtype=object)
    for s in kb.sources:
        for g in (s.get("meta_features") or {}).get("filled", []):
            ids = [i for i in g["task_ids"] if i in out.index]
            cols = [q for q in g["qualities"] if q in out.columns]
            out.loc[ids, cols] = s["name"]
    return out.where(t[mf].notna(), None)


def enrich_imported(kb: KnowledgeBase, *, lcdb: str | Path | None = None, pimp_dir: str | Path | None = None,
                    tabrepo_dir: str | Path | None = None) -> tuple[KnowledgeBase, EnrichReport]:
    """What ``metaopt kb import`` runs after importing: openml-pimp qualities (for other sources'
    tasks, through TabRepo's tid -> did map), then LCDB's, onto the tabrepo/openml_pimp tasks."""
    tables: list[tuple[str, pd.DataFrame]] = []
    if pimp_dir is not None and tabrepo_dir is not None and (Path(pimp_dir) / "task_qualities.json").is_file():
        from metaopt.kb._import_pimp import _tid_to_did

        tid_to_did = {t: d for t, (d, _) in _tid_to_did(Path(tabrepo_dir)).items()}
        tables.append(("openml_pimp",
                       read_pimp_qualities_by_data_id(Path(pimp_dir) / "task_qualities.json", tid_to_did)))
    if lcdb is not None:
        tables.append((LCDB_SOURCE, read_lcdb_qualities(lcdb)))
    if not tables:
        return kb, EnrichReport()
    entries = {LCDB_SOURCE: {**LCDB_SOURCE_ENTRY, "files": [Path(lcdb).name] if lcdb else []}}
    return enrich_meta_features(kb, tables, task_sources=("tabrepo", "openml_pimp"), source_entries=entries)
