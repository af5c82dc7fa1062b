"""``metaopt kb ...``: inspect and extend the knowledge base.

* ``metaopt kb info [--path DIR] [--json]`` - counts, coverage, sources and licences;
* ``metaopt kb import --tabrepo DIR --pimp DIR [--lcdb FILE] --out DIR`` - (re)build the imported part;
* ``metaopt kb merge SRC... --into DIR [--learners L,...] [--replace]`` - add other KBs' rows (e.g. the new
  pools of a build directory, one learner's only; ``--replace``: re-measured pools replace the KB's)
  to a KB, recording the step in its manifest;
* ``metaopt kb add-study --storage URL --study NAME --data FILE --target COL`` - add a
  user's Optuna study;
* ``metaopt kb prefit [--path DIR] [--learners L,...]`` - fit and cache a KB's meta-models once, so that runs
  with a short time budget need not;
* ``metaopt kb build ...`` - from :mod:`metaopt.cli._kb_build` where present.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path
from typing import Any


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("kb", help="inspect, import into and extend the knowledge base",
                       description="Inspect, import into and extend the knowledge base of past evaluations.")
    kb_sub = p.add_subparsers(dest="kb_command", metavar="KB_COMMAND", parser_class=type(p))
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])

    info = kb_sub.add_parser("info", help="counts, coverage and sources of a knowledge base")
    info.add_argument("--path", help="knowledge-base directory (default: the shipped one or $METAOPT_KB)")
    info.add_argument("--json", action="store_true", help="print one JSON object")
    info.set_defaults(func=run_info)

    imp = kb_sub.add_parser("import", help="(re)build a KB from existing histories (TabRepo, openml-pimp)",
                            description="Import existing hyperparameter histories into a knowledge base "
                                        "written to --out (replacing the imported files there).")
    imp.add_argument("--tabrepo", metavar="DIR", help="TabRepo LightGBM directory (histories/tabrepo_lightgbm)")
    imp.add_argument("--pimp", metavar="DIR", help="openml-pimp directory (histories/openml_pimp)")
    imp.add_argument("--lcdb", metavar="FILE",
                     help="LCDB datasets.csv (openml_qualities/lcdb_datasets.csv): fill the imported tasks' "
                          "missing OpenML qualities by OpenML data id")
    imp.add_argument("--merge", metavar="DIR", action="append", default=[],
                     help="also merge an existing KB directory (repeatable), e.g. a corpus build")
    imp.add_argument("--out", required=True, metavar="DIR", help="output KB directory")
    imp.set_defaults(func=run_import)

    mrg = kb_sub.add_parser("merge", help="add the rows of other KB directories to a KB",
                            description="Merge KB directories (e.g. build directories) into a KB. Rows already "
                                        "there are kept; a row whose key is there with other values is an "
                                        "error and nothing is written (--replace: the sources' pools "
                                        "replace the KB's). The step is appended to the KB's rebuild "
                                        "command.")
    mrg.add_argument("sources", nargs="+", metavar="SRC", help="KB directory to merge (repeatable)")
    mrg.add_argument("--into", required=True, metavar="DIR", help="the KB to extend (e.g. metadata)")
    mrg.add_argument("--learners", metavar="L,...",
                     help="merge only these learners' evaluations of the sources (default: all)")
    mrg.add_argument("--replace", action="store_true",
                     help="the sources' pools replace the KB's: every evaluation of a (task, learner) pair "
                          "the sources evaluated is dropped first (re-measured pools, e.g. after a change "
                          "of how a learner fits)")
    mrg.add_argument("--out", metavar="DIR", help="write the result here instead of replacing --into")
    mrg.set_defaults(func=run_merge)

    _register_add_study(kb_sub)

    pre = kb_sub.add_parser("prefit", help="fit and cache a KB's meta-models once, for runs with a short time "
                                           "budget",
                            description="Fit the full meta-models of a knowledge base and cache them on disk "
                                        "($METAOPT_CACHE_DIR, default ~/.cache/metaopt), once per KB and metaopt "
                                        "version. A 'tune --timeout' too short to fit one ranks with a quick "
                                        "meta-model without its surrogate instead; after this it need not.")
    pre.add_argument("--path", help="knowledge-base directory (default: the shipped one or $METAOPT_KB)")
    pre.add_argument("--learners", metavar="L,...",
                     help="these meta-models only ('auto': the one of all learners; default: auto and each of "
                          "the KB's learners, every one tune may use)")
    pre.set_defaults(func=run_prefit)

    from metaopt.cli import _kb_build

    _kb_build.register(kb_sub)


def _register_add_study(kb_sub: argparse._SubParsersAction) -> None:
    from metaopt.core import TASK_KINDS

    add = kb_sub.add_parser("add-study", help="add a completed Optuna study on your own data to a KB",
                            description="Add the completed trials of an Optuna study (RDB/SQLite or journal "
                                        "storage) to a knowledge base, with the dataset's meta-features.")
    add.add_argument("--storage", required=True, help="Optuna storage URL (sqlite:///x.db, "
                                                      "postgresql+psycopg2://..., journal:///path/x.log) or an "
                                                      "existing SQLite or journal file; nothing is created")
    add.add_argument("--study", "--study-name", dest="study", required=True,
                     help="study name (a 'metaopt tune --learner auto' study brings its other learners' studies, "
                          "NAME+<learner>, along)")
    add.add_argument("--data", required=True, help="the dataset the study tuned on (CSV/ARFF/Parquet)")
    add.add_argument("--target", required=True, help="target column")
    add.add_argument("--learner", help="learner the trial parameters belong to (default: the one a study of "
                                       "'metaopt tune' recorded, else lightgbm; given, only that study is added)")
    add.add_argument("--metric", choices=["roc_auc", "log_loss", "accuracy", "rmse", "r2"],
                     help="the metric the study's objective value is (default: the one a study of "
                          "'metaopt tune' recorded; needed for other studies)")
    add.add_argument("--kind", choices=TASK_KINDS,
                     help="the task kind (default: the one a study of 'metaopt tune' recorded, else inferred)")
    add.add_argument("--groups", metavar="COL", help="the --groups column the study was tuned with")
    add.add_argument("--time-column", metavar="COL", help="the --time-column the study was tuned with")
    add.add_argument("--name", help="task name (default: the data file's stem)")
    add.add_argument("--n-folds", type=int, help="folds of the study's cross-validation, if any")
    add.add_argument("--kb", metavar="PATH", help="KB directory to extend (default: the shipped one)")
    add.add_argument("--out", metavar="DIR", help="write the resulting KB directory here instead of in place")
    add.set_defaults(func=run_add_study)


# ----------------------------------------------------------------------------------------------


def info_dict(kb, load_time_s: float | None = None) -> dict:
    """What ``kb info --json`` prints."""
    counts = kb.counts()
    m = kb.manifest
    out = {
        "path": str(kb.path) if kb.path else None,
        "schema_version": m.get("schema_version"),
        "metaopt_version": m.get("metaopt_version"),
        "created_at": m.get("created_at"),
        "counts": {k: counts[k] for k in ("tasks", "configs", "evaluations")},
        "per_learner": counts["per_learner"],
        "per_kind": counts["per_kind"],
        "evaluations_per_source": counts["evaluations_per_source"],
        "tasks_per_source": {str(k): int(v) for k, v in kb.tasks["source"].value_counts().sort_index().items()},
        "n_meta_features": len(kb.meta_feature_names()),
        "by_collection": by_collection(kb),
        "sources": [{k: s.get(k) for k in ("name", "description", "licence", "origin", "commit") if s.get(k)}
                    for s in kb.sources],
        "command": m.get("command"),
    }
    if load_time_s is not None:
        out["load_time_s"] = round(load_time_s, 4)
    return out


def by_collection(kb) -> dict:
    """``{collection: {size band: {"tasks": n, "complete": {learner: n}}}}`` (``kb info``'s coverage table)."""
    from metaopt.kb import coverage_table

    out: dict = {}
    for _, r in coverage_table(kb).iterrows():
        complete = {c.removeprefix("complete_"): int(r[c]) for c in r.index if c.startswith("complete_")}
        out.setdefault(r["collection"], {})[r["size_band"]] = {"tasks": int(r["tasks"]), "complete": complete}
    return out


def _print_by_collection(table: dict, learners: list[str]) -> None:
    from metaopt.kb import SIZE_BANDS

    present = list(dict.fromkeys(band for bands in table.values() for band in bands))
    known = [b for b, _, _ in SIZE_BANDS]
    bands = [b for b in known if b in present] + [b for b in present if b not in known]
    print("\ntasks by collection and size (dataset rows); in brackets those with a complete "
          + " / ".join(learners) + " pool:")
    rows = {}
    for coll, per_band in table.items():
        cells = []
        for b in bands + ["all"]:
            vals = list(per_band.values()) if b == "all" else [per_band[b]] if b in per_band else []
            n = sum(v["tasks"] for v in vals)
            done = "/".join(str(sum(v["complete"].get(lr, 0) for v in vals)) for lr in learners)
            cells.append(f"{n} ({done})" if vals else "-")
        rows[coll] = cells
    width = 2 + max([len(c) for cells in rows.values() for c in cells] + [16])  # grows with the learners
    print(f"  {'collection':<14}" + "".join(f"{b:>{width}}" for b in bands + ["all"]))
    for coll, cells in rows.items():
        print(f"  {coll:<14}" + "".join(f"{c:>{width}}" for c in cells))


def _share(ok: int, n: int) -> str:
    return f"{100.0 * ok / n:5.1f}%" if n else "    -"


def run_info(args: argparse.Namespace) -> int:
    from metaopt.kb import KnowledgeBase

    t0 = time.perf_counter()
    kb = KnowledgeBase.load(args.path)
    dt = time.perf_counter() - t0
    d = info_dict(kb, dt)
    if args.json:
        json.dump(d, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    c = d["counts"]
    print(f"knowledge base {d['path']} (schema v{d['schema_version']}, created {d['created_at']} "
          f"by metaopt {d['metaopt_version']}; loaded in {dt:.2f} s)")
    print(f"  {c['tasks']} tasks, {c['configs']} configurations, {c['evaluations']} evaluations, "
          f"{d['n_meta_features']} meta-features")
    print("\nper learner:")
    print(f"  {'learner':<16}{'tasks':>8}{'configs':>10}{'evals':>10}{'ok':>8}")
    for learner, v in d["per_learner"].items():
        print(f"  {learner:<16}{v['tasks']:>8}{v['configs']:>10}{v['evaluations']:>10}"
              f"{_share(v['ok'], v['evaluations']):>8}")
    print("\nper task kind:")
    print(f"  {'kind':<16}{'tasks':>8}{'evals':>10}{'ok':>8}")
    for kind, v in d["per_kind"].items():
        print(f"  {kind:<16}{v['tasks']:>8}{v['evaluations']:>10}{_share(v['ok'], v['evaluations']):>8}")
    _print_by_collection(d["by_collection"], list(d["per_learner"]))
    print("\nevaluations per source: " + ", ".join(f"{k} {v}" for k, v in d["evaluations_per_source"].items()))
    print("\nsources:")
    for s in d["sources"]:
        print(f"  - {s.get('name')}: {s.get('licence', 'licence unknown')}")
        if s.get("origin"):
            print(f"      {s['origin']}" + (f" @ {s['commit']}" if s.get("commit") else ""))
    if d.get("command"):
        print(f"\nrebuild: {d['command']}")
    return 0


def run_import(args: argparse.Namespace) -> int:
    from metaopt.exceptions import ConfigError
    from metaopt.kb import KnowledgeBase

    if not (args.tabrepo or args.pimp or args.merge):
        raise ConfigError("nothing to import: give --tabrepo DIR and/or --pimp DIR (or --merge DIR)")
    kb = KnowledgeBase.empty()
    if args.tabrepo:
        from metaopt.kb import import_tabrepo

        kb = kb.merge(import_tabrepo(args.tabrepo))
    if args.pimp:
        from metaopt.kb import import_pimp

        kb = kb.merge(import_pimp(args.pimp, tabrepo_dir=args.tabrepo))
    if args.tabrepo or args.pimp:
        from metaopt.kb import enrich_imported

        kb, report = enrich_imported(kb, lcdb=args.lcdb, pimp_dir=args.pimp, tabrepo_dir=args.tabrepo)
        if report.matched:
            print(f"meta-features: {report.summary()}", file=sys.stderr)
    elif args.lcdb:
        raise ConfigError("--lcdb fills meta-features of imported tasks: give --tabrepo DIR and/or --pimp DIR")
    for other in args.merge:
        kb = kb.merge(KnowledgeBase.load(other))
    command = "metaopt kb import " + " ".join(
        [f"--tabrepo {shlex.quote(args.tabrepo)}"] * bool(args.tabrepo)
        + [f"--pimp {shlex.quote(args.pimp)}"] * bool(args.pimp)
        + [f"--lcdb {shlex.quote(args.lcdb)}"] * bool(args.lcdb)
        + [f"--merge {shlex.quote(m)}" for m in args.merge]
        + [f"--out {shlex.quote(args.out)}"])
    path = kb.save(args.out, command=command)
    c = kb.counts()
    print(f"wrote {path}: {c['tasks']} tasks, {c['configs']} configurations, {c['evaluations']} evaluations")
    return 0


def run_merge(args: argparse.Namespace) -> int:
    from metaopt.exceptions import ConfigError
    from metaopt.kb import writing

    learners = [x.strip() for x in (args.learners or "").split(",") if x.strip()]
    if args.learners is not None and not learners:
        raise ConfigError("--learners is empty: give learner names, e.g. --learners lightgbm")
    with writing(args.out or args.into):  # another merge or add-study saving meanwhile would be lost
        base, kb, unfinished = _merged(args, learners)
    old, new = base.counts()["per_learner"], kb.counts()["per_learner"]
    out = args.out or args.into
    print(f"wrote {out}: evaluations per learner " + ", ".join(
        f"{lr} {old.get(lr, {}).get('evaluations', 0)} -> {v['evaluations']}" for lr, v in new.items()))
    if unfinished:
        print(f"kept {len(unfinished)} pool(s) the sources measured on fewer configurations (builds not finished "
              "there; merge again once they are): " + ", ".join(f"{t} {lr}" for t, lr in sorted(unfinished)))
    return 0


def _merged(args: argparse.Namespace, learners: list[str]) -> tuple[Any, Any, set[tuple[str, str]]]:
    """(the KB merged into, the merged KB, pools kept from it), the merged KB saved with its step recorded."""
    from metaopt.kb import KnowledgeBase

    base = KnowledgeBase.load(args.into)
    kb = base
    unfinished: set[tuple[str, str]] = set()
    for src in args.sources:
        other = KnowledgeBase.load(src)
        other = other.only_learners(learners) if learners else other
        if args.replace:
            unfinished |= kb.unfinished_pools(other)
        kb = kb.replace_pools(other) if args.replace else kb.merge(other)
    step = "metaopt kb merge " + " ".join(
        [shlex.quote(s) for s in args.sources] + [f"--into {shlex.quote(args.into)}"]
        + [f"--learners {','.join(learners)}"] * bool(learners) + ["--replace"] * bool(args.replace))
    before = base.manifest.get("command")
    kb.save(args.out or args.into, command=f"{before} ; then {step}" if before else step)
    return base, kb, unfinished


def run_add_study(args: argparse.Namespace) -> int:
    from metaopt.kb import import_optuna_study

    res = import_optuna_study(storage=args.storage, study_name=args.study, data=args.data, target=args.target,
                              learner=args.learner, metric=args.metric, kind=args.kind, name=args.name,
                              n_folds=args.n_folds, kb_path=args.kb, out=args.out, groups=args.groups,
                              time_column=args.time_column)
    learners = ", ".join(f"{lrn} {n}" for lrn, n in res["learners"].items()) if len(res["learners"]) > 1 \
        else res["learner"]
    print(f"added task {res['task_id']} with {res['n_trials']} trials ({learners}, {res['metric']}) to {res['path']}")
    kb_option = "" if _is_default_kb(res["path"]) else f" with --kb {shlex.quote(str(res['path']))}"
    print(f"its best trial comes first when you tune or recommend{kb_option} on a table with these columns and "
          "target (next month's rows)")
    path = "" if _is_default_kb(res["path"]) else f" --path {shlex.quote(str(res['path']))}"
    print(f"the meta-models are fitted again for the changed knowledge base on its next use; 'metaopt kb prefit{path}' "
          "does it now, so the next tune spends no time budget on it")
    return 0


def _is_default_kb(path: Any) -> bool:
    from metaopt.exceptions import KnowledgeBaseError
    from metaopt.kb import default_kb_path

    try:
        return Path(path).resolve() == Path(default_kb_path()).resolve()
    except KnowledgeBaseError:  # no default KB: the one written is not it
        return False


def run_prefit(args: argparse.Namespace) -> int:
    from metaopt.metamodel import cache_dir
    from metaopt.recommender import prefit

    learners = None if args.learners is None else [x.strip() for x in args.learners.split(",") if x.strip()]
    for name, seconds in prefit(args.path, learners):
        which = "of all learners (auto)" if name == "auto" else f"of {name}"
        print(f"meta-model {which}: " + ("cached already" if seconds is None else f"fitted in {seconds:.1f} s"),
              flush=True)
    print(f"cache: {cache_dir()}")
    return 0
