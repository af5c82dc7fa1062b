"""``metaopt features DATA --target COL``: print a dataset's meta-features."""

from __future__ import annotations

import argparse
import json
import math
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "features",
        help="compute OpenML-compatible meta-features of a dataset",
        description="Compute a dataset's meta-features (OpenML data-quality names; metaopt extras start with mo_).",
    )
    p.add_argument("data", help="CSV/TSV/Parquet/ARFF file, openml:<data id> or openml-task:<task id>")
    p.add_argument("--target", "-t", help="target column (default: the file's default target or last column)")
    p.add_argument("--kind", choices=["binary", "multiclass", "regression"], help="override the inferred task kind")
    p.add_argument("--groups", nargs="+", metavar="GROUP",
                   help="meta-feature groups to compute (default: all); see --list-groups")
    p.add_argument("--random-state", type=int, default=0, help="seed for subsampling and landmarkers (default 0)")
    p.add_argument("--json", action="store_true", help="print one JSON object (values, groups, timings, sampling)")
    p.add_argument("--verbose", "-v", action="store_true", help="also print timings per group and loading notes")
    p.set_defaults(func=run)


def _fmt(v: float) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "NaN"
    if float(v).is_integer() and abs(v) < 1e15:
        return str(int(v))
    return f"{v:.6g}"


def run(args: argparse.Namespace) -> int:
    import time

    from metaopt.data import load_data
    from metaopt.features import GROUPS, extract_meta_features

    t0 = time.perf_counter()
    ds = load_data(args.data, target=args.target, kind=args.kind)
    t_load = time.perf_counter() - t0
    groups = tuple(args.groups) if args.groups else GROUPS
    mf = extract_meta_features(ds, groups=groups, random_state=args.random_state)
    if args.json:
        out = {
            "dataset": ds.name, "target": ds.target, "kind": ds.kind,
            "values": {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in mf.values.items()},
            "groups": mf.groups, "timings_s": mf.timings, "sampling": mf.sampling,
            "load_time_s": t_load, "dropped_columns": ds.dropped, "notes": ds.notes,
        }
        json.dump(out, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
        return 0
    print(f"{ds.name}: {ds.n_rows} rows x {ds.n_features} features, target {ds.target!r} ({ds.kind})")
    if ds.dropped:
        print("dropped columns: " + ", ".join(f"{c} ({r})" for c, r in ds.dropped.items()))
    if args.verbose:
        for note in ds.notes:
            print(f"note: {note}")
    for group, names in mf.groups.items():
        timing = f"  [{mf.timings.get(group, float('nan')):.3f} s]" if args.verbose else ""
        print(f"\n{group} ({len(names)}){timing}")
        width = max((len(n) for n in names), default=0)
        for n in names:
            print(f"  {n:<{width}}  {_fmt(mf.values[n])}")
    if args.verbose:
        print(f"\nload {t_load:.3f} s, meta-features {sum(mf.timings.values()):.3f} s; sampling: {mf.sampling}")
    return 0
