"""Warm-start benchmark: metaopt against cold and static baselines on held-out datasets.

Datasets: ``benchmarks/holdout_datasets.csv`` (corpus datasets kept out of the KB build), read
from ``$METAOPT_SHARED_DATA/corpus`` (default ``../shared/data/corpus`` next to the repository).
Every method sees the same split of each dataset (60/20/20 train/valid/test, stratified for
classification, seed 0): it fits on train (LightGBM's early stopping monitors valid), selects its
best trial on valid and is scored on test (ROC AUC, one-vs-rest macro for multiclass; R^2 for
regression).  Methods, each run once up to the largest budget (the curve at budget b is the
test score of the best-on-valid trial among the first b):

* ``metaopt``          - :class:`metaopt.warmstart.MetaSampler` (warm start + surrogate-guided TPE)
* ``enqueue+tpe``      - :func:`metaopt.warmstart.warm_start` then plain TPE
* ``adaptive+tpe``     - ``tune``'s warm start: picks 1-2 enqueued, picks 3-5 chosen from the validation
  scores so far (:class:`metaopt.warmstart.AdaptiveWarmStart`), then plain TPE
* ``static+tpe``       - the static greedy portfolio of the KB (no meta-features) enqueued, then TPE
* ``tpe``              - cold TPE;  ``random`` - random search
* ``defaults``         - LightGBM's defaults (one fit, 100 rounds)
* ``flaml-zeroshot``   - ``flaml.default.LGBMClassifier/LGBMRegressor`` (skipped when flaml is absent)

Output: per budget the mean normalised test score (per dataset min-max over every method and
budget, 1 = best) and the average rank, the bars of the warm-start issue, and a PNG of the
anytime curves.  Run small first::

    python benchmarks/bench_warmstart.py --datasets 6 --budgets 1,5,10 --jobs 2

The full run (30 datasets x 7 methods x 50 trials) takes hours on 2 cores (the multiclass
pendigits, satimage and waveform-5000 dominate); make it resumable with a cache::

    python benchmarks/bench_warmstart.py --jobs 2 --cache /tmp/bench_warmstart.jsonl --csv results.csv
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
METHODS = ("metaopt", "enqueue+tpe", "adaptive+tpe", "static+tpe", "tpe", "random", "defaults", "flaml-zeroshot")


def shared_data() -> Path:
    env = os.environ.get("METAOPT_SHARED_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data"


def load_split(row: dict, seed: int = 0):
    from sklearn.model_selection import train_test_split

    from metaopt import load_data

    ds = load_data(str(shared_data() / "corpus" / row["file"]), target=row["target"])
    strat = None if ds.kind == "regression" else ds.y
    idx = np.arange(len(ds.y))
    try:
        tr, rest = train_test_split(idx, test_size=0.4, random_state=seed, stratify=strat)
        va, te = train_test_split(rest, test_size=0.5, random_state=seed,
                                  stratify=None if strat is None else ds.y.iloc[rest])
    except ValueError:  # a class too small to stratify
        tr, rest = train_test_split(idx, test_size=0.4, random_state=seed)
        va, te = train_test_split(rest, test_size=0.5, random_state=seed)
    part = lambda ix: (ds.X.iloc[ix], ds.y.iloc[ix])  # noqa: E731
    return ds, part(tr), part(va), part(te)


def score(kind: str, model, X, y) -> float:
    from sklearn.metrics import r2_score, roc_auc_score

    if kind == "regression":
        return float(r2_score(np.asarray(y, dtype=float), model.predict(X)))
    proba = np.asarray(model.predict_proba(X))
    classes = np.asarray(model.classes_)
    yv = np.asarray(y)
    if kind == "binary":
        return float(roc_auc_score(yv == classes[1], proba[:, 1]))
    lut = {c: i for i, c in enumerate(classes.tolist())}
    codes = np.array([lut.get(v, -1) for v in yv.tolist()])
    keep = codes >= 0  # rows of classes the model never saw cannot be scored
    present = np.unique(codes[keep])
    if len(present) < 2:
        return float("nan")
    p = proba[keep][:, present]
    p = p / np.clip(p.sum(axis=1, keepdims=True), 1e-12, None)
    remap = {c: i for i, c in enumerate(present)}
    y_codes = np.array([remap[c] for c in codes[keep]])
    if len(present) == 2:
        return float(roc_auc_score(y_codes, p[:, 1]))
    return float(roc_auc_score(y_codes, p, multi_class="ovr", labels=np.arange(len(present))))


_KB_CACHE: dict = {}


def _norm(name: str) -> str:
    return "".join(ch for ch in str(name).lower() if ch.isalnum())


def kb_without(row: dict):
    """The shipped KB minus every task on the held-out dataset ``row`` (so no method has seen it).

    A KB task is the same dataset when its OpenML data id, its normalised name, or its
    (instances, features incl. target, classes) signature matches the corpus file; the
    signature catches openml-pimp tasks, which are stored under their task id only.
    """
    key = row["name"]
    if key not in _KB_CACHE:
        from metaopt.kb import KnowledgeBase

        kb = KnowledgeBase.load()
        t = kb.tasks
        cat = pd.read_csv(shared_data() / "corpus" / "catalog.csv", dtype=str, keep_default_na=False)
        c = cat.set_index("name").loc[row["name"]]
        same = t["name"].map(_norm) == _norm(row["name"])
        if c["openml_data_id"]:
            same |= t["openml_data_id"].astype("Float64") == float(c["openml_data_id"])
        n_cls = float(c["n_classes"]) if c["n_classes"] else 0.0
        sig = ((t.get("NumberOfInstances") == float(c["n_rows"]))
               & (t.get("NumberOfFeatures") == float(c["n_features"]) + 1)
               & (t.get("NumberOfClasses").fillna(0) == n_cls))
        same |= sig.fillna(False).astype(bool)
        same = same.fillna(False).astype(bool)
        drop = set(t.loc[same, "task_id"])
        keep_ev = ~kb.evaluations["task_id"].isin(drop)
        _KB_CACHE[key] = (KnowledgeBase.from_frames(t.loc[~same], kb.configs, kb.evaluations.loc[keep_ev],
                                                    kb.sources), sorted(drop))
    return _KB_CACHE[key]


def run_method(row: dict, method: str, n_trials: int, seed: int = 0) -> dict:
    import optuna

    from metaopt.learners import get_learner

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore")
    ds, (Xtr, ytr), (Xva, yva), (Xte, yte) = load_split(row, seed)
    kind = ds.kind
    lgbm = get_learner("lightgbm")
    t0 = time.perf_counter()
    out = {"dataset": row["name"], "method": method, "kind": kind}
    if method == "defaults":
        m = lgbm.fit(Xtr, ytr, lgbm.default_params(kind), kind, random_state=seed)
        out.update(valid=[score(kind, m, Xva, yva)], test=[score(kind, m, Xte, yte)])
    elif method == "flaml-zeroshot":
        try:
            import flaml.default as fd
        except Exception as exc:  # noqa: BLE001
            out.update(skipped=f"flaml unavailable: {exc}")
            return out
        pre = lgbm.preprocess()
        Ztr = pre.fit_transform(Xtr)
        cls = fd.LGBMRegressor if kind == "regression" else fd.LGBMClassifier
        est = cls(n_jobs=1, verbose=-1, random_state=seed)
        ytr_fit = ytr.astype(float) if kind == "regression" else ytr.astype(str)
        est.fit(Ztr, ytr_fit)

        class _M:
            classes_ = getattr(est, "classes_", None)
            predict = staticmethod(lambda X: est.predict(pre.transform(X)))
            predict_proba = staticmethod(lambda X: est.predict_proba(pre.transform(X)))

        yv, yt = (yva, yte) if kind == "regression" else (yva.astype(str), yte.astype(str))
        out.update(valid=[score(kind, _M, Xva, yv)], test=[score(kind, _M, Xte, yt)])
    else:
        space = lgbm.search_space(kind)

        def objective(trial):
            from optuna.distributions import CategoricalDistribution, IntDistribution

            params = {}
            for n, d in space.items():
                if isinstance(d, CategoricalDistribution):
                    params[n] = trial.suggest_categorical(n, d.choices)
                elif isinstance(d, IntDistribution):
                    params[n] = trial.suggest_int(n, d.low, d.high, log=d.log)
                else:
                    params[n] = trial.suggest_float(n, d.low, d.high, log=d.log)
            m = lgbm.fit(Xtr, ytr, params, kind, Xva, yva, random_state=seed)
            trial.set_user_attr("test", score(kind, m, Xte, yte))
            v = score(kind, m, Xva, yva)
            return v if np.isfinite(v) else -1e9

        from metaopt.warmstart import MetaSampler, warm_start

        kb, dropped = kb_without(row)
        out["kb_tasks_removed"] = dropped
        if method == "metaopt":
            sampler = MetaSampler(Xtr, ytr, kind=kind, k=5, seed=seed, kb=kb)
        elif method == "random":
            sampler = optuna.samplers.RandomSampler(seed=seed)
        else:
            sampler = optuna.samplers.TPESampler(seed=seed)
        study = optuna.create_study(direction="maximize", sampler=sampler)
        callbacks = []
        if method == "enqueue+tpe":
            warm_start(study, Xtr, ytr, kind=kind, k=5, kb=kb, search_space=space)
        elif method == "adaptive+tpe":  # tune's warm start: picks 3-5 read the validation scores so far
            callbacks = [adaptive_warm_start(study, Xtr, ytr, kind, kb, space)]
        elif method == "static+tpe":
            warm_start(study, recommendations=static_portfolio(kind, 5, kb, row["name"]), kind=kind,
                       search_space=space)
        study.optimize(objective, n_trials=n_trials, callbacks=callbacks)
        trials = study.trials
        out.update(valid=[t.value for t in trials], test=[t.user_attrs.get("test", np.nan) for t in trials])
    out["seconds"] = time.perf_counter() - t0
    return out


def adaptive_warm_start(study, Xtr, ytr, kind: str, kb, space: dict):
    """Picks 1-2 of ``recommend`` enqueued, picks 3-5 chosen from the scores so far, as ``tune`` does."""
    from metaopt.recommender import get_recommender
    from metaopt.warmstart import AdaptiveWarmStart, get_recommendations, warm_start

    recs = get_recommendations(Xtr, ytr, learner="lightgbm", k=5, kb=kb)  # what enqueue+tpe enqueues
    warm_start(study, recommendations=recs[:2], kind=kind, search_space=space, planned=5)
    rec = get_recommender(kb, "lightgbm")  # the one recommend just fitted (cached)
    n_classes = 0 if kind == "regression" else int(pd.Series(ytr).nunique())

    def pick(tried):
        return rec.next_recommendation(kind, "lightgbm", tried, len(Xtr), Xtr.shape[1], n_classes, features=Xtr)

    return AdaptiveWarmStart(pick, learner="lightgbm", search_space=space, kind=kind)


_STATIC: dict = {}


def static_portfolio(kind: str, k: int, kb, dataset: str) -> list[dict]:
    """The static greedy portfolio for ``kind`` (no meta-features) of ``kb`` (the KB without ``dataset``)."""
    if (dataset, kind) not in _STATIC:
        from metaopt.metamodel._base import Query
        from metaopt.metamodel._normalise import build_score_matrix
        from metaopt.metamodel._portfolio import StaticPortfolio

        model = StaticPortfolio(per_kind=True).fit(build_score_matrix(kb, "lightgbm"))
        cfg = model.sm_.configs
        _STATIC[(dataset, kind)] = [{"config_id": cfg.at[c, "config_id"], "params": cfg.at[c, "params"]}
                                    for c in model.rank(Query(kind, {}), k)]
    return _STATIC[(dataset, kind)][:k]


def anytime(valid: list, test: list, budget: int) -> float:
    v = np.asarray(valid[:budget], dtype=float)
    if len(v) == 0 or not np.isfinite(v).any():
        return np.nan
    return float(np.asarray(test, dtype=float)[int(np.nanargmax(v))])


def summarise(results: list[dict], budgets: list[int], png: Path | None) -> pd.DataFrame:
    rows = []
    for r in results:
        if "skipped" in r:
            continue
        for b in budgets:
            rows.append({"dataset": r["dataset"], "method": r["method"], "budget": b,
                         "test": anytime(r["valid"], r["test"], b)})
    df = pd.DataFrame(rows)
    lo = df.groupby("dataset")["test"].transform("min")
    hi = df.groupby("dataset")["test"].transform("max")
    df["norm"] = ((df["test"] - lo) / (hi - lo).replace(0, np.nan)).fillna(1.0)
    df["rank"] = df.groupby(["dataset", "budget"])["test"].rank(ascending=False, method="average")
    mean = df.pivot_table(index="budget", columns="method", values="norm", aggfunc="mean")
    rank = df.pivot_table(index="budget", columns="method", values="rank", aggfunc="mean")
    order = [m for m in METHODS if m in mean.columns]
    print("\nmean normalised test score (1 = best of all methods/budgets on the dataset)")
    print(mean[order].round(3).to_string())
    print("\naverage rank per budget (1 = best)")
    print(rank[order].round(2).to_string())
    if png is not None:
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt

            fig, ax = plt.subplots(figsize=(7, 4.5))
            for m in order:
                ax.plot(mean.index, mean[m], marker="o", label=m)
            ax.set_xscale("log")
            ax.set_xlabel("trials")
            ax.set_ylabel("mean normalised test score")
            ax.set_title(f"anytime performance on {df['dataset'].nunique()} held-out datasets")
            ax.legend(fontsize=8)
            fig.tight_layout()
            fig.savefig(png, dpi=120)
            print(f"\nwrote {png}")
        except ImportError:
            print("\nmatplotlib not installed: no PNG")
    return df


def bars(df: pd.DataFrame, budgets: list[int]) -> None:
    mean = df.pivot_table(index="budget", columns="method", values="norm", aggfunc="mean")
    piv = df.pivot_table(index=["dataset", "budget"], columns="method", values="test")
    print("\nbars")
    if "metaopt" in mean and "tpe" in mean and 5 in mean.index:
        b_max = max(budgets)
        print(f"  metaopt@5 ({mean.at[5, 'metaopt']:.3f}) >= tpe@{b_max} ({mean.at[b_max, 'tpe']:.3f}): "
              f"{mean.at[5, 'metaopt'] >= mean.at[b_max, 'tpe']}" + ("" if b_max >= 50 else " (needs budget 50)"))
    if "adaptive+tpe" in mean:  # tune's warm start (later picks read the scores) against all five enqueued
        for base in ("enqueue+tpe", "static+tpe"):
            if base not in mean:
                continue
            for b in budgets:
                sub = piv.xs(b, level="budget")[["adaptive+tpe", base]].dropna()
                d = sub["adaptive+tpe"] - sub[base]
                print(f"  budget {b:>3}: adaptive+tpe {mean.at[b, 'adaptive+tpe']:.3f} vs {base} "
                      f"{mean.at[b, base]:.3f}: better on {(d > 0).sum()}, tied {(d == 0).sum()}, worse "
                      f"{(d < 0).sum()} of {len(d)} datasets")
    if "static+tpe" in mean and "metaopt" in mean:
        ok = all(mean.at[b, "metaopt"] > mean.at[b, "static+tpe"] for b in budgets)
        print(f"  metaopt > static+tpe at every budget: {ok}")
        for b in budgets:
            sub = piv.xs(b, level="budget")[["metaopt", "static+tpe"]].dropna()
            d = sub["metaopt"] - sub["static+tpe"]
            print(f"    budget {b:>3}: metaopt better on {(d > 0).sum()}, tied {(d == 0).sum()}, "
                  f"worse {(d < 0).sum()} of {len(d)} datasets")
    first = piv.xs(budgets[0], level="budget") if budgets[0] == 1 else None
    if first is not None and "metaopt" in first:
        for base, need in (("defaults", 0.75), ("flaml-zeroshot", 0.65)):
            if base in first:
                sub = first[["metaopt", base]].dropna()
                share = float((sub["metaopt"] > sub[base]).mean()) if len(sub) else float("nan")
                ties = int((sub["metaopt"] == sub[base]).sum())
                print(f"  metaopt's first trial beats {base} on {share:.0%} of {len(sub)} datasets "
                      f"(bar {need:.0%}; {ties} tied): {share >= need}")


def _read_cache(path: str | None, seed: int, n_trials: int) -> dict:
    """Finished (dataset, method) results of earlier runs with the same seed and trial budget."""
    out: dict = {}
    if not path or not Path(path).exists():
        return out
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            try:
                r = json.loads(line)
            except json.JSONDecodeError:  # a line cut short by an interrupted run
                continue
            if r.pop("seed", None) == seed and r.pop("n_trials", None) == n_trials:
                out[(r["dataset"], r["method"])] = r
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", type=int, default=None, help="use the first N hold-out datasets "
                    "(spread over the kinds)")
    ap.add_argument("--budgets", default="1,5,10,25,50")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--png", default=str(REPO / "benchmarks" / "bench_warmstart.png"))
    ap.add_argument("--csv", default=None, help="write the per-dataset results here")
    ap.add_argument("--report-only", action="store_true",
                    help="run nothing: report the datasets of --cache that every method has finished")
    ap.add_argument("--cache", default=None, metavar="JSONL",
                    help="append each finished (dataset, method) run here and skip those already there: "
                         "an interrupted run continues where it stopped (delete the file after changing "
                         "the code or the KB)")
    args = ap.parse_args(argv)

    budgets = sorted({int(b) for b in args.budgets.split(",")})
    methods = [m for m in args.methods.split(",") if m]
    with open(REPO / "benchmarks" / "holdout_datasets.csv") as fh:
        rows = list(csv.DictReader(fh))
    if args.datasets is not None:  # round-robin over the kinds so a small run still covers all three
        by_kind: dict[str, list[dict]] = {}
        for r in rows:
            by_kind.setdefault(r["task"], []).append(r)
        picked = []
        while len(picked) < min(args.datasets, len(rows)):
            for k in list(by_kind):
                if by_kind[k] and len(picked) < args.datasets:
                    picked.append(by_kind[k].pop(0))
        rows = picked
    from joblib import Parallel, delayed

    t0 = time.time()
    # smallest datasets first, so that an interrupted run has finished as many datasets as it can
    rows = sorted(rows, key=lambda r: int(r["n_rows"]) * int(r["n_features"]))
    n_trials = max(budgets)
    done = _read_cache(args.cache, args.seed, n_trials)
    jobs = [] if args.report_only else [(r, m) for r in rows for m in methods if (r["name"], m) not in done]
    print(f"{len(done)} (dataset, method) results from {args.cache}; {len(jobs)} to run", file=sys.stderr)
    results = [done[(r["name"], m)] for r in rows for m in methods if (r["name"], m) in done]
    for res in Parallel(n_jobs=args.jobs, verbose=0, return_as="generator_unordered")(
            delayed(run_method)(r, m, n_trials, args.seed) for r, m in jobs):
        results.append(res)
        if args.cache:
            with open(args.cache, "a", encoding="utf-8") as fh:
                fh.write(json.dumps({"seed": args.seed, "n_trials": n_trials, **res}, default=float) + "\n")
        print(f"  {res['dataset']:<32} {res['method']:<15} {res.get('seconds', 0):7.1f} s", file=sys.stderr,
              flush=True)
    if args.report_only:  # only datasets every method has finished on
        complete = {r["name"] for r in rows if all((r["name"], m) in done for m in methods)}
        results = [r for r in results if r["dataset"] in complete]
        rows = [r for r in rows if r["name"] in complete]
        print(f"report on the {len(rows)} datasets every method finished: "
              + ", ".join(r["name"] for r in rows), file=sys.stderr)
    for r in results:
        if "skipped" in r:
            print(f"note: {r['method']} skipped on {r['dataset']}: {r['skipped']}", file=sys.stderr)
    print(f"{len(rows)} datasets x {len(methods)} methods, budgets {budgets}: {time.time() - t0:.0f} s")
    df = summarise(results, budgets, Path(args.png) if args.png else None)
    bars(df, budgets)
    if args.csv:
        df.to_csv(args.csv, index=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
