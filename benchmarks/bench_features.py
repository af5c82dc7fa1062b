"""Meta-feature extraction speed: metaopt against pymfe on the same data.

Usage::

    python benchmarks/bench_features.py             # full run (about 40 s of pymfe per frame)
    python benchmarks/bench_features.py --quick     # smaller frames
    python benchmarks/bench_features.py --no-pymfe  # metaopt only
    python benchmarks/bench_features.py --landmarker-agreement  # landmarkers vs OpenML's values

Frames are *resampled real data* from ``/work/shared/data/corpus`` (override the folder with
``--corpus`` or ``METAOPT_CORPUS``), so that column types, value distributions, class balance
and missingness are realistic while the shape is controlled:

* rows are drawn with replacement from the real rows; numeric cells get Gaussian jitter of
  1% of the column's standard deviation (so that rows are not exact copies) and
  ``--missing`` (default 2%) of all feature cells are then set missing;
* when more columns are needed than the source has, extra columns are copies of source
  columns whose values are permuted *within each class*, keeping every column's marginal and
  class-conditional distribution (names get a ``_copyN`` suffix).

Frames: ``credit-g`` (binary; 7 numeric + 13 nominal) resampled to 20,000 x 20; ``hypothyroid``
(4 classes, one with 2 members; 7 numeric + 22 nominal, 5.5% missing cells) resampled to
5,000 x 100 and 100,000 x 100.  The 100k frame runs metaopt only (pymfe would take far too long)
and prints per-group timings.

pymfe gets ``MFE()`` (its default groups: general, statistical, info-theory, model-based,
landmarking) with ``random_state=0``; numeric missing values are imputed with the column
median and nominal ones become the level ``"?"`` (pymfe does not accept missing values).  The
pymfe time is ``fit`` + ``extract``; the metaopt time is one ``extract_meta_features`` call
with all groups (including loading the frame into a ``Dataset``).  Both are single-process.
Bars: metaopt >= 20x faster than pymfe on the first two frames and < 5 s on 100k x 100.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

DEFAULT_CORPUS = Path(os.environ.get("METAOPT_CORPUS", "/work/shared/data/corpus"))


def load_source(name: str, corpus: Path) -> tuple[pd.DataFrame, pd.Series]:
    from metaopt.data import load_data

    cat = pd.read_csv(corpus / "catalog.csv").set_index("name")
    row = cat.loc[name]
    ds = load_data(corpus / row["file"], target=row["target"])
    return ds.X, ds.y


def resample_frame(X: pd.DataFrame, y: pd.Series, n_rows: int, n_cols: int, *, missing: float = 0.02,
                   seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """Real rows drawn with replacement, jittered, widened by within-class permuted copies."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, X.shape[0], size=n_rows)
    Xs = X.iloc[idx].reset_index(drop=True)
    ys = y.iloc[idx].reset_index(drop=True)
    codes = ys.cat.codes.to_numpy() if isinstance(ys.dtype, pd.CategoricalDtype) else np.zeros(n_rows, int)
    groups = [np.flatnonzero(codes == c) for c in np.unique(codes)]
    cols: dict[str, pd.Series] = {}
    src = list(Xs.columns)
    for j in range(n_cols):
        name = src[j % len(src)]
        s = Xs[name]
        if j >= len(src):
            is_cat = isinstance(s.dtype, pd.CategoricalDtype)
            vals = s.cat.codes.to_numpy(copy=True) if is_cat else s.to_numpy(dtype=float, copy=True)
            for g in groups:
                vals[g] = vals[rng.permutation(g)]
            s = pd.Series(pd.Categorical.from_codes(vals, dtype=s.dtype) if is_cat else vals)
            name = f"{name}_copy{j // len(src)}"
        if not isinstance(s.dtype, pd.CategoricalDtype):
            v = s.to_numpy(dtype=float)
            sd = float(np.std(v[np.isfinite(v)])) if np.isfinite(v).sum() > 1 else 0.0
            s = s.astype(float) + rng.normal(0.0, 0.01 * sd if sd > 0 else 0.0, size=n_rows)
        if missing > 0:
            s = s.copy()
            s[rng.random(n_rows) < missing] = np.nan
        cols[name] = s.reset_index(drop=True)
    return pd.DataFrame(cols), ys


def run_metaopt(X: pd.DataFrame, y: pd.Series) -> tuple[float, dict[str, float], int]:
    from metaopt.features import extract_meta_features

    t = time.perf_counter()
    mf = extract_meta_features(X, y, random_state=0)
    return time.perf_counter() - t, dict(mf.timings), len(mf.values)


def run_pymfe(X: pd.DataFrame, y: pd.Series) -> tuple[float, int]:
    from pymfe.mfe import MFE

    cat_idx = [i for i, c in enumerate(X.columns) if isinstance(X[c].dtype, pd.CategoricalDtype)]
    arr = np.empty(X.shape, dtype=object)
    for i, c in enumerate(X.columns):
        s = X[c]
        if i in cat_idx:
            arr[:, i] = s.astype(object).where(s.notna(), "?").astype(str).to_numpy()
        else:
            v = s.to_numpy(dtype=float)
            arr[:, i] = np.where(np.isnan(v), np.nanmedian(v) if np.isfinite(v).any() else 0.0, v)
    yy = y.astype(str).to_numpy()
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mfe = MFE(random_state=0, suppress_warnings=True)
        mfe.fit(arr, yy, cat_cols=cat_idx, suppress_warnings=True)
        names, vals = mfe.extract(suppress_warnings=True)
    return time.perf_counter() - t, len(names)


def landmarker_agreement(corpus: Path) -> pd.DataFrame:
    """|ours - OpenML| of every landmarker on the corpus datasets that OpenML also characterised.

    References: ``histories/openml_pimp/task_qualities.json`` (OpenML-100 tasks, matched to a
    corpus file by instances, features and classes; ambiguous matches skipped), else the
    ``lcdb_datasets.csv`` row of the dataset's verified OpenML id (NaiveBayes only).
    """
    import json

    from metaopt.data import load_data
    from metaopt.features._context import prepare
    from metaopt.features._landmarkers import CLASSIFICATION_LEARNERS, landmarkers

    data = corpus.parent
    cat = pd.read_csv(corpus / "catalog.csv")
    tasks = json.loads((data / "histories/openml_pimp/task_qualities.json").read_text())
    lcdb = pd.read_csv(data / "openml_qualities/lcdb_datasets.csv")
    overlap = pd.read_csv(data / "openml_qualities/corpus_overlap.csv").set_index("name")
    extra_cols = {"breast-w": "Id", "splice": "Instance_name"}      # not in the OpenML versions
    res = []
    for _, r in cat[cat.task != "regression"].iterrows():
        cands = [v for v in tasks.values() if v.get("NumberOfInstances") == r.n_rows
                 and v.get("NumberOfClasses") == r.n_classes
                 and v.get("NumberOfFeatures") in (r.n_features + 1, r.n_features)]
        ref = cands[0] if len(cands) == 1 else None
        if ref is None and not cands and r["name"] in overlap.index:
            rows = lcdb[lcdb.openmlid == overlap.loc[r["name"], "openml_data_id"]]
            ref = rows.iloc[0].to_dict() if len(rows) else None
        if ref is None:
            continue
        ds = load_data(corpus / r.file, target=r.target)
        col = extra_cols.get(r["name"])
        if col in ds.X.columns:
            ds.X = ds.X.drop(columns=[col])
        out = landmarkers(prepare(ds))
        for lm in CLASSIFICATION_LEARNERS:
            for meas in ("ErrRate", "AUC"):
                v = ref.get(lm + meas)
                if v is not None and np.isfinite(v):
                    res.append({"dataset": r["name"], "landmarker": lm, "measure": meas,
                                "metaopt": out[lm + meas], "openml": float(v)})
    df = pd.DataFrame(res)
    df["absdiff"] = (df.metaopt - df.openml).abs()
    return df


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller frames (5k x 20, 2k x 100, 20k x 100)")
    ap.add_argument("--no-pymfe", action="store_true", help="skip pymfe")
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--missing", type=float, default=0.02, help="fraction of feature cells set missing")
    ap.add_argument("--repeat", type=int, default=1, help="metaopt repetitions (reports the median)")
    ap.add_argument("--landmarker-agreement", action="store_true",
                    help="instead of timing: compare the landmarkers with OpenML's values on the corpus")
    args = ap.parse_args(argv)

    if args.landmarker_agreement:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            df = landmarker_agreement(args.corpus)
        print(f"{df.dataset.nunique()} corpus datasets with OpenML landmarker values")
        tab = df.pivot_table(index="landmarker", columns="measure", values="absdiff", aggfunc=["median", "count"])
        print("median |metaopt - OpenML| (and number of datasets)")
        print(tab.round(3).to_string())
        return 0

    if args.quick:
        specs = [("credit-g", 5_000, 20, True), ("hypothyroid", 2_000, 100, True), ("hypothyroid", 20_000, 100, False)]
    else:
        specs = [("credit-g", 20_000, 20, True), ("hypothyroid", 5_000, 100, True),
                 ("hypothyroid", 100_000, 100, False)]

    # warm-up: imports and first-call overheads are not part of either library's per-frame cost
    Xw, yw = resample_frame(*load_source("credit-g", args.corpus), 300, 20, missing=args.missing, seed=1)
    run_metaopt(Xw, yw)

    rows = []
    group_rows = []
    for name, n, p, with_pymfe in specs:
        X, y = resample_frame(*load_source(name, args.corpus), n, p, missing=args.missing, seed=0)
        times = []
        for _ in range(max(args.repeat, 1)):
            t_mo, timings, n_mo = run_metaopt(X, y)
            times.append(t_mo)
        t_mo = float(np.median(times))
        t_py, n_py = (float("nan"), 0)
        if with_pymfe and not args.no_pymfe:
            t_py, n_py = run_pymfe(X, y)
        frame = f"{name} (resampled)"
        rows.append((frame, f"{n:,} x {p}", t_mo, n_mo, t_py, n_py))
        group_rows.append((frame, f"{n:,} x {p}", timings))
        print(f"done {frame} {n} x {p}: metaopt {t_mo:.2f} s, pymfe {t_py:.2f} s", file=sys.stderr, flush=True)

    print()
    print(f"{'frame':28s} {'rows x cols':>14s} {'metaopt s':>10s} {'values':>7s} {'pymfe s':>9s} {'values':>7s} {'ratio':>8s}")
    for frame, shape, t_mo, n_mo, t_py, n_py in rows:
        ratio = f"{t_py / t_mo:7.1f}x" if np.isfinite(t_py) else "       -"
        py = f"{t_py:9.2f}" if np.isfinite(t_py) else f"{'-':>9s}"
        print(f"{frame:28s} {shape:>14s} {t_mo:10.2f} {n_mo:7d} {py} {n_py if n_py else '-':>7} {ratio}")
    print()
    print("metaopt per-group seconds")
    for frame, shape, timings in group_rows:
        parts = "  ".join(f"{g} {s:.3f}" for g, s in timings.items())
        print(f"  {frame} {shape}: {parts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
