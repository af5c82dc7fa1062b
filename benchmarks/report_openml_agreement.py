"""Agreement of metaopt's meta-features with the values OpenML computed.

For every corpus data set that has OpenML reference qualities
(``openml_qualities/corpus_overlap.csv``), compute metaopt's general,
statistical and info-theory groups and compare each quality with OpenML's value
(LCDB's ``lcdb_datasets.csv`` first, TabRepo's ``task_metadata_289.csv`` for the
general qualities it has). Prints, per quality, the number of compared data
sets, how many are exactly equal and the median relative error; then per-group
summaries.

    python benchmarks/report_openml_agreement.py [--markdown FILE] [--details]

The data folder is ``$METAOPT_SHARED_DATA`` or ``<repo>/../shared/data``.

Files are read in "OpenML view": ARFF attributes keep their declared types and
levels, rows with a missing target are kept out, and the few known coding
differences between a corpus file and its OpenML upload are undone
(:data:`OPENML_VIEW`), so that only definitions are compared.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from metaopt.data import Dataset  # noqa: E402
from metaopt.features import extract_meta_features  # noqa: E402

GROUPS = ("general", "statistical", "info-theory")

# Corpus file -> how its OpenML upload differs (documented in the data README / overlap table).
OPENML_VIEW: dict[str, dict] = {
    "breast-w": {"drop": ["Id"]},                  # row id, not an OpenML attribute
    "splice": {"drop": ["Instance_name"]},         # row id attribute in OpenML
    "vowel": {"drop": ["Train or Test"]},          # OpenML's version 307 leaves it out
    "dna": {"nominal": "all"},                     # CSV from R holds 0/1 numbers; OpenML: nominal
    "boston": {"nominal": ["RAD"]},                # OpenML 531 declares RAD nominal (9 levels)
    "anneal": {"missing_token": "?"},              # file declares '?' as a level; OpenML: missing
    # OpenML's MaxNominalAttDistinctValues for 6332 is 71 = distinct values of `customer`: it leaves
    # out `timestamp` (296) and `cylinder_number` (429), though both count in NumberOfFeatures
    # (inferred from the values; openml-pimp's older qualities show the same exclusion).
    "cylinder-bands": {"skip": {"MaxNominalAttDistinctValues"}},
}


TABREPO_QUALITIES = ("MajorityClassSize", "MaxNominalAttDistinctValues", "MinorityClassSize",
                     "NumberOfClasses", "NumberOfFeatures", "NumberOfInstances",
                     "NumberOfInstancesWithMissingValues", "NumberOfMissingValues",
                     "NumberOfNumericFeatures", "NumberOfSymbolicFeatures")


def shared_data_dir() -> Path:
    env = os.environ.get("METAOPT_SHARED_DATA")
    if env:
        return Path(env)
    return REPO.parent / "shared" / "data"


def _read_arff(path: Path) -> pd.DataFrame:
    import arff

    with open(path, encoding="utf-8", errors="replace") as fh:
        obj = arff.load(fh)
    cols = [a[0] for a in obj["attributes"]]
    df = pd.DataFrame(obj["data"], columns=cols)
    for name, typ in obj["attributes"]:
        if isinstance(typ, list):
            df[name] = pd.Categorical(df[name], categories=[str(t) for t in typ])
        elif str(typ).upper() in ("NUMERIC", "REAL", "INTEGER"):
            df[name] = pd.to_numeric(df[name], errors="coerce").astype("float64")
        else:  # STRING
            df[name] = df[name].astype("category")
    return df


def openml_view(path: Path, target: str, name: str, kind: str) -> Dataset:
    """The data set as OpenML sees it (declared types, known coding fixes applied)."""
    if path.suffix.lower() == ".arff":
        df = _read_arff(path)
    else:
        df = pd.read_csv(path)
        for c in df.columns:
            if not pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c]):
                df[c] = df[c].astype("string").astype("category")
            else:
                df[c] = df[c].astype("float64")
    fix = OPENML_VIEW.get(name, {})
    df = df.drop(columns=[c for c in fix.get("drop", []) if c in df.columns])
    nominal = fix.get("nominal", [])
    if nominal == "all":
        nominal = [c for c in df.columns if c != target]
    for c in nominal:
        if not isinstance(df[c].dtype, pd.CategoricalDtype):
            df[c] = df[c].astype("Int64").astype("string").astype("category")
    token = fix.get("missing_token")
    if token is not None:
        for c in df.columns:
            if isinstance(df[c].dtype, pd.CategoricalDtype) and token in df[c].cat.categories:
                df[c] = df[c].cat.remove_categories([token])
    y = df[target]
    keep = y.notna().to_numpy()
    df = df.loc[keep].reset_index(drop=True)
    y = df.pop(target)
    if kind == "regression":
        y = y.astype("float64")
    elif not isinstance(y.dtype, pd.CategoricalDtype):
        y = y.astype("string").astype("category")
    return Dataset(X=df, y=y, kind=kind, name=name, target=target, source=str(path))


def reference_table(data: Path) -> pd.DataFrame:
    """One row per OpenML data id: LCDB qualities, TabRepo general qualities where LCDB has none.

    A NaN cell means OpenML reported no value (null) where the data set is in LCDB; for a
    TabRepo-only data set the qualities TabRepo does not list are absent (``_source`` says which).
    """
    lcdb = pd.read_csv(data / "openml_qualities" / "lcdb_datasets.csv").set_index("openmlid")
    tab = pd.read_csv(data / "histories" / "tabrepo_lightgbm" / "task_metadata_289.csv")
    tab = tab.drop_duplicates("did").set_index("did")
    tab = tab[list(TABREPO_QUALITIES)]
    ref = lcdb.drop(columns=["Name"]).combine_first(tab)
    ref["_source"] = np.where(ref.index.isin(lcdb.index), "lcdb", "tabrepo")
    return ref


def group_of(quality: str) -> str:
    from metaopt.features._general import NAMES as G
    from metaopt.features._infotheory import NAMES as I
    from metaopt.features._statistical import NAMES as S
    if quality in G:
        return "general"
    if quality in S:
        return "statistical"
    if quality in I:
        return "info-theory"
    return "other"


def rel_error(ours: float, ref: float) -> float:
    if math.isnan(ours) and math.isnan(ref):
        return 0.0
    if math.isnan(ours) or math.isnan(ref):
        return math.inf
    return abs(ours - ref) / max(abs(ref), 1e-9)


def is_equal(ours: float, ref: float) -> bool:
    if math.isnan(ours) and math.isnan(ref):
        return True
    if math.isnan(ours) or math.isnan(ref):
        return False
    return abs(ours - ref) <= 1e-9 * max(1.0, abs(ref))


def compare(data: Path | None = None) -> pd.DataFrame:
    """Long table: dataset, quality, group, ours, openml, equal, rel_error, shape_match."""
    data = data or shared_data_dir()
    overlap = pd.read_csv(data / "openml_qualities" / "corpus_overlap.csv")
    catalog = pd.read_csv(data / "corpus" / "catalog.csv").set_index("name")
    ref = reference_table(data)
    rows = []
    for _, o in overlap.iterrows():
        name = o["name"]
        did = int(o["openml_data_id"])
        if did not in ref.index:
            continue
        cat = catalog.loc[name]
        ds = openml_view(data / "corpus" / o["file"], cat["target"], name, cat["task"])
        mf = extract_meta_features(ds, groups=GROUPS, random_state=0)
        r = ref.loc[did]
        shape_match = (mf["NumberOfInstances"] == r["NumberOfInstances"]
                       and mf["NumberOfFeatures"] == r["NumberOfFeatures"])
        source = r["_source"]
        for q, v_ref in r.items():
            if q not in mf.values or q in OPENML_VIEW.get(name, {}).get("skip", ()):
                continue
            v_ref = float(v_ref)
            if source == "tabrepo" and (q not in TABREPO_QUALITIES or math.isnan(v_ref)):
                continue  # TabRepo lists only some qualities; a blank there is "not listed"
            v = float(mf[q])
            if math.isnan(v_ref) and math.isnan(v):
                continue  # both undefined: nothing to compare
            rows.append({"dataset": name, "openml_data_id": did, "quality": q, "group": group_of(q),
                         "ours": v, "openml": v_ref, "equal": is_equal(v, v_ref),
                         "rel_error": rel_error(v, v_ref), "shape_match": bool(shape_match)})
    return pd.DataFrame(rows)


def summarise(long: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    per_q = (long.groupby(["group", "quality"])
             .agg(datasets=("dataset", "size"), exactly_equal=("equal", "sum"),
                  median_rel_error=("rel_error", "median"), max_rel_error=("rel_error", "max"))
             .reset_index().sort_values(["group", "quality"]))
    per_g = (long.groupby("group")
             .agg(comparisons=("dataset", "size"), exactly_equal=("equal", "sum"),
                  median_rel_error=("rel_error", "median"))
             .reset_index())
    per_g["median_of_quality_medians"] = per_g["group"].map(
        per_q.groupby("group")["median_rel_error"].median())
    per_g["qualities"] = per_g["group"].map(per_q.groupby("group").size())
    return per_q, per_g


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--markdown", type=Path, help="also write the tables as Markdown to this file")
    ap.add_argument("--details", action="store_true", help="print every disagreement")
    args = ap.parse_args(argv)
    data = shared_data_dir()
    if not (data / "openml_qualities" / "corpus_overlap.csv").exists():
        print(f"no reference data under {data}", file=sys.stderr)
        return 1
    long = compare(data)
    per_q, per_g = summarise(long)
    pd.set_option("display.width", 200)
    n_ds = long["dataset"].nunique()
    print(f"{n_ds} data sets, {len(long)} comparisons\n")
    print(per_q.to_string(index=False, float_format=lambda x: f"{x:.3g}"))
    print()
    print(per_g.to_string(index=False, float_format=lambda x: f"{x:.3g}"))
    if args.details:
        bad = long[~long["equal"]].sort_values(["quality", "rel_error"])
        print()
        print(bad.to_string(index=False, float_format=lambda x: f"{x:.6g}"))
    if args.markdown:
        with open(args.markdown, "w") as fh:
            fh.write(f"# Agreement with OpenML ({n_ds} data sets)\n\n")
            fh.write(_md_table(per_g))
            fh.write("\n")
            fh.write(_md_table(per_q))
    return 0


def _md_table(df: pd.DataFrame) -> str:
    """A GitHub Markdown table (no dependency on ``tabulate``)."""
    def fmt(v):
        if isinstance(v, (float, np.floating)):
            return f"{v:.3g}"
        return str(v)
    lines = ["| " + " | ".join(map(str, df.columns)) + " |",
             "|" + "|".join("---" for _ in df.columns) + "|"]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
