"""``metaopt features DATA --target COL``: print a dataset's meta-features."""

from __future__ import annotations

import argparse
import json
import math
import re
import shlex
import sys


def register(sub: argparse._SubParsersAction) -> None:
    from metaopt.cli._recommend import kind_choices
    from metaopt.features import GROUPS

    p = sub.add_parser(
        "features",
        help="compute OpenML-compatible meta-features of a dataset",
        description=("Compute a dataset's meta-features (OpenML data-quality names; metaopt extras start with "
                     "mo_). Prints a few telling values per group; --all prints every value, --json all of "
                     "them machine-readable."),
    )
    p.add_argument("data", help="CSV/TSV/Parquet/ARFF file (- for standard input), openml:<data id> or "
                   "openml-task:<task id>")
    p.add_argument("--target", "-t", help="target column (default: the file's default target or last column)")
    p.add_argument("--kind", choices=kind_choices(), help="override the inferred task kind")
    p.add_argument("--groups", nargs="+", metavar="GROUP",
                   help=f"meta-feature groups to compute (default: all): {', '.join(GROUPS)}")
    p.add_argument("--random-state", type=int, default=0, help="seed for subsampling and landmarkers (default 0)")
    p.add_argument("--json", action="store_true", help="print one JSON object (values, groups, timings, sampling)")
    p.add_argument("--all", "-a", action="store_true", dest="all_values",
                   help="print every value of each group (NaN = not defined for this data)")
    p.add_argument("--verbose", "-v", action="store_true",
                   help="print every value, plus timings per group and loading notes")
    p.set_defaults(func=run)


#: Values shown by default, per group (those defined for the data: classification or regression ones).
_HEADLINE = {
    "general": ("NumberOfInstances", "NumberOfFeatures", "NumberOfClasses", "NumberOfNumericFeatures",
                "NumberOfSymbolicFeatures", "PercentageOfMissingValues", "MinorityClassPercentage"),
    "statistical": ("MeanSkewnessOfNumericAtts", "MeanKurtosisOfNumericAtts", "mo_PercentageOfNumericAttsWithOutliers",
                    "mo_TargetSkewness", "mo_MaxAbsCorrelationWithTarget"),
    "info-theory": ("ClassEntropy", "MeanMutualInformation", "EquivalentNumberOfAtts", "mo_TargetEntropyBinned",
                    "mo_MeanMutualInformationAll"),
    "landmarking": ("DecisionStumpAUC", "NaiveBayesAUC", "kNN1NAUC", "mo_LinearDiscriminantAUC",
                    "mo_DecisionStumpR2", "mo_kNN1NR2", "mo_LinearRegressionR2"),
    "metaopt": ("mo_LightGBMAUC", "mo_LightGBMR2", "mo_ImbalanceRatio", "mo_MaxAbsFeatureCorrelation",
                "mo_PercentageOfFeaturesWithMissingValues", "mo_MaxCatCardinality"),
}
# names of values defined only for the other kind of target (see docs/meta_features.md)
_REGRESSION_ONLY = re.compile(r"^mo_Target|R2$|NRMSE$|WithTarget$")
_CLASSIFICATION_ONLY = re.compile(r"Class|AUC$|ErrRate$|Kappa$|LogLoss$|ImbalanceRatio$|Entropy|MutualInformation"
                                  r"|EquivalentNumberOfAtts|NoiseToSignal")


def _fmt(v: float) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "NaN"
    if float(v).is_integer() and abs(v) < 1e15:
        return str(int(v))
    return f"{v:.6g}"


def _is_nan(v: float | None) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _nan_line(mf, kind: str, listed: bool) -> str | None:
    """One line saying which values are NaN and why (not defined for this data)."""
    names = [n for g, ns in mf.groups.items() if g != "sampling" for n in ns]
    nan = [n for n in names if _is_nan(mf.values[n])]
    if not nan:
        return None
    other, pattern = ("regression", _REGRESSION_ONLY) if kind != "regression" else ("classification",
                                                                                    _CLASSIFICATION_ONLY)
    n_kind = sum(bool(pattern.search(n)) for n in nan)
    parts = [f"{n_kind} apply only to {other} targets"] if n_kind else []
    if len(nan) > n_kind:
        parts.append(f"{len(nan) - n_kind} need inputs it lacks (numeric or nominal columns, variation)")
    return (f"NaN: {len(nan)} of {len(names)} values are not defined for this data: {', '.join(parts)}."
            + ("" if listed else " --all lists them."))


def _print_groups(mf, show_all: bool, timings: bool) -> None:
    for group, names in mf.groups.items():
        if group == "sampling" and not show_all:
            continue
        timing = f"  [{mf.timings.get(group, float('nan')):.3f} s]" if timings else ""
        shown = names if show_all else [n for n in _HEADLINE.get(group, names[:5])
                                        if n in names and not _is_nan(mf.values[n])]
        count = f"{len(names)}" if show_all else f"{len(names)} values, {len(shown)} shown"
        print(f"\n{group} ({count}){timing}")
        width = max((len(n) for n in shown), default=0)
        for n in shown:
            print(f"  {n:<{width}}  {_fmt(mf.values[n])}")


def run(args: argparse.Namespace) -> int:
    import time

    from metaopt.data import load_data
    from metaopt.features import GROUPS, extract_meta_features

    t0 = time.perf_counter()
    ds = load_data(args.data, target=args.target, kind=args.kind)
    t_load = time.perf_counter() - t0
    groups = tuple(args.groups) if args.groups else GROUPS
    columns = [g for g in groups if g not in (*GROUPS, "all") and g in map(str, ds.X.columns)]
    if columns:  # tune's and recommend's --groups COL names rows that belong together; here it is another thing
        from metaopt.exceptions import ConfigError

        raise ConfigError(f"--groups here names meta-feature groups ({', '.join(GROUPS)} or 'all'), and "
                          f"{columns[0]!r} is a column of the data: 'tune --groups COL' and 'recommend --groups "
                          f"COL' leave such a column out of the features: drop it from the file to see the "
                          f"meta-features they use")
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
    for note in ds.notes if args.verbose else ds.essential_notes:  # lost rows, a kind not meant: always said
        print(f"note: {note}")
    if mf.sampling.get("subsampled"):
        print(f"note: values other than the general group use {mf.sampling['sample_rows']} sampled rows")
    show_all = args.all_values or args.verbose
    _print_groups(mf, show_all=show_all, timings=args.verbose)
    nan_line = _nan_line(mf, ds.kind, listed=show_all)
    print()
    if nan_line:
        print(nan_line)
    if args.verbose:
        print(f"load {t_load:.3f} s, meta-features {sum(mf.timings.values()):.3f} s; sampling: {mf.sampling}")
    print(f"next: metaopt recommend {shlex.quote(str(args.data))} --target {shlex.quote(str(ds.target))}"
          f"   # which configurations to try first")
    return 0
