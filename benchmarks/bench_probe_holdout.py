"""Probes on data the KB never saw, by real test scores: which configurations should ``recommend(probe=N)`` probe?

``report_probe_first_pick.py`` reads regret off the KB's own scores.  This benchmark checks the same choice
end to end on the 30 hold-out datasets (``holdout_datasets.csv``, files in the shared corpus), with
``bench_warmstart.py``'s split (60/20/20, seed 0) and scores (ROC AUC, one-vs-rest macro for multiclass;
R^2): the meta-features and probes see the training rows only, every returned configuration is fitted on them
(LightGBM with early stopping on the validation rows) and scored on the test rows.  ``--learner auto`` ranks
every learner's configurations jointly, as ``recommend()`` does by default.  Four lists of ``-k``:

* ``ranking``: metaopt's ranking, unprobed (``recommend(k=K)``);
* ``static portfolio``: the KB's static portfolio, unprobed;
* ``ranking probed``: metaopt's first N probed, the K best-probed (``recommend(probe=N)`` before 2026-12-06);
* ``portfolio probed``: the static portfolio's first N probed, the K best-probed (``recommend(probe=N)`` now).

Per list: the first configuration's test score (k=1) and the test score of the best-on-validation of the K
(k=K); per dataset min-max normalised over the four lists, their means, and wins / ties / losses of
``portfolio probed`` against each other list.  Resumable (``--cache``, one JSON line per dataset).

    python benchmarks/bench_probe_holdout.py --cache .scratch/probe_holdout.jsonl --jobs 2
    python benchmarks/bench_probe_holdout.py --learner auto --cache .scratch/probe_holdout_auto.jsonl --jobs 2
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
LISTS = ("ranking", "static portfolio", "ranking probed", "portfolio probed")


@functools.cache
def _load_warmstart():
    """``bench_warmstart.py``'s split, scorer and KB-without-the-dataset (loaded by path: scripts here are not a
    package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_warmstart", HERE / "bench_warmstart.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def run_dataset(row: dict, k: int, n: int, jobs: int, learner: str = "lightgbm") -> dict:
    """The four lists of one dataset, each configuration fitted on the training rows and scored."""
    import metaopt
    from metaopt.features import extract_meta_features
    from metaopt.learners import get_learner
    from metaopt.recommender import QUERY_GROUPS, get_recommender, probe_order, probe_scores

    warnings.simplefilter("ignore")
    ws = _load_warmstart()
    ds, (Xtr, ytr), (Xva, yva), (Xte, yte) = ws.load_split(row)
    train = metaopt.load_data(Xtr, y=ytr)
    kb, _ = ws.kb_without(row)
    rec = get_recommender(kb, learner)
    meta = dict(extract_meta_features(train, groups=QUERY_GROUPS).values)
    n_classes = int(train.y.nunique()) if train.kind != "regression" else 0
    shape = (train.kind, meta, train.n_rows, train.n_features, n_classes, max(k, n))
    ranked = rec.recommend(*shape, features=train.X)
    portfolio = rec.recommend(*shape, features=train.X, portfolio_first=max(k, n))
    probed = {r.config_id: r for r in ranked[:n] + portfolio[:n]}
    scores = dict(zip(probed, probe_scores(train, [(r.learner, r.params) for r in probed.values()], n_jobs=jobs)))

    def by_probe(recs):
        ids = [r.config_id for r in recs[:n]]
        return [ids[i] for i in probe_order([scores[c] for c in ids], train.kind)][:k]

    lists = {"ranking": [r.config_id for r in ranked[:k]], "static portfolio": [r.config_id for r in portfolio[:k]],
             "ranking probed": by_probe(ranked), "portfolio probed": by_probe(portfolio)}
    recs = {r.config_id: r for r in ranked + portfolio}
    fitted = {}
    for cid in dict.fromkeys(c for ids in lists.values() for c in ids):
        try:
            model = get_learner(recs[cid].learner).fit(Xtr, ytr, recs[cid].params, ds.kind, Xva, yva, random_state=0)
            fitted[cid] = (ws.score(ds.kind, model, Xva, yva), ws.score(ds.kind, model, Xte, yte))
        except Exception:  # noqa: BLE001 - a failed fit scores nothing; the list's others still count
            fitted[cid] = (math.nan, math.nan)
    return {"dataset": row["name"], "kind": ds.kind, "rows": int(ds.n_rows), "learner": learner, "lists": lists,
            "learners": {c: recs[c].learner for c in fitted},
            "probed_sets": {"ranking": [r.config_id for r in ranked[:n]],
                            "portfolio": [r.config_id for r in portfolio[:n]]},
            "valid": {c: v for c, (v, _) in fitted.items()}, "test": {c: t for c, (_, t) in fitted.items()},
            "probe": {c: scores[c] for c in scores}}


def _scores(res: dict, k: int) -> dict[str, tuple[float, float]]:
    """Per list: (first configuration's test score, test score of the best-on-validation of the first ``k``)."""
    out = {}
    for name, ids in res["lists"].items():
        valid = [res["valid"][c] for c in ids[:k]]
        best = int(np.nanargmax(valid)) if np.isfinite(valid).any() else 0
        out[name] = (res["test"][ids[0]], res["test"][ids[:k][best]])
    return out


def summarise(results: list[dict], k: int, seed: int = 0) -> None:
    """Mean normalised test score per list at k=1 and k=K, and the shipped list against each other."""
    for j, label in enumerate(("k=1 (the first configuration)", f"k={k} (best on validation of the first {k})")):
        raw = pd.DataFrame({r["dataset"]: {name: s[j] for name, s in _scores(r, k).items()} for r in results}).T
        raw = raw[list(LISTS)].dropna()
        lo, hi = raw.min(axis=1), raw.max(axis=1)
        norm = raw.sub(lo, axis=0).div((hi - lo).where(hi > lo), axis=0).fillna(1.0)
        print(f"\n## {label}, {len(raw)} datasets\n")
        print("| list | mean normalised test score | mean test score | portfolio probed: wins / ties / losses |")
        print("|---|---|---|---|")
        for name in LISTS:
            d = raw["portfolio probed"] - raw[name]
            wtl = "" if name == "portfolio probed" else \
                f"{(d > 1e-4).sum()} / {(d.abs() <= 1e-4).sum()} / {(d < -1e-4).sum()}"
            print(f"| {name} | {norm[name].mean():.3f} | {raw[name].mean():.4f} | {wtl} |")
        rng = np.random.default_rng(seed)
        draws = rng.integers(0, len(raw), size=(5000, len(raw)))
        for other in ("ranking probed", "ranking"):
            diff = (raw["portfolio probed"] - raw[other]).to_numpy()
            lo_, hi_ = np.percentile(diff[draws].mean(axis=1), [5, 95])
            print(f"\nportfolio probed - {other}: mean test score {diff.mean():+.4f} (90% paired bootstrap "
                  f"{lo_:+.4f} .. {hi_:+.4f})")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-k", "--k", type=int, default=5, help="configurations returned (default 5)")
    ap.add_argument("--probe", type=int, default=10, help="configurations probed (default 10)")
    ap.add_argument("--jobs", type=int, default=2, help="probes at once, in threads (default 2)")
    ap.add_argument("--limit", type=int, help="the first N hold-out datasets only")
    ap.add_argument("--learner", default="lightgbm",
                    help="the learner whose pool is ranked, or auto: every learner's, jointly (default lightgbm)")
    ap.add_argument("--cache", help="results, one JSON line per dataset (read and extended)")
    ap.add_argument("--report-only", action="store_true", help="summarise the cache only")
    args = ap.parse_args(argv)
    ws = _load_warmstart()
    listed = pd.read_csv(HERE / "holdout_datasets.csv").head(args.limit)
    cache = Path(args.cache) if args.cache else None
    results = [json.loads(line) for line in cache.read_text().splitlines()] if cache and cache.is_file() else []
    done = {r["dataset"] for r in results}
    for row in listed.to_dict("records"):
        if args.report_only or row["name"] in done or not (ws.shared_data() / "corpus" / row["file"]).is_file():
            continue
        res = run_dataset(row, args.k, args.probe, args.jobs, args.learner)
        results.append(res)
        if cache:
            with cache.open("a") as fh:
                fh.write(json.dumps(res) + "\n")
        print(f"  {row['name']}: {len(results)} done", file=sys.stderr, flush=True)
    if not results:
        print("no hold-out dataset found", file=sys.stderr)
        return 1
    summarise(results, args.k)
    return 0


if __name__ == "__main__":
    sys.exit(main())
